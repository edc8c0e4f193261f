"""NIR, the Neuromorphic Intermediate Representation: neurosim networks out, NIR graphs in.

NIR (the ``nir`` package) is how spiking models move between snnTorch, Norse, Sinabs,
SpikingJelly, Lava-DL, Spyx and neuromorphic hardware toolchains. ``pip install
'neurosim[nir]'``.

- :func:`to_nir` / :func:`write`: a converted network (:func:`neurosim.convert.convert`) or a
  :class:`~neurosim.network.Network` of dense-enough projections as a ``nir.NIRGraph`` / file.
- :func:`load`: a NIR graph or file as a neurosim spiking classifier (:class:`NirNetwork`, the
  converter's :class:`~neurosim.convert.snn.SpikingNetwork` with the graph's neurons) that runs
  on neurosim's CPU/CUDA kernels.

What NIR cannot say is an error that names the node and what to use instead: reset by
subtraction (convert with ``reset="value"``), max-pooling (average pooling), a starting
potential (``v_init=0``), refractory periods, delays, sparse connectivity beyond
``max_weights`` dense weights.

Time: NIR's neurons are continuous-time ODEs; every library steps them with its own ``dt``.
neurosim writes and reads them as forward-Euler steps of ``dt_s`` (default 1e-4 s, the ``dt``
snnTorch uses for its NIR export and import; the value is stored in the graph's metadata as
``neurosim_dt_s``), which is also how snnTorch and Norse step them. Under that convention a
neurosim layer and its NIR node make the same spikes (see the modules
:mod:`~neurosim.convert.nir_export`, :mod:`~neurosim.interop.nir_import`,
:mod:`~neurosim.interop.nir_network` for each mapping).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from neurosim.convert.model import ConvertedNetwork
from neurosim.convert.nir_export import NirExportError, converted_to_nir, nir_module
from neurosim.interop.nir_import import NirImportError, NirNetwork, nir_to_network, read_graph
from neurosim.interop.nir_network import DEFAULT_MAX_WEIGHTS, network_to_nir
from neurosim.network.network import Network

__all__ = ["NirExportError", "NirImportError", "NirNetwork", "load", "read", "to_nir", "write"]


def _check_dt(dt_s: Any) -> float:
    if isinstance(dt_s, bool) or not isinstance(dt_s, (int, float)) or not (
            math.isfinite(dt_s) and dt_s > 0):
        raise ValueError(f"dt_s must be a number > 0, got {dt_s!r}")
    return float(dt_s)


def to_nir(network: Any, *, dt_s: float | None = None, scales: str = "fold",
           if_as_lif: bool = False, max_weights: int = DEFAULT_MAX_WEIGHTS) -> Any:
    """``network`` as a ``nir.NIRGraph``.

    Parameters
    ----------
    network : SpikingNetwork or Network
        A converted classifier (convert it with ``reset="value"`` and ``v_init=0``, and
        average pooling instead of max-pooling: NIR has no word for the others), or a network
        of populations and projections.
    dt_s : float, optional
        The step the NIR neurons' time constants are written for (forward Euler). Converted
        networks: default 1e-4 s (snnTorch's); a ``Network``: its own ``dt_s``, always.
    scales : {"fold", "nodes"}
        Converted networks only: ``"fold"`` multiplies each layer's thresholds into the
        weights around it (neurons fire at 1: what snnTorch can import); ``"nodes"`` keeps them
        as ``v_threshold`` and ``Scale`` nodes (reading it back gives bit-identical spikes).
    if_as_lif : bool
        Converted networks only: write IF layers as ``LIF`` nodes whose leak is exactly none in
        floating point (``tau = 1e30 dt``, ``r = 1e30``), for readers whose ``IF`` import
        differs (snnTorch 1.0 reads ``IF`` as a Leaky neuron with ``beta = 0.9``).
    max_weights : int
        ``Network`` only: the largest dense weight matrix (pre x post) a projection may become.

    The graph of a converted network takes what neurosim's encoder feeds it at each step: the
    image itself with constant-current encoding (the default), Bernoulli spikes of amplitude
    ``input_scale`` with ``encoding="poisson"`` (the encoder is not part of the graph). Its
    output is the last layer's current at each step (summed over the steps: neurosim's
    membrane decoding), or the output neurons' spikes with ``decoding="count"``.

    Raises
    ------
    NirExportError
        Something NIR cannot express; the message names the node and the option to use.
    TypeError, ValueError
        Bad arguments.
    """
    if scales not in ("fold", "nodes"):
        raise ValueError(f"scales must be 'fold' or 'nodes', got {scales!r}")
    if not isinstance(if_as_lif, bool):
        raise TypeError(f"if_as_lif must be True or False, got {if_as_lif!r}")
    if isinstance(network, ConvertedNetwork):
        return converted_to_nir(network, dt_s=_check_dt(1e-4 if dt_s is None else dt_s),
                                scales=scales, if_as_lif=if_as_lif)
    if isinstance(network, Network):
        if dt_s is not None and _check_dt(dt_s) != network.dt_s:
            raise ValueError(f"dt_s={dt_s!r}: a Network is exported for its own time step "
                             f"dt_s={network.dt_s!r}")
        if isinstance(max_weights, bool) or not isinstance(max_weights, int) or max_weights < 1:
            raise ValueError(f"max_weights must be a whole number >= 1, got {max_weights!r}")
        return network_to_nir(network, max_weights=max_weights)
    raise TypeError(f"network must be a converted SpikingNetwork or a Network, got "
                    f"{type(network).__name__}")


def write(path: str | Path, network: Any, **options: Any) -> Path:
    """Write ``network`` (or a ``nir.NIRGraph``) to the NIR file ``path`` (HDF5, as
    ``nir.write``); ``options`` go to :func:`to_nir`. Returns the path."""
    nir = nir_module()
    graph = network if isinstance(network, nir.NIRGraph) else to_nir(network, **options)
    path = Path(path)
    if path.parent and not path.parent.is_dir():
        raise FileNotFoundError(f"no folder {str(path.parent)!r} to write {path.name!r} into")
    nir.write(path, graph)
    return path


def read(path: str | Path) -> Any:
    """The ``nir.NIRGraph`` in the file ``path``."""
    if not isinstance(path, (str, Path)):
        raise TypeError(f"path must be a str or Path, got {type(path).__name__}")
    return read_graph(path)


def load(source: Any, *, dt_s: float | None = None, backend: str = "cpu",
         input_shape: tuple | None = None) -> NirNetwork:
    """A NIR graph (or file) as a neurosim spiking classifier.

    Parameters
    ----------
    source : nir.NIRGraph, str or Path
    dt_s : float, optional
        The Euler step the graph's neurons are read with; default: the ``neurosim_dt_s`` the
        graph carries, else 1e-4 s (snnTorch's NIR ``dt``).
    backend : {"cpu", "cuda", "auto"}
    input_shape : tuple, optional
        The shape of one input sample, when the graph's ``Input`` node does not give it.

    Returns
    -------
    NirNetwork
        ``simulate(x, T)``, ``predict``, ``evaluate`` as for a converted network: the input is
        presented at every step and ``result["membrane"]`` sums the output over the steps
        (the output spike counts when the graph ends in neurons).

    Raises
    ------
    NirImportError
        A node neurosim cannot run (the message names it and why).
    FileNotFoundError, TypeError, ValueError
        Bad arguments.
    """
    if dt_s is not None:
        dt_s = _check_dt(dt_s)
    if input_shape is not None:
        if not isinstance(input_shape, (tuple, list)) or not input_shape or any(
                isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in input_shape):
            raise ValueError(f"input_shape must be a tuple of whole numbers >= 1, got "
                             f"{input_shape!r}")
        input_shape = tuple(input_shape)
    return nir_to_network(source, dt_s=dt_s, backend=backend, input_shape=input_shape)
