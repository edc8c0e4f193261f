r"""Leaky integrate-and-fire (LIF) and integrate-and-fire (IF) neurons.

.. math::

    \tau_m \frac{dv}{dt} = -(v - v_\mathrm{rest}) + R_m I(t) \quad\text{(LIF)}, \qquad
    \tau_m \frac{dv}{dt} = R_m I(t) \quad\text{(IF, no leak)}

integrated exactly over a step of length :math:`\Delta t` with :math:`I` constant in the step:

.. math::

    v_{t+1} = v_\infty + (v_t - v_\infty)\, e^{-\Delta t / \tau_m}, \quad
    v_\infty = v_\mathrm{rest} + R_m I_t \qquad\text{(LIF)}

    v_{t+1} = v_t + \frac{R_m \Delta t}{\tau_m} I_t \qquad\text{(IF)}

A spike is emitted when :math:`v_{t+1} > v_\mathrm{th}`; then :math:`v` is set to
:math:`v_\mathrm{reset}` (``reset="value"``) or reduced by :math:`v_\mathrm{th} - v_\mathrm{reset}`
(``reset="subtract"``), and the neuron neither integrates nor fires for the absolute refractory
period. Refractoriness follows Brian2: after a spike in the step at time :math:`t_s`, the
neuron integrates again in the step at :math:`t_s + t_\mathrm{ref}`, so
``round(t_ref / dt) - 1`` steps are skipped.

Voltages, :math:`R_m` and :math:`I` may be in any consistent units (e.g. mV, MOhm, nA, or the
unitless ``v_th = 1`` of ANN-to-SNN conversion); times are in seconds.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from neurosim.backends import get_backend
from neurosim.checks import check_array, check_choice, check_dtype_arg, check_scalar
from neurosim.kernels.scalar import LIFConstants

RESETS = ("value", "subtract")


@dataclass(frozen=True)
class LIFParams:
    """Parameters of a (leaky) integrate-and-fire neuron population (all neurons share them).

    Attributes
    ----------
    tau_m_s : float
        Membrane time constant in seconds (> 0). For IF neurons it scales the input gain.
    v_rest, v_reset, v_th : float
        Resting, reset and threshold potentials; ``v_th > v_reset``.
    r_m : float
        Membrane resistance (input gain), > 0.
    t_ref_s : float
        Absolute refractory period in seconds (>= 0).
    reset : {"value", "subtract"}
        Reset to ``v_reset`` or subtract ``v_th - v_reset``.
    leaky : bool
        ``False`` gives the non-leaky IF neuron.
    """

    tau_m_s: float = 0.020
    v_rest: float = 0.0
    v_reset: float = 0.0
    v_th: float = 1.0
    r_m: float = 1.0
    t_ref_s: float = 0.0
    reset: str = "value"
    leaky: bool = True

    def __post_init__(self) -> None:
        check_scalar("tau_m_s", self.tau_m_s, positive=True)
        for name in ("v_rest", "v_reset", "v_th"):
            check_scalar(name, getattr(self, name))
        check_scalar("r_m", self.r_m, positive=True)
        check_scalar("t_ref_s", self.t_ref_s, nonnegative=True)
        check_choice("reset", self.reset, RESETS)
        if not isinstance(self.leaky, (bool, np.bool_)):
            raise TypeError(f"leaky must be a bool, got {self.leaky!r}")
        if self.v_th <= self.v_reset:
            raise ValueError(
                f"v_th must be above v_reset, got v_th={self.v_th!r} <= v_reset={self.v_reset!r}"
            )

    def refractory_steps(self, dt_s: float) -> int:
        """Steps skipped after a spike step (Brian2's convention, see the module docstring)."""
        return max(int(round(self.t_ref_s / dt_s)) - 1, 0)

    def constants(self, dt_s: float, dtype: np.dtype) -> LIFConstants:
        """The record the kernels read (:class:`neurosim.kernels.scalar.LIFConstants`), with
        the potentials and factors cast to the state's dtype.

        Raises ``ValueError`` when the parameters cannot be represented at this ``dt_s`` and
        dtype: a value outside the dtype's range, a refractory period of 2**31 steps or more,
        or a step so small that the leak factor ``exp(-dt/tau_m)`` rounds to 1 (the neuron
        would then ignore its input)."""
        dtype = np.dtype(dtype)
        cast = dtype.type
        decay = math.exp(-dt_s / self.tau_m_s) if self.leaky else 1.0
        gain = self.r_m * dt_s / self.tau_m_s
        values = {"v_th": self.v_th, "v_reset": self.v_reset, "v_rest": self.v_rest,
                  "r_m": self.r_m, "r_m * dt / tau_m": gain}
        with np.errstate(over="ignore"):
            for name, value in values.items():
                if not np.isfinite(cast(value)):
                    raise ValueError(f"{name} = {value!r} overflows {dtype.name}")
        if self.leaky and cast(decay) == 1:
            raise ValueError(
                f"dt_s = {dt_s!r} is so small against tau_m_s = {self.tau_m_s!r} that the leak "
                f"factor exp(-dt/tau_m) rounds to 1 in {dtype.name}: the neuron would ignore its "
                "input; use a larger dt_s or float64")
        if cast(gain) == 0:
            raise ValueError(f"the input gain r_m * dt / tau_m = {gain!r} rounds to 0 in "
                             f"{dtype.name}: use a larger dt_s")
        steps = self.refractory_steps(dt_s)
        if steps >= 2**31 - 1:
            raise ValueError(f"t_ref_s = {self.t_ref_s!r} is {steps:.3g} steps of dt_s = "
                             f"{dt_s!r}; at most 2**31 - 2 steps are supported")
        return LIFConstants(cast(self.v_th), cast(self.v_reset), cast(self.v_rest),
                            cast(self.r_m), cast(decay), cast(gain), bool(self.leaky),
                            self.reset == "subtract", np.int64(steps))


@dataclass(frozen=True)
class IFParams(LIFParams):
    """Non-leaky integrate-and-fire parameters: :class:`LIFParams` with ``leaky=False`` and
    reset by subtraction unless ``reset="value"`` is given (the neuron of rate-based
    ANN-to-SNN conversion). ``tau_m_s`` scales the input gain ``r_m * dt / tau_m_s``."""

    reset: str = "subtract"
    leaky: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.leaky:
            raise ValueError("IFParams describes a non-leaky neuron: use LIFParams for leaky=True")


class LIFState(NamedTuple):
    """Membrane potentials and refractory counters (steps left) of a population of any shape."""

    v: np.ndarray
    refractory: np.ndarray

    @classmethod
    def initial(cls, shape: int | tuple[int, ...], params: LIFParams,
                dtype: Any = np.float64, v0: Any = None) -> LIFState:
        """Resting state (or ``v0``, a scalar or an array of ``shape``), nobody refractory."""
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        if any(int(s) < 0 for s in shape) or math.prod(shape) == 0:
            raise ValueError(f"shape must describe a non-empty population, got {shape}")
        dtype = check_dtype_arg(dtype)
        v = np.full(shape, params.v_rest, dtype=dtype)
        if v0 is not None:
            v[...] = check_array("v0", v0, ndim=(0, len(shape)), allow_empty=False)
        return cls(v, np.zeros(shape, np.int32))


class LIFRun(NamedTuple):
    """What :func:`lif_run` returns: spikes (T, *shape) bool, the membrane trace (T, *shape)
    after each step when recorded (else ``None``), and the final state."""

    spikes: np.ndarray
    v: np.ndarray | None
    state: LIFState


def _check_state(state: Any, shape: tuple[int, ...]) -> LIFState:
    if not isinstance(state, LIFState):
        raise TypeError(f"state must be a LIFState, got {type(state).__name__}")
    v = check_array("state.v", state.v, kind="f")
    if v.dtype.type not in (np.float32, np.float64):
        raise TypeError(f"state.v must be float32 or float64, got {v.dtype}")
    if v.shape != shape:
        raise ValueError(f"state.v must have shape {shape} (the currents' shape per step), "
                         f"got {v.shape}")
    refractory = check_array("state.refractory", state.refractory, kind="iu", dtype=np.int32)
    if refractory.shape != shape or (refractory < 0).any():
        raise ValueError(f"state.refractory must be non-negative with shape {shape}")
    return LIFState(v.copy(), refractory.copy())


def lif_run(
    currents: Any,
    params: LIFParams,
    dt_s: float,
    state: LIFState | None = None,
    *,
    dtype: Any = None,
    record_v: bool = False,
    steps: int | None = None,
    backend: str = "cpu",
) -> LIFRun:
    """Simulate ``T`` steps of a population of independent (L)IF neurons.

    Parameters
    ----------
    currents : array (T, *shape), or (*shape) with ``steps``
        Input current of every neuron in every step (constant within a step). With ``steps``
        given, ``currents`` is held constant for ``steps`` steps (no (T, N) array is built).
    params : LIFParams
    dt_s : float
        Time step in seconds, > 0.
    state : LIFState, optional
        The state before the first step (not modified); resting state when omitted.
    dtype : float32 or float64, optional
        Arithmetic precision; defaults to the state's dtype, else float64.
    record_v : bool
        Also return the membrane potential after every step.
    steps : int, optional
        Number of steps of a constant input.
    backend : {"cpu", "cuda", "auto"}

    Returns
    -------
    LIFRun
        ``spikes`` (T, *shape) bool, ``v`` (T, *shape) or None, final ``state``.

    Raises
    ------
    TypeError, ValueError
        Bad shapes, dtypes, non-finite values, ``dt_s <= 0``, or an empty population.
    """
    if not isinstance(params, LIFParams):
        raise TypeError(f"params must be LIFParams, got {type(params).__name__}")
    dt_s = check_scalar("dt_s", dt_s, positive=True)
    currents = check_array("currents", currents, kind="f")
    if steps is not None:
        n_steps = check_scalar("steps", steps, positive=True, integer=True)
        if currents.ndim < 1:
            raise ValueError("currents must have the population's shape when steps is given")
        currents = currents[None]
    elif currents.ndim < 2:
        raise ValueError(f"currents must have shape (T, *population_shape), got {currents.shape}")
    else:
        n_steps = currents.shape[0]
    shape = currents.shape[1:]
    if dtype is None:
        dtype = state.v.dtype if isinstance(state, LIFState) else np.float64
    dtype = check_dtype_arg(dtype)
    state = LIFState.initial(shape, params, dtype) if state is None else _check_state(state, shape)
    if state.v.dtype != dtype:
        raise TypeError(f"state.v has dtype {state.v.dtype} but dtype={dtype} was asked for")
    kernels = get_backend(backend)

    n = math.prod(shape)
    flat_currents = np.ascontiguousarray(currents.reshape(len(currents), n), dtype=dtype)
    v = state.v.reshape(n)
    refractory = state.refractory.reshape(n)
    spikes = np.empty((n_steps, n), np.uint8)
    v_trace = np.empty((n_steps, n) if record_v else (0, n), dtype)
    kernels.lif_run(v, refractory, flat_currents, params.constants(dt_s, dtype), spikes,
                    v_trace, bool(record_v))
    out_shape = (n_steps, *shape)
    return LIFRun(
        spikes.view(np.bool_).reshape(out_shape),
        v_trace.reshape(out_shape) if record_v else None,
        LIFState(v.reshape(shape), refractory.reshape(shape)),
    )


def lif_step(current: Any, state: LIFState, params: LIFParams, dt_s: float, *,
             backend: str = "cpu") -> tuple[np.ndarray, LIFState]:
    """One step: ``(spikes, new_state)`` for ``current`` of the population's shape (pure)."""
    current = check_array("current", current, kind="f")
    run = lif_run(current[None], params, dt_s, state, backend=backend)
    return run.spikes[0], run.state


class LIFCell:
    """A stateful block of independent (L)IF neurons (shape ``(n,)`` or a batched layer
    ``(batch, n)``), no synapses: it holds the state and calls :func:`lif_run`, where all
    behaviour lives (Norse's ``LIFCell``). For neurons connected by synapses, use
    :class:`neurosim.network.Population` in a :class:`neurosim.network.Network`.
    """

    def __init__(self, shape: int | tuple[int, ...], params: LIFParams | None = None, *,
                 dt_s: float = 1e-4, dtype: Any = np.float64, backend: str = "cpu") -> None:
        self.params = params if params is not None else LIFParams()
        self.dt_s = check_scalar("dt_s", dt_s, positive=True)
        self.backend = backend
        get_backend(backend)  # fail now, not at the first step
        self.state = LIFState.initial(shape, self.params, dtype)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.state.v.shape

    def step(self, current: Any) -> np.ndarray:
        spikes, self.state = lif_step(current, self.state, self.params, self.dt_s,
                                      backend=self.backend)
        return spikes

    def run(self, currents: Any, *, record_v: bool = False) -> LIFRun:
        result = lif_run(currents, self.params, self.dt_s, self.state, record_v=record_v,
                         backend=self.backend)
        self.state = result.state
        return result


class LIFPopulation(LIFCell):
    """Deprecated name of :class:`LIFCell` (it is not a network population)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        warnings.warn("LIFPopulation is renamed LIFCell (network populations are "
                      "neurosim.network.Population)", DeprecationWarning, stacklevel=2)
        super().__init__(*args, **kwargs)


def lif_isi_theory(params: LIFParams, current: float) -> float:
    """Analytic inter-spike interval (s) for constant input, or ``inf`` when it never fires.

    ``t_ref + tau_m * ln((v_inf - v_reset) / (v_inf - v_th))`` with ``v_inf = v_rest + R I``
    (LIF, reset to value), or ``t_ref + tau_m (v_th - v_reset) / (R I)`` (IF).
    """
    if params.leaky:
        v_inf = params.v_rest + params.r_m * current
        if v_inf <= params.v_th:
            return math.inf
        return params.t_ref_s + params.tau_m_s * math.log(
            (v_inf - params.v_reset) / (v_inf - params.v_th))
    if current <= 0:
        return math.inf
    return params.t_ref_s + params.tau_m_s * (params.v_th - params.v_reset) / (params.r_m * current)
