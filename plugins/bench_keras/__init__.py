"""The Keras 3 backend of bench: the standard cells as Keras layers, on any Keras backend
that bench supports (TensorFlow, PyTorch).

Only :mod:`bench_keras.plugin` (and :mod:`bench_keras.installation`) is imported when bench
loads plugins; neither imports Keras or its backend framework. Every other module here
does, and is imported on first use.
"""
