"""Cells designed for long memory (docs/cells.md): IndRNN, expRNN, minGRU, minLSTM and the
LRU, for bench's PyTorch backend (and its Keras backend where noted there).

Only :mod:`bench_longmem.plugin` is imported when bench loads plugins, and it imports no
framework; the cell modules do, on first use.
"""
