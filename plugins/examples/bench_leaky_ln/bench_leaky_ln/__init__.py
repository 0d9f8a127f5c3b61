"""A leaky layer-normalised RNN for bench's Keras backend (``keras:leakyln``).

Only :mod:`bench_leaky_ln.plugin` is imported when bench loads plugins, and it does not
import Keras; :mod:`bench_leaky_ln.cell` does, on first use.
"""
