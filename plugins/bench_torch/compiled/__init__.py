"""bench's compiled recurrences for the standard cells: kernel path ``bench-compiled`` (CPU).

The same algorithm as :mod:`bench_torch.kernels` (the input projection of every step in one
product, the recurrence a step at a time, a hand-written backward pass that runs it in
reverse, the weights' gradients as whole-sequence products afterwards), but each direction's
whole time loop is one numba-compiled function: a step is one BLAS call for the recurrent
product and one fused, vectorised pass over the gates, with no Python in between. On this
CPU that pass costs about as much as one of torch's unfused elementwise operations, and a
step of torch operations had a dozen of them (README, "Kernel paths").

numba installs from the package registries with its own LLVM, so nothing needs a compiler
on the user's machine; the compiled code is cached on disk after the first run. The layers:

* :mod:`.vectors`: numba told to use the CPU's widest vectors;
* :mod:`.blas`: the matrix product, calling the BLAS torch itself uses (MKL in the x86
  wheels), else SciPy's;
* :mod:`.activations`: tanh and the sigmoid as vectorisable float32 functions;
* :mod:`.loops`: each cell's forward and backward time loops on time-major numpy arrays;
* :mod:`.functions`: the :class:`torch.autograd.Function` around each, on the cells'
  batch-major tensors and torch-layout weights.
"""

BENCH_COMPILED = "bench-compiled"
