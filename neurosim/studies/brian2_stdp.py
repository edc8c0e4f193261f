r"""Brian2's STDP example (``examples/synapses/STDP.py``: Song, Miller & Abbott 2000) in its own
formulation, the reference for neurosim's ``song_abbott`` gallery model.

One neuron driven by ``n_inputs`` Poisson inputs (``PoissonGroup``, 15 Hz) through excitatory
conductance synapses with additive STDP:

.. math:: \tau_m \dot v = g_e (E_e - v) + E_l - v, \qquad \tau_e \dot g_e = -g_e

taum 10 ms, taue 5 ms, Ee 0 mV, El -74 mV, threshold ``v > vt`` (-54 mV), reset ``v = vr``
(-60 mV), no refractory period, ``method='euler'`` (as the example); ``g_e`` in units of the
leak conductance. Synapses ``S.connect()`` (all inputs to the neuron), ``S.w = 'rand() * gmax'``,
event-driven traces ``Apre`` and ``Apost`` (taupre = taupost = 20 ms)::

    on_pre:  ge += w;  Apre += dApre;  w = clip(w + Apost, 0, gmax)
    on_post: Apost += dApost;  w = clip(w + Apre, 0, gmax)

with ``dApre = a_pre * gmax`` (the example: a_pre = 0.01) and ``dApost = -a_pre * taupre /
taupost * 1.05 * gmax``. ``v`` starts at 0 V as in the example (above threshold: the neuron
fires in the first step and is reset). dt 0.1 ms.

Targets as :mod:`neurosim.studies.brian2_gallery`: ``"numpy"`` (runtime; ``run_s`` the wall
time of ``run()``) or ``"cpp_standalone"`` (``run_s`` the compiled binary's own run time,
code generation and compilation in ``build_s``; ``reruns`` re-executes the binary for
benchmarks, ``rerun_s``). ``prefs.core.default_float_dtype`` is set to ``dtype``.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import numpy as np

from neurosim.checks import check_array, check_scalar
from neurosim.studies.brian2_gallery import (
    DT_S,
    _brian2_target,
    _check_common,
    _check_reruns,
    _spikes,
)

#: The example's constants (mV, ms and Hz as in its source).
EXAMPLE = {"taum_ms": 10.0, "taue_ms": 5.0, "Ee_mV": 0.0, "vt_mV": -54.0, "vr_mV": -60.0,
           "El_mV": -74.0, "taupre_ms": 20.0, "taupost_ms": 20.0, "F_Hz": 15.0, "gmax": 0.01,
           "dApre": 0.01, "N": 1000}


class Brian2STDPRun(NamedTuple):
    """What :func:`brian2_song_abbott` returns: ``weights`` (float64, ``(n_inputs,)``, the
    final ``S.w``, input ``k``'s synapse at ``k``; dimensionless: units of the leak
    conductance), ``output_steps`` (int64, the steps at which the neuron fired),
    sizes and timings (see the module
    docstring)."""

    weights: np.ndarray
    output_steps: np.ndarray
    n_inputs: int
    n_steps: int
    dt_s: float
    run_s: float
    build_s: float
    target: str
    params: dict
    rerun_s: tuple = ()


def brian2_song_abbott(n_inputs: int = 1000, *, rate_hz: float = 15.0, gmax: float = 0.01,
                       a_pre: float = 0.01, duration_s: float = 100.0, seed: int = 0,
                       target: str = "numpy", dtype: Any = np.float64, reruns: int = 0,
                       initial_weights: Any = None) -> Brian2STDPRun:
    """Run Brian2's STDP example (see the module docstring) once.

    Parameters
    ----------
    n_inputs, rate_hz, gmax
        The example's ``N`` (1000), ``F`` (15 Hz) and ``gmax`` (0.01, units of the leak).
    a_pre
        The example's ``dApre`` before it is multiplied by ``gmax`` (0.01); ``dApost`` follows
        as ``-1.05 a_pre``. A larger value reaches the bimodal state in a shorter run.
    duration_s, seed, target, dtype, reruns
        Simulated seconds (the example: 100), ``brian2.seed``, the code generation target,
        the float type of both the state and the weights, extra binary runs (cpp_standalone).
    initial_weights
        ``None``: the example's ``S.w = 'rand() * gmax'``; else ``(n_inputs,)`` weights in
        ``[0, gmax]`` set as ``S.w`` instead (to start both simulators from the same draw).
    """
    n_inputs = check_scalar("n_inputs", n_inputs, positive=True, integer=True)
    rate_hz = check_scalar("rate_hz", rate_hz, nonnegative=True, maximum=1.0 / DT_S)
    gmax = check_scalar("gmax", gmax, positive=True)
    a_pre = check_scalar("a_pre", a_pre, nonnegative=True)
    duration_s, n_steps, seed, target, dtype = _check_common(duration_s, seed, target, dtype)
    reruns = _check_reruns(reruns)
    if initial_weights is not None:
        initial_weights = check_array("initial_weights", initial_weights, ndim=1,
                                      dtype=np.float64)
        if initial_weights.shape != (n_inputs,):
            raise ValueError(f"initial_weights must have shape ({n_inputs},), got "
                             f"{initial_weights.shape}")
        if initial_weights.min() < 0 or initial_weights.max() > gmax:
            raise ValueError("initial_weights must lie in [0, gmax]")
    params = {"model": "song_abbott", "n_inputs": n_inputs, "rate_hz": rate_hz, "gmax": gmax,
              "a_pre": a_pre, "duration_s": duration_s, "seed": seed, "dtype": dtype.name,
              "initial_weights": "rand() * gmax" if initial_weights is None else "given"}

    import brian2
    from brian2 import Hz, NeuronGroup, PoissonGroup, SpikeMonitor, Synapses, ms, mV

    with _brian2_target(target, dtype) as binary_time:
        brian2.start_scope()
        brian2.defaultclock.dt = DT_S * brian2.second
        brian2.seed(seed)
        t0 = time.perf_counter()
        taupre = EXAMPLE["taupre_ms"] * ms
        taupost = EXAMPLE["taupost_ms"] * ms
        dApre = a_pre * gmax
        dApost = -a_pre * taupre / taupost * 1.05 * gmax
        namespace = {"taum": EXAMPLE["taum_ms"] * ms, "taue": EXAMPLE["taue_ms"] * ms,
                     "Ee": EXAMPLE["Ee_mV"] * mV, "vt": EXAMPLE["vt_mV"] * mV,
                     "vr": EXAMPLE["vr_mV"] * mV, "El": EXAMPLE["El_mV"] * mV,
                     "taupre": taupre, "taupost": taupost, "gmax": gmax, "dApre": dApre,
                     "dApost": dApost}
        eqs_neurons = """
        dv/dt = (ge * (Ee-v) + El - v) / taum : volt
        dge/dt = -ge / taue : 1
        """
        poisson_input = PoissonGroup(n_inputs, rates=rate_hz * Hz)
        neurons = NeuronGroup(1, eqs_neurons, threshold="v>vt", reset="v = vr",
                              method="euler", namespace=namespace)
        S = Synapses(poisson_input, neurons,
                     """w : 1
                        dApre/dt = -Apre / taupre : 1 (event-driven)
                        dApost/dt = -Apost / taupost : 1 (event-driven)""",
                     on_pre="""ge += w
                               Apre += dApre
                               w = clip(w + Apost, 0, gmax)""",
                     on_post="""Apost += dApost
                                w = clip(w + Apre, 0, gmax)""",
                     namespace=namespace)
        S.connect()
        S.w = "rand() * gmax" if initial_weights is None else initial_weights
        out_mon = SpikeMonitor(neurons)
        net = brian2.Network(poisson_input, neurons, S, out_mon)
        t1 = time.perf_counter()
        net.run(duration_s * brian2.second)
        t2 = time.perf_counter()
        output_steps, _ = _spikes(out_mon, DT_S)
        order = np.argsort(np.asarray(S.i[:]), kind="stable")  # input 0 first
        weights = np.asarray(S.w[:], dtype=np.float64)[order]
        t3 = time.perf_counter()
        own = binary_time(reruns)
    if own is None:
        run_s, build_s = t2 - t1, t1 - t0
    else:
        run_s, build_s = own[0], (t3 - t0) - own[0]
    return Brian2STDPRun(weights, output_steps, n_inputs, n_steps,
                         DT_S, run_s, build_s, target, params, tuple(own[1:]) if own else ())
