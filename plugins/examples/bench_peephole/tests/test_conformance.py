from bench_peephole.reference import REFERENCES

from harness.conformance import conformance_tests

test_conformance = conformance_tests("torch:peephole", references=REFERENCES)
