"""A peephole LSTM for bench's PyTorch backend (``torch:peephole``).

Only :mod:`bench_peephole.plugin` is imported when bench loads plugins, and it does not
import torch; :mod:`bench_peephole.cell` does, on first use.
"""
