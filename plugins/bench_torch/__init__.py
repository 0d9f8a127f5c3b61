"""The PyTorch backend of bench: the standard cells on torch's fused kernels or step loops.

Only :mod:`bench_torch.plugin` is imported when bench loads plugins; it does not import
torch. Every other module here does, and is imported on first use.
"""
