"""neurosim: a spiking neural network simulator on Numba CPU and CUDA kernels."""

__version__ = "0.1.0"

from neurosim.backends import BackendUnavailableError, get_backend  # noqa: E402
from neurosim.neurons import *  # noqa: E402,F401,F403
from neurosim.neurons import __all__ as _neuron_names  # noqa: E402

__all__ = ["__version__", "BackendUnavailableError", "get_backend", *_neuron_names]
