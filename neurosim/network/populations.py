r"""Populations of (L)IF neurons with current-based synapses, and spike and current inputs.

A :class:`Population` extends the neuron of :mod:`neurosim.neurons.lif` with two exponentially
decaying synaptic currents (the CUBA model, in units of voltage like Brian2's examples):

.. math::

    \tau_m \frac{dv}{dt} = -(v - v_\mathrm{rest}) + R_m I + g_e + g_i, \qquad
    \tau_e \frac{dg_e}{dt} = -g_e, \qquad \tau_i \frac{dg_i}{dt} = -g_i

integrated exactly over a step (all three are linear). A presynaptic spike adds its weight to
:math:`g_e` (``target="exc"``), :math:`g_i` (``"inh"``) or directly to :math:`v` (``"v"``, the
instantaneous jump). The currents keep decaying while a neuron is refractory; :math:`v` does not
move then except by jumps, as in Brian2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurosim.checks import check_array, check_choice, check_scalar
from neurosim.network.memory import check_fits
from neurosim.neurons.lif import LIFParams

_MIX_STEP = np.uint64(0x9E3779B97F4A7C15)
_MIX_INDEX = np.uint64(0xC2B2AE3D27D4EB4F)


#: Bytes per neuron or source that a network holds whatever its synapses (state, inputs,
#: ring-buffer slots, flags), for refusing absurd sizes before anything is allocated.
BYTES_PER_UNIT = 64


def _count(name: str, n: Any) -> int:
    n = check_scalar(name, n, positive=True, integer=True)
    check_fits(n * BYTES_PER_UNIT, f"a group of {n:,} neurons or sources")
    return n


@dataclass(eq=False)
class Population:
    """``n`` (L)IF neurons sharing ``params``, with optional exponential synaptic currents.

    Parameters
    ----------
    n : int
    params : LIFParams
    tau_exc_s, tau_inh_s : float, optional
        Time constants of the excitatory and inhibitory synaptic currents; ``None`` when the
        population receives no such synapses.
    v0 : float or array (n,), optional
        Initial membrane potential (default ``params.v_rest``).
    i_bias : float or array (n,)
        Constant input current.
    name : str
    synapse_model : {"current", "conductance"}
        ``"current"``: ``ge``/``gi`` are currents in units of voltage (CUBA, exact
        integration). ``"conductance"`` (COBA): they are conductances in units of the leak
        conductance, ``tau_m dv/dt = (v_rest - v) + R_m I + ge (e_exc - v) + gi (e_inh - v)``,
        integrated by exponential Euler (the conductances held over each step, as Brian2's
        ``exponential_euler``); needs a leaky neuron and non-negative synaptic weights.
    e_exc, e_inh : float
        Reversal potentials of the conductances (same unit as ``v``).
    ge0, gi0 : float or array (n,)
        Initial synaptic currents or conductances.
    refractory_input : {"discard", "buffer"}
        Jumps onto ``v`` (``target="v"`` synapses, :class:`PoissonInput` onto ``"v"``) that
        arrive while a neuron is refractory, including the step it fires in: ``"discard"``
        them (Brian2's ``(unless refractory)``, NEST's default), or ``"buffer"`` them, decayed
        by the leak until the refractory period ends, and add them then (NEST's
        ``refractory_input=True``). Jumps onto ``ge``/``gi`` are always taken.
    theta_plus : float
        Adaptive threshold (Diehl & Cook 2015): each spike adds ``theta_plus`` to the neuron's
        ``theta`` and the neuron fires when ``v > v_th + theta``; 0 (default) disables it.
    tau_theta_s : float, optional
        Time constant with which ``theta`` decays back to 0 (``None``: it never decays).
    """

    n: int
    params: LIFParams = field(default_factory=LIFParams)
    tau_exc_s: float | None = None
    tau_inh_s: float | None = None
    v0: Any = None
    i_bias: Any = 0.0
    name: str = "population"
    synapse_model: str = "current"
    e_exc: float = 0.0
    e_inh: float = -80.0
    ge0: Any = 0.0
    gi0: Any = 0.0
    refractory_input: str = "discard"
    theta_plus: float = 0.0
    tau_theta_s: float | None = None

    def __post_init__(self) -> None:
        self.n = _count("n", self.n)
        if not isinstance(self.params, LIFParams):
            raise TypeError(f"params must be LIFParams, got {type(self.params).__name__}")
        for attr in ("tau_exc_s", "tau_inh_s"):
            if getattr(self, attr) is not None:
                check_scalar(attr, getattr(self, attr), positive=True)
        self.v0 = self._per_neuron("v0", self.params.v_rest if self.v0 is None else self.v0)
        self.i_bias = self._per_neuron("i_bias", self.i_bias)
        self.ge0 = self._per_neuron("ge0", self.ge0)
        self.gi0 = self._per_neuron("gi0", self.gi0)
        self.synapse_model = check_choice("synapse_model", self.synapse_model,
                                          ("current", "conductance"))
        self.refractory_input = check_choice("refractory_input", self.refractory_input,
                                             ("discard", "buffer"))
        self.theta_plus = check_scalar("theta_plus", self.theta_plus, nonnegative=True)
        if self.tau_theta_s is not None:
            check_scalar("tau_theta_s", self.tau_theta_s, positive=True)
        self.e_exc = check_scalar("e_exc", self.e_exc)
        self.e_inh = check_scalar("e_inh", self.e_inh)
        if self.synapse_model == "conductance" and not self.params.leaky:
            raise ValueError("synapse_model='conductance' needs a leaky neuron (the leak "
                             "conductance is the unit of ge and gi)")

    def _per_neuron(self, name: str, value: Any) -> np.ndarray:
        arr = check_array(name, value, ndim=(0, 1), dtype=np.float64)
        if arr.ndim == 1 and arr.shape != (self.n,):
            raise ValueError(f"{name} must be a scalar or have shape ({self.n},), got {arr.shape}")
        return np.broadcast_to(arr, (self.n,)).copy()

    def synapse_constants(self, dt_s: float) -> tuple[float, float, float, float]:
        """``(k_exc, k_inh, decay_exc, decay_inh)``: the exact-integration coefficients of the
        synaptic currents in the membrane update and their decay per step."""
        out = []
        for tau_s in (self.tau_exc_s, self.tau_inh_s):
            if tau_s is None:
                out.append((0.0, 0.0))
                continue
            decay_s = math.exp(-dt_s / tau_s)
            tau_m = self.params.tau_m_s
            if not self.params.leaky:
                k = tau_s / tau_m * (1.0 - decay_s)
            elif math.isclose(tau_s, tau_m):
                k = dt_s / tau_m * math.exp(-dt_s / tau_m)
            else:
                k = tau_s / (tau_s - tau_m) * (decay_s - math.exp(-dt_s / tau_m))
            out.append((k, decay_s))
        (k_e, d_e), (k_i, d_i) = out
        return k_e, k_i, d_e, d_i


@dataclass(eq=False)
class PoissonGroup:
    """``n`` independent Poisson spike sources with rates in Hz (scalar or per source).

    A source spikes in a step with probability ``rate * dt`` (so ``rate * dt <= 1``), drawn from
    a counter-based generator seeded by ``seed``: the same spikes on every backend and thread
    count, and reproducible in NumPy by :func:`poisson_spikes`.
    """

    n: int
    rate_hz: Any
    seed: int = 0
    name: str = "poisson"

    def __post_init__(self) -> None:
        self.n = _count("n", self.n)
        rates = check_array("rate_hz", self.rate_hz, ndim=(0, 1), dtype=np.float64)
        if (rates < 0).any():
            raise ValueError("rate_hz must be >= 0")
        if rates.ndim == 1 and rates.shape != (self.n,):
            raise ValueError(f"rate_hz must be a scalar or have shape ({self.n},)")
        self.rate_hz = np.broadcast_to(rates, (self.n,)).copy()
        self.seed = check_scalar("seed", self.seed, nonnegative=True, integer=True,
                                 maximum=2**64 - 1)


def poisson_spikes(group: PoissonGroup, dt_s: float, n_steps: int,
                   first_step: int = 0) -> np.ndarray:
    """The (n_steps, n) boolean spike array the kernels draw for ``group`` (a NumPy twin of
    :func:`neurosim.kernels.scalar_network.hash_uniform`)."""
    steps = np.arange(first_step, first_step + n_steps, dtype=np.uint64)[:, None]
    index = np.arange(group.n, dtype=np.uint64)[None, :]
    with np.errstate(over="ignore"):
        x = np.uint64(group.seed) ^ (steps * _MIX_STEP) ^ (index * _MIX_INDEX)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    uniform = (x >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
    return uniform < group.rate_hz[None, :] * dt_s


@dataclass(eq=False)
class PoissonInput:
    """Brian2's ``PoissonInput``: ``n`` independent Poisson sources at ``rate_hz`` onto every
    neuron of ``target``, each spike adding ``weight`` to ``var`` (``"v"``, ``"exc"`` for
    ``ge`` or ``"inh"`` for ``gi``), without materialising the sources: each neuron draws its
    count per step from Binomial(n, rate * dt)
    (:func:`neurosim.kernels.scalar_network.binomial_count`, counter-based on (key, step,
    neuron): the same on CPU and CUDA, any thread count). The
    key mixes ``seed`` with the drive's position among the network's PoissonInputs, so two
    drives with one seed are independent. Applied after the step's synaptic input, before the
    reset (Brian2's ``synapses`` slot); onto ``v`` it follows the target's
    ``refractory_input`` rule."""

    target: Population
    n: int
    rate_hz: float
    weight: float
    var: str = "v"
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.target, Population):
            raise TypeError(f"target must be a Population, got {type(self.target).__name__}")
        self.n = check_scalar("n", self.n, positive=True, integer=True, maximum=2**62)
        self.rate_hz = check_scalar("rate_hz", self.rate_hz, nonnegative=True)
        self.weight = check_scalar("weight", self.weight)
        self.var = check_choice("var", self.var, ("v", "exc", "inh"))
        self.seed = check_scalar("seed", self.seed, nonnegative=True, integer=True,
                                 maximum=2**64 - 1)


@dataclass(eq=False)
class SpikeSource:
    """Sources that spike at given times: ``indices[k]`` spikes at ``times_s[k]``."""

    n: int
    indices: Any
    times_s: Any
    name: str = "spikes"

    def __post_init__(self) -> None:
        self.n = _count("n", self.n)
        if np.size(self.indices) == 0 and np.ndim(self.indices) == 1:
            self.indices = np.zeros(0, np.int64)  # np.array([]) is float64: an empty list is fine
        self.indices = check_array("indices", self.indices, ndim=1, kind="iu", allow_empty=True,
                                   dtype=np.int64)
        self.times_s = check_array("times_s", self.times_s, ndim=1, allow_empty=True,
                                   dtype=np.float64)
        if self.indices.shape != self.times_s.shape:
            raise ValueError("indices and times_s must have the same length")
        if self.indices.size and (self.indices.min() < 0 or self.indices.max() >= self.n):
            raise ValueError(f"indices must be in [0, {self.n}), got values from "
                             f"{self.indices.min()} to {self.indices.max()}")
        if (self.times_s < 0).any():
            raise ValueError("times_s must be >= 0")


@dataclass(eq=False)
class CurrentInput:
    """A time-varying input current added to a population: ``values`` (T, n) with one row per
    step (row ``t`` drives step ``t``; the last row holds after the end), or (n,) constant."""

    target: Population
    values: Any

    def __post_init__(self) -> None:
        if not isinstance(self.target, Population):
            raise TypeError("target must be a Population")
        vals = check_array("values", self.values, ndim=(1, 2), dtype=np.float64)
        if vals.shape[-1] != self.target.n:
            raise ValueError(f"values must have {self.target.n} columns (the target's size), "
                             f"got shape {vals.shape}")
        self.values = vals if vals.ndim == 2 else vals[None, :]
