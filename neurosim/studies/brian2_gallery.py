"""The gallery's models in Brian2, each written as Brian2's own example writes it, so that
neurosim's gallery can be compared with them through the same statistics
(:func:`neurosim.gallery.stats.spike_statistics` on :class:`Brian2Run`'s spikes).

- :func:`brian2_brunel`: ``examples/frompapers/Brunel_2000.py`` (Brunel 2000, Fig. 8).
- :func:`brian2_coba`: the COBA network, benchmark 1 of Brette et al. (2007) (Vogels & Abbott
  2005), as Brian's classic ``COBA.py`` writes it (conductances in units of the leak).
- :func:`brian2_refractory_probe`: one neuron kicked by a ``SpikeGeneratorGroup``, the
  reference for how Brian2 treats synaptic jumps around a spike.

What Brian2 does with jumps onto ``v`` (seen with :func:`brian2_refractory_probe` and
:func:`brian2_poisson_input_probe`; Brian2's default schedule per step is state update,
threshold, synapses, reset):

- ``(unless refractory)`` makes *every* write to ``v`` conditional on ``not_refractory``
  (Brian2 rewrites the equation to ``int(not_refractory)*(...)`` and marks ``v`` with a
  conditional write), so a jump from ``Synapses`` or ``PoissonInput`` during the refractory
  period is **discarded**, not kept for later.
- The refractory period covers ``round(t_ref / dt)`` steps starting with the firing step
  (2 ms: the firing step k and k+1 .. k+19; a jump at k+20 lands). A jump in the firing step
  is discarded too (the threshold has already cleared ``not_refractory``; the reset then sets
  ``v = V_r``), also with ``t_ref = 0``.
- The threshold is tested on ``v`` after the state update and before that step's jumps, so a
  jump acts on spiking one step later.

Targets: ``"numpy"`` (runtime, no compiler; the tests) or ``"cpp_standalone"`` (a fresh
project in a temporary folder per call, built, compiled and run by ``run()``; ``run_s`` is the
binary's own simulation time, ``device._last_run_time``, as in
:mod:`neurosim.studies.peer_benchmarks`; ``build_s`` everything else: code generation, C++
compilation, writing and reading the arrays; with ``reruns = k`` the compiled binary is then
executed ``k`` more times, no recompilation, and ``rerun_s`` holds the binary's own run time
of each, for benchmarks). On the numpy target ``build_s`` is the time to
create the Brian2 objects (connectivity included) and ``run_s`` the wall time of ``run()``.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np

from neurosim.checks import check_array, check_choice, check_dtype_arg, check_scalar

TARGETS = ("numpy", "cpp_standalone")
DT_S = 1e-4  # 0.1 ms, every model here


class Brian2Run(NamedTuple):
    """Spikes of a Brian2 run, numbered like neurosim's gallery: ``indices`` are global
    (excitatory neurons first, then inhibitory), ``steps`` the step of each spike (both
    int64, sorted by step then index). ``run_s``/``build_s``/``rerun_s``: see the module
    docstring (``rerun_s`` is empty unless ``reruns`` was asked for on cpp_standalone)."""

    steps: np.ndarray
    indices: np.ndarray
    n_neurons: int
    n_steps: int
    dt_s: float
    run_s: float
    build_s: float
    target: str
    params: dict
    rerun_s: tuple = ()


class RefractoryProbe(NamedTuple):
    """One neuron's response to timed kicks: ``spike_steps`` (int64), ``v_mv`` (float64, one
    value per step: ``v`` at the *end* of the step, after resets), ``input_steps`` (where the
    kicks land) and ``refractory_steps`` (t_ref / dt)."""

    spike_steps: np.ndarray
    v_mv: np.ndarray
    input_steps: np.ndarray
    dt_s: float
    refractory_steps: int


@contextlib.contextmanager
def _brian2_target(target: str, dtype: Any) -> Iterator[Callable[[], float | None]]:
    """Select Brian2's target and float type for one run and restore them afterwards.
    Yields a function ``reruns -> run times``: the standalone binary's own run time, then
    those of ``reruns`` re-executions of the same binary (None on numpy)."""
    import brian2
    from brian2.devices.device import get_device, reset_device, set_device

    prefs = brian2.prefs
    saved = (prefs.codegen.target, prefs.core.default_float_dtype)
    prefs.core.default_float_dtype = np.dtype(dtype).type
    if target == "numpy":
        prefs.codegen.target = "numpy"
        try:
            yield lambda reruns=0: None
        finally:
            prefs.codegen.target, prefs.core.default_float_dtype = saved
        return
    workdir = tempfile.mkdtemp(prefix="neurosim_brian2_gallery_")
    set_device("cpp_standalone", build_on_run=True, directory=workdir, with_output=False)
    get_device().reinit()  # a fresh project even if this process ran one before
    get_device().activate(build_on_run=True, directory=workdir, with_output=False)

    def binary_times(reruns: int = 0) -> list[float]:
        device = get_device()
        times = [float(device._last_run_time)]
        for _ in range(reruns):
            device.run(directory=workdir, with_output=False)
            times.append(float(device._last_run_time))
        return times

    try:
        yield binary_times
    finally:
        get_device().reinit()
        reset_device()
        prefs.codegen.target, prefs.core.default_float_dtype = saved
        shutil.rmtree(workdir, ignore_errors=True)


def _check_common(duration_s: Any, seed: Any, target: Any, dtype: Any) -> tuple:
    duration_s = check_scalar("duration_s", duration_s, positive=True)
    n_steps = int(round(duration_s / DT_S))
    if n_steps < 1:
        raise ValueError(f"duration_s ({duration_s}) is shorter than one step of {DT_S} s")
    seed = check_scalar("seed", seed, nonnegative=True, integer=True)
    return (duration_s, n_steps, seed, check_choice("target", target, TARGETS),
            check_dtype_arg(dtype))


def _check_reruns(reruns: Any) -> int:
    """``reruns``: extra executions of the compiled binary (cpp_standalone; none on numpy)."""
    return check_scalar("reruns", reruns, nonnegative=True, integer=True)


def _spikes(monitor: Any, dt_s: float) -> tuple[np.ndarray, np.ndarray]:
    steps = np.rint(np.asarray(monitor.t_[:], dtype=np.float64) / dt_s).astype(np.int64)
    indices = np.asarray(monitor.i[:], dtype=np.int64)
    order = np.lexsort((indices, steps))
    return steps[order], indices[order]


def _run(build: Callable[[], Any], *, duration_s: float, n_steps: int, n_neurons: int,
         seed: int, target: str, dtype: np.dtype, params: dict,
         reruns: int = 0) -> Brian2Run:
    """Build the model (``build`` returns its SpikeMonitor over all neurons) under the chosen
    target, run it in a ``Network`` of the objects it made, and time both parts."""
    import brian2

    with _brian2_target(target, dtype) as binary_time:
        brian2.start_scope()
        brian2.defaultclock.dt = DT_S * brian2.second
        brian2.seed(seed)
        t0 = time.perf_counter()
        monitor, objects = build()
        net = brian2.Network(monitor, *objects)
        t1 = time.perf_counter()
        net.run(duration_s * brian2.second)
        t2 = time.perf_counter()
        steps, indices = _spikes(monitor, DT_S)
        t3 = time.perf_counter()
        own = binary_time(reruns)
    if own is None:
        run_s, build_s = t2 - t1, t1 - t0
    else:
        run_s, build_s = own[0], (t3 - t0) - own[0]
    return Brian2Run(steps, indices, n_neurons, n_steps, DT_S, run_s, build_s, target, params,
                     tuple(own[1:]) if own else ())


def brunel_sizes(scale: float) -> dict[str, Any]:
    """Brunel_2000.py's sizes with ``N_E = round(10000 * scale)``: N_I = round(N_E / 4),
    C_E = epsilon * N_E (epsilon = 0.1), C_ext = C_E (an integer: PoissonInput needs one)."""
    scale = check_scalar("scale", scale, positive=True)
    n_exc = int(round(10_000 * scale))
    if n_exc < 4:
        raise ValueError(f"scale ({scale}) leaves fewer than 4 excitatory neurons")
    c_e = 0.1 * n_exc
    return {"n_exc": n_exc, "n_inh": int(round(0.25 * n_exc)), "epsilon": 0.1, "c_e": c_e,
            "c_ext": max(1, int(round(c_e)))}


def brian2_brunel(g: float, nu_ratio: float, *, scale: float = 1.0, duration_s: float = 1.0,
                  seed: int = 0, target: str = "numpy", dtype: Any = np.float64,
                  reruns: int = 0) -> Brian2Run:
    """Brian2's ``examples/frompapers/Brunel_2000.py`` (Brunel 2000, Fig. 8), run once.

    ``N_E = round(10000 * scale)``, ``N_I = round(N_E / 4)``, epsilon = 0.1,
    ``C_E = epsilon * N_E``, ``C_ext = C_E``; tau = 20 ms, theta = 20 mV, V_r = 10 mV,
    tau_rp = 2 ms, J = 0.1 mV, D = 1.5 ms, ``nu_thr = theta / (J * C_E * tau)``,
    ``nu_ext = nu_ratio * nu_thr``; ``v`` starts at 0; dt = 0.1 ms.

    .. math:: \\tau \\dot v = -v \\quad \\text{(unless refractory)}, \\qquad
              v > \\theta \\Rightarrow v \\leftarrow V_r

    Recurrent synapses ``connect(p=epsilon)`` from each population onto all neurons
    (``v += J`` and ``v += -g*J`` after D); external drive ``PoissonInput(N=C_ext,
    rate=nu_ext, weight=J)`` onto ``v``. ``scale`` keeps epsilon and J (C_E, C_ext and nu_thr
    follow N_E: the example with a smaller N_E, same total external drive C_ext * nu_ext).

    Differences from the example, none of them in the dynamics: ``C_ext`` is passed to
    ``PoissonInput`` as ``int(round(C_E))`` (the example passes the float ``C_E``); the
    ``index`` variable the example shuffles for its raster plot is left out; all neurons are
    recorded (the example records 50) and ``seed(seed)`` fixes Brian2's RNG.
    """
    g = check_scalar("g", g, nonnegative=True)
    nu_ratio = check_scalar("nu_ratio", nu_ratio, nonnegative=True)
    sizes = brunel_sizes(scale)
    duration_s, n_steps, seed, target, dtype = _check_common(duration_s, seed, target, dtype)
    params = {"model": "brunel", "g": g, "nu_ratio": nu_ratio, "scale": scale, "seed": seed,
              "duration_s": duration_s, "dtype": dtype.name, **sizes}

    def build():
        from brian2 import NeuronGroup, PoissonInput, SpikeMonitor, Synapses, ms, mV

        N_E, N_I = sizes["n_exc"], sizes["n_inh"]
        epsilon, C_E = sizes["epsilon"], sizes["c_e"]
        tau, theta, V_r, tau_rp = 20 * ms, 20 * mV, 10 * mV, 2 * ms
        J, D = 0.1 * mV, 1.5 * ms
        nu_thr = theta / (J * C_E * tau)
        neurons = NeuronGroup(N_E + N_I, "dv/dt = -v/tau : volt (unless refractory)",
                              threshold="v > theta", reset="v = V_r", refractory=tau_rp,
                              method="exact", namespace={"tau": tau, "theta": theta,
                                                         "V_r": V_r})
        exc = Synapses(neurons[:N_E], target=neurons, on_pre="v += J", delay=D,
                       namespace={"J": J})
        exc.connect(p=epsilon)
        inh = Synapses(neurons[N_E:], target=neurons, on_pre="v += -g*J", delay=D,
                       namespace={"J": J, "g": g})
        inh.connect(p=epsilon)
        external = PoissonInput(target=neurons, target_var="v", N=sizes["c_ext"],
                                rate=nu_ratio * nu_thr, weight=J)
        return SpikeMonitor(neurons), (neurons, exc, inh, external)

    return _run(build, duration_s=duration_s, n_steps=n_steps,
                n_neurons=sizes["n_exc"] + sizes["n_inh"], seed=seed, target=target,
                dtype=dtype, params=params, reruns=_check_reruns(reruns))


def coba_group(n: int) -> tuple:
    """The neurons of Brian's classic ``COBA.py`` (see :func:`brian2_coba`): ``(NeuronGroup,
    namespace)``, the namespace also holding the synaptic weights ``we`` and ``wi`` for the
    caller's ``Synapses``. Shared by :func:`brian2_coba` and the validation on neurosim's
    network (:mod:`neurosim.studies.gallery_validation`)."""
    from brian2 import NeuronGroup, ms, mV

    namespace = {"taum": 20 * ms, "taue": 5 * ms, "taui": 10 * ms, "Vt": -50 * mV,
                 "Vr": -60 * mV, "El": -60 * mV, "Ee": 0 * mV, "Ei": -80 * mV,
                 "we": 6 / 10, "wi": 67 / 10}
    eqs = """
    dv/dt = (ge*(Ee-v)+gi*(Ei-v)-(v-El))/taum : volt (unless refractory)
    dge/dt = -ge/taue : 1
    dgi/dt = -gi/taui : 1
    """
    group = NeuronGroup(n, eqs, threshold="v>Vt", reset="v = Vr", refractory=5 * ms,
                        method="exponential_euler", namespace=namespace)
    return group, namespace


def coba_sizes(n: int) -> tuple[int, float]:
    """COBA.py's excitatory count (80 %) and connection probability (80 / n, at most 1)."""
    return int(round(0.8 * n)), min(1.0, 80.0 / n)


def coba_network(n: int) -> tuple:
    """Brian's ``COBA.py`` network drawn, not run: ``(P, Ce, Ci)`` (:func:`coba_sizes`), then
    ``v``, ``ge``, ``gi``, in this order of random draws. Shared by :func:`brian2_coba` and
    :func:`neurosim.studies.coba_networks.brian2_draw` (the same seed, the same network)."""
    from brian2 import Synapses

    n_exc, p = coba_sizes(n)
    P, namespace = coba_group(n)
    Ce = Synapses(P[:n_exc], P, on_pre="ge += we", namespace=namespace)
    Ci = Synapses(P[n_exc:], P, on_pre="gi += wi", namespace=namespace)
    Ce.connect(p=p)
    Ci.connect(p=p)
    P.v = "Vr + rand() * (Vt - Vr)"
    P.ge = "randn() * 1.5 + 4"
    P.gi = "randn() * 12 + 20"
    return P, Ce, Ci


def brian2_coba(n: int = 4000, *, duration_s: float = 1.0, seed: int = 0,
                target: str = "numpy", dtype: Any = np.float64, reruns: int = 0) -> Brian2Run:
    """The COBA network (Brette et al. 2007, benchmark 1; Vogels & Abbott 2005) as Brian's
    classic ``COBA.py``: ``n`` neurons, 80 % excitatory, conductances in units of the leak.

    .. math:: \\tau_m \\dot v = g_e (E_e - v) + g_i (E_i - v) - (v - E_l), \\quad
              \\tau_e \\dot g_e = -g_e, \\quad \\tau_i \\dot g_i = -g_i

    taum 20 ms, taue 5 ms, taui 10 ms, Vt -50 mV, Vr = El = -60 mV, Ee 0 mV, Ei -80 mV,
    refractory 5 ms (``unless refractory`` on v), exponential Euler, dt 0.1 ms; synapses
    ``connect(p=min(1, 80/n))`` (0.02 at n = 4000) from the excitatory neurons
    (``ge += 6/10``: 6 nS over the 10 nS leak) and the inhibitory ones (``gi += 67/10``);
    initial ``v = Vr + rand()*(Vt - Vr)``, ``ge = randn()*1.5 + 4``, ``gi = randn()*12 + 20``.
    """
    n = check_scalar("n", n, positive=True, integer=True)
    if n < 5:
        raise ValueError(f"n ({n}) must be at least 5 (one inhibitory neuron)")
    duration_s, n_steps, seed, target, dtype = _check_common(duration_s, seed, target, dtype)
    n_exc, p = coba_sizes(n)
    params = {"model": "coba", "n": n, "n_exc": n_exc, "n_inh": n - n_exc, "p": p,
              "seed": seed, "duration_s": duration_s, "dtype": dtype.name}

    def build():
        from brian2 import SpikeMonitor

        objects = coba_network(n)
        return SpikeMonitor(objects[0]), objects

    return _run(build, duration_s=duration_s, n_steps=n_steps, n_neurons=n, seed=seed,
                target=target, dtype=dtype, params=params, reruns=_check_reruns(reruns))


def brian2_refractory_probe(times_ms: Any, weight_mv: float, *, t_ref_ms: float = 2.0,
                            duration_ms: float | None = None,
                            dtype: Any = np.float64) -> RefractoryProbe:
    """One neuron, ``dv/dt = -v/(20 ms) : volt (unless refractory)``, threshold
    ``v > 10 mV``, reset ``v = 0``, refractory ``t_ref_ms``, kicked by a
    ``SpikeGeneratorGroup`` with spikes at ``times_ms`` through ``on_pre="v_post +=
    weight"`` (no delay: a kick lands in the step of its time). numpy target.

    ``times_ms`` must fall on distinct steps of 0.1 ms (one generator neuron). Returns the
    neuron's spike steps and ``v`` at the end of every step (see the module docstring for
    what the trace shows: kicks in the firing step and during the refractory period are
    discarded).
    """
    times = check_array("times_ms", times_ms, ndim=1, dtype=np.float64)
    if times.min() < 0:
        raise ValueError("times_ms must be >= 0")
    input_steps = np.rint(times / (DT_S * 1e3)).astype(np.int64)
    if np.unique(input_steps).size != input_steps.size:
        raise ValueError("times_ms must fall on distinct steps of 0.1 ms")
    weight_mv = check_scalar("weight_mv", weight_mv)
    t_ref_ms = check_scalar("t_ref_ms", t_ref_ms, nonnegative=True)
    end_ms = float(times.max()) + 5.0 if duration_ms is None else duration_ms
    end_ms = check_scalar("duration_ms", end_ms, positive=True)
    n_steps = int(round(end_ms / (DT_S * 1e3)))
    if input_steps.max() >= n_steps:
        raise ValueError(f"times_ms must lie before duration_ms ({end_ms} ms)")

    import brian2
    from brian2 import (
        NeuronGroup,
        SpikeGeneratorGroup,
        SpikeMonitor,
        StateMonitor,
        Synapses,
        ms,
        mV,
    )

    with _brian2_target("numpy", check_dtype_arg(dtype)):
        brian2.start_scope()
        brian2.defaultclock.dt = DT_S * brian2.second
        neuron = NeuronGroup(1, "dv/dt = -v/(20*ms) : volt (unless refractory)",
                             threshold="v > 10*mV", reset="v = 0*mV",
                             refractory=t_ref_ms * ms, method="exact")
        kicks = SpikeGeneratorGroup(1, np.zeros(times.size, dtype=int),
                                    input_steps * DT_S * brian2.second)
        syn = Synapses(kicks, neuron, on_pre="v_post += weight",
                       namespace={"weight": weight_mv * mV})
        syn.connect(i=0, j=0)
        spikes = SpikeMonitor(neuron)
        trace = StateMonitor(neuron, "v", record=0, when="end")
        brian2.Network(neuron, kicks, syn, spikes, trace).run(n_steps * DT_S * brian2.second)
        spike_steps, _ = _spikes(spikes, DT_S)
        v_mv = np.asarray(trace.v_[0], dtype=np.float64) * 1e3
    return RefractoryProbe(spike_steps, v_mv, input_steps, DT_S,
                           int(round(t_ref_ms / (DT_S * 1e3))))


class PoissonInputProbe(NamedTuple):
    """``k`` neurons driven only by a ``PoissonInput``: their spikes (steps, indices; int64)
    and ``v_mv`` (shape ``(k, n_steps)``, ``v`` at the end of every step)."""

    steps: np.ndarray
    indices: np.ndarray
    v_mv: np.ndarray
    dt_s: float
    refractory_steps: int


def brian2_poisson_input_probe(k: int = 20, *, n_inputs: int = 100, rate_hz: float = 100.0,
                               weight_mv: float = 1.0, t_ref_ms: float = 2.0,
                               duration_ms: float = 100.0, seed: int = 0) -> PoissonInputProbe:
    """``k`` neurons as in Brunel_2000.py (``dv/dt = -v/(20 ms) : volt (unless refractory)``,
    threshold ``v > 20 mV``, reset ``v = 10 mV``, refractory ``t_ref_ms``) driven only by
    ``PoissonInput(N=n_inputs, rate=rate_hz, weight=weight_mv)`` onto ``v``; numpy target.
    Shows whether Poisson kicks land during the refractory period (they do not: ``v`` stays
    at the reset value for the whole period)."""
    k = check_scalar("k", k, positive=True, integer=True)
    n_inputs = check_scalar("n_inputs", n_inputs, positive=True, integer=True)
    rate_hz = check_scalar("rate_hz", rate_hz, nonnegative=True)
    weight_mv = check_scalar("weight_mv", weight_mv)
    t_ref_ms = check_scalar("t_ref_ms", t_ref_ms, nonnegative=True)
    duration_ms = check_scalar("duration_ms", duration_ms, positive=True)
    seed = check_scalar("seed", seed, nonnegative=True, integer=True)
    n_steps = int(round(duration_ms / (DT_S * 1e3)))

    import brian2
    from brian2 import Hz, NeuronGroup, PoissonInput, SpikeMonitor, StateMonitor, ms, mV

    with _brian2_target("numpy", np.float64):
        brian2.start_scope()
        brian2.defaultclock.dt = DT_S * brian2.second
        brian2.seed(seed)
        neurons = NeuronGroup(k, "dv/dt = -v/(20*ms) : volt (unless refractory)",
                              threshold="v > 20*mV", reset="v = 10*mV",
                              refractory=t_ref_ms * ms, method="exact")
        drive = PoissonInput(target=neurons, target_var="v", N=n_inputs, rate=rate_hz * Hz,
                             weight=weight_mv * mV)
        spikes = SpikeMonitor(neurons)
        trace = StateMonitor(neurons, "v", record=True, when="end")
        brian2.Network(neurons, drive, spikes, trace).run(n_steps * DT_S * brian2.second)
        steps, indices = _spikes(spikes, DT_S)
        v_mv = np.asarray(trace.v_[:], dtype=np.float64) * 1e3
    return PoissonInputProbe(steps, indices, v_mv, DT_S, int(round(t_ref_ms / (DT_S * 1e3))))
