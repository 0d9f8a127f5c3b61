"""The executors bench ships: ``local``, ``process`` and ``dask``.

What an executor is (the protocol, its options, what a plugin registers) is in
:mod:`harness.execution`; they are registered in :mod:`harness.builtin_executors`.
"""
