"""Cross-checks against Brian2 (``neurosim validate brian2``); the tests assert the same checks.

Each check returns a dict with ``name``, ``passed`` and what was compared. Brian2 runs with its
numpy code-generation target here (no compiler needed).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neurosim import network as nw
from neurosim.neurons.lif import LIFParams, lif_run

DT_S = 1e-4


def _brian2_numpy():
    import brian2 as b2

    b2.start_scope()
    b2.device.reinit()
    b2.device.activate()
    b2.prefs.codegen.target = "numpy"
    return b2


def _spike_set(steps: np.ndarray, idx: np.ndarray) -> set[tuple[int, int]]:
    return set(zip(np.asarray(steps).tolist(), np.asarray(idx).tolist()))


def check_lif_population(n: int = 200, steps: int = 3000, seed: int = 7) -> dict[str, Any]:
    """Independent LIF neurons under constant and step currents: ``lif_run`` vs Brian2, spike
    for spike (reset to value with refractoriness, and reset by subtraction)."""
    from neurosim.interop.brian2 import to_brian2

    rng = np.random.default_rng(seed)
    results = []
    for params in (LIFParams(tau_m_s=0.01, v_th=1.0, v_reset=0.0, t_ref_s=0.002),
                   LIFParams(tau_m_s=0.02, v_rest=-70.0, v_reset=-65.0, v_th=-50.0, r_m=10.0,
                             t_ref_s=0.005, reset="subtract")):
        base = (params.v_th - params.v_rest) / params.r_m
        currents = np.tile(base * rng.uniform(0.5, 3.0, n), (steps, 1))
        currents[steps // 3: 2 * steps // 3] *= rng.uniform(0.0, 2.0, n)  # a step
        ours = lif_run(currents, params, DT_S).spikes
        pop = nw.Population(n, params)
        net = nw.Network(DT_S, dtype=np.float64).add(pop, nw.CurrentInput(pop, currents))
        b2 = _brian2_numpy()
        model = to_brian2(net, steps * DT_S)
        model.network.run(steps * DT_S * b2.second)
        theirs = _spike_set(*model.spike_steps(pop))
        mine = _spike_set(*np.nonzero(ours))
        results.append((len(mine), len(theirs), len(mine & theirs)))
    matched = sum(r[2] for r in results)
    total = sum(max(r[0], r[1]) for r in results)
    return {"name": "lif_population", "neurons": n, "steps": steps,
            "neurosim_spikes": sum(r[0] for r in results),
            "brian2_spikes": sum(r[1] for r in results), "matched_fraction": matched / total,
            "passed": all(r[0] == r[1] == r[2] for r in results)}


def feedforward_network(n: int = 1000, n_inputs: int = 500, seed: int = 1) -> tuple:
    """Poisson inputs -> ``n`` LIF neurons through sparse projections with delays."""
    params = LIFParams(tau_m_s=0.01, v_rest=-65.0, v_reset=-65.0, v_th=-50.0, t_ref_s=0.002)
    pop = nw.Population(n, params, tau_exc_s=0.005, tau_inh_s=0.008, name="target")
    src = nw.PoissonGroup(n_inputs, 20.0, seed=seed)
    rng = np.random.default_rng(seed)
    exc = nw.connect_fixed_probability(src, pop, 0.1, 3.0, target="exc", seed=seed + 1,
                                       delay_steps=5)
    delays = rng.integers(0, 25, n * 10)
    inh = nw.connect_fixed_indegree(src, pop, 10, -1.0, target="inh", seed=seed + 2,
                                    delay_steps=delays)
    monitor = nw.SpikeMonitor(pop)
    net = nw.Network(DT_S, dtype=np.float64).add(pop, src, exc, inh, monitor)
    return net, pop, monitor


def check_feedforward(n: int = 1000, duration_s: float = 0.5) -> dict[str, Any]:
    """The feed-forward network in neurosim and Brian2: share of spikes at the same step."""
    from neurosim.interop.brian2 import to_brian2

    net, pop, monitor = feedforward_network(n)
    b2 = _brian2_numpy()
    model = to_brian2(net, duration_s)
    model.network.run(duration_s * b2.second)
    net.run(duration_s, progress=False)
    mine = _spike_set(monitor.steps, monitor.indices)
    theirs = _spike_set(*model.spike_steps(pop))
    matched = len(mine & theirs) / max(len(mine | theirs), 1)
    return {"name": "feedforward", "neurons": n, "synapses": net.n_synapses,
            "neurosim_spikes": len(mine), "brian2_spikes": len(theirs),
            "matched_fraction": matched, "passed": matched >= 0.999 and len(mine) > 1000}


def check_cuba(n: int = 4000, duration_s: float = 1.0, seed: int = 0) -> dict[str, Any]:
    """The (chaotic) CUBA network: mean rate within 5% and ISI CV within 10% of Brian2's."""
    from neurosim.network.cuba import build_cuba, isi_cv, mean_rate_hz
    from neurosim.studies.peer_benchmarks import brian2_cuba

    net, mons = build_cuba(n, seed=seed, dtype=np.float64)
    net.run(duration_s, progress=False)
    steps = np.concatenate([mons["spikes_exc"].steps, mons["spikes_inh"].steps])
    idx = np.concatenate([mons["spikes_exc"].indices,
                          mons["spikes_inh"].indices + mons["exc"].n])
    ours_rate, ours_cv = mean_rate_hz(mons), isi_cv(steps, idx)
    theirs = brian2_cuba(n, duration_s, seed=seed, target="numpy")
    rate_diff = abs(ours_rate - theirs["brian2_rate_hz"]) / theirs["brian2_rate_hz"]
    cv_diff = abs(ours_cv - theirs["brian2_cv_isi"]) / theirs["brian2_cv_isi"]
    return {"name": "cuba", "neurons": n, "duration_s": duration_s,
            "neurosim_rate_hz": ours_rate, "brian2_rate_hz": theirs["brian2_rate_hz"],
            "rate_rel_diff": rate_diff, "neurosim_cv_isi": ours_cv,
            "brian2_cv_isi": theirs["brian2_cv_isi"], "cv_rel_diff": cv_diff,
            "passed": rate_diff <= 0.05 and cv_diff <= 0.10}


def validate_brian2(*, quick: bool = False) -> list[dict[str, Any]]:
    """Run every cross-check (smaller sizes with ``quick``)."""
    if quick:
        return [check_lif_population(n=50, steps=1500), check_feedforward(n=300,
                                                                            duration_s=0.3),
                check_cuba(n=2000, duration_s=0.5)]
    return [check_lif_population(), check_feedforward(), check_cuba()]
