from harness.compare.environment import check_environment

from .records import make_record


def test_same_machine_and_software():
    check = check_environment([make_record()], [make_record(git_commit="fedcba9876543")])
    assert check.same
    assert check.commits == (["0123456789"], ["fedcba9876"])


def test_machine_and_framework_differences_are_named():
    check = check_environment([make_record()],
                              [make_record(machine_id="ci-2", framework_version="2.14.0")])
    assert not check.same
    assert [(d.name, d.baseline, d.current) for d in check.machine] == [
        ("machine_id", ["ci-1"], ["ci-2"])]
    assert [(d.name, d.baseline, d.current) for d in check.software] == [
        ("PyTorch", ["2.13.0"], ["2.14.0"])]


def test_a_framework_on_one_side_only_is_no_difference():
    keras = make_record(framework="Keras", framework_version="3.15")
    assert check_environment([make_record(), keras], [make_record()]).same


def test_independent_threads_are_compared_and_a_record_without_them_ran_on_threads():
    """Records older than the key (and backends without independent work) ran that work on
    ``threads`` threads."""
    older = make_record(threads=1)
    assert check_environment([older], [make_record(threads=1, independent_threads=1)]).same
    check = check_environment([older], [make_record(threads=1, independent_threads=2)])
    assert [(d.name, d.baseline, d.current) for d in check.threads] == [
        ("independent_threads", ["1"], ["2"])]
