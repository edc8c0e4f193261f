"""Compiled kernels, one module per backend (:mod:`.cpu`, :mod:`.cuda`), plus the per-element
rules both compile (:mod:`.scalar`). Import a backend through :func:`neurosim.backends.get_backend`.
"""
