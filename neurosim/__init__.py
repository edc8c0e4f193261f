"""neurosim: a spiking neural network simulator on Numba CPU and CUDA kernels.

``import neurosim as ns`` gives the neuron models (``ns.LIFParams``, ``ns.lif_run``,
``ns.Perceptron``...) directly, and every subpackage as an attribute, imported on first use so
that ``import neurosim`` stays fast (PyTorch is only loaded when the conversion bridge is used)::

    net = ns.network.Network(dt_s=1e-4)              # networks
    snn = ns.convert(model, calibration_images)      # ANN -> SNN (``ns.convert`` is callable)
    ns.convert.ConversionOptions                     # and still the package with its options
    data = ns.datasets.load("digits")
"""

__version__ = "0.1.0"

import importlib as _importlib  # noqa: E402

from neurosim.backends import BackendUnavailableError, get_backend  # noqa: E402
from neurosim.neurons import *  # noqa: E402,F401,F403
from neurosim.neurons import __all__ as _neuron_names  # noqa: E402

#: Subpackages and modules reachable as ``ns.<name>`` without an explicit import.
SUBPACKAGES = ("backends", "checks", "cli", "config", "convert", "datasets", "interop",
               "kernels", "network", "neurons", "plot", "studies", "zoo")

__all__ = ["__version__", "BackendUnavailableError", "get_backend", *_neuron_names,
           *SUBPACKAGES]


def __getattr__(name: str):
    if name in SUBPACKAGES:
        return _importlib.import_module(f"neurosim.{name}")
    raise AttributeError(f"module 'neurosim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(SUBPACKAGES))
