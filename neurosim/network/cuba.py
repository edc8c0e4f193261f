"""The CUBA network (Vogels & Abbott 2005; Brette et al. 2007, benchmark 2).

LIF neurons (tau_m 20 ms, V_t -50 mV, V_r -60 mV, E_l -49 mV, refractory 5 ms) with
exponentially decaying synaptic currents (tau_e 5 ms, tau_i 10 ms); 80% excitatory, 20%
inhibitory; every pair connected with probability ``80 / N`` (80 synapses per neuron on
average), w_e = 1.62 mV, w_i = -9 mV; initial V uniform in [V_r, V_t]; dt 0.1 ms. With
E_l above threshold, activity is self-sustained: no external input.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neurosim.checks import check_scalar
from neurosim.network.memory import BYTES_PER_SYNAPSE, check_fits
from neurosim.network.monitors import RateMonitor, SpikeMonitor
from neurosim.network.network import Network
from neurosim.network.populations import BYTES_PER_UNIT, Population
from neurosim.network.projections import connect_fixed_probability
from neurosim.neurons.lif import LIFParams

CUBA_PARAMS = LIFParams(tau_m_s=0.020, v_rest=-49.0, v_reset=-60.0, v_th=-50.0, r_m=1.0,
                        t_ref_s=0.005)
TAU_EXC_S = 0.005
TAU_INH_S = 0.010
W_EXC_MV = 1.62
W_INH_MV = -9.0
SYNAPSES_PER_NEURON = 80


def build_cuba(n: int = 4000, *, seed: int = 0, dtype: Any = np.float32, backend: str = "cpu",
               dt_s: float = 1e-4, record_spikes: bool = True) -> tuple[Network, dict]:
    """Build the CUBA network of ``n`` neurons; returns ``(network, monitors)`` where monitors
    has ``"spikes"`` (a SpikeMonitor, when ``record_spikes``) and ``"rate"`` (a RateMonitor)."""
    n = check_scalar("n", n, positive=True, integer=True)
    if n < 10:
        raise ValueError(f"n must be at least 10 for an 80/20 split, got {n}")
    check_fits(n * (BYTES_PER_UNIT + SYNAPSES_PER_NEURON * BYTES_PER_SYNAPSE),
               f"the CUBA network of {n:,} neurons")
    rng = np.random.default_rng(seed)
    n_exc = int(round(0.8 * n))
    v0 = rng.uniform(CUBA_PARAMS.v_reset, CUBA_PARAMS.v_th, n)
    exc = Population(n_exc, CUBA_PARAMS, tau_exc_s=TAU_EXC_S, tau_inh_s=TAU_INH_S,
                     v0=v0[:n_exc], name="exc")
    inh = Population(n - n_exc, CUBA_PARAMS, tau_exc_s=TAU_EXC_S, tau_inh_s=TAU_INH_S,
                     v0=v0[n_exc:], name="inh")
    p = min(1.0, SYNAPSES_PER_NEURON / n)
    projections = [
        connect_fixed_probability(pre, post, p, w, target=target, seed=seed * 10 + k)
        for k, (pre, post, w, target) in enumerate([
            (exc, exc, W_EXC_MV, "exc"), (exc, inh, W_EXC_MV, "exc"),
            (inh, exc, W_INH_MV, "inh"), (inh, inh, W_INH_MV, "inh")])
    ]
    net = Network(dt_s, dtype=dtype, backend=backend).add(exc, inh, *projections)
    monitors: dict[str, Any] = {"rate_exc": RateMonitor(exc), "rate_inh": RateMonitor(inh),
                                "exc": exc, "inh": inh}
    net.add(monitors["rate_exc"], monitors["rate_inh"])
    if record_spikes:
        monitors["spikes_exc"] = SpikeMonitor(exc)
        monitors["spikes_inh"] = SpikeMonitor(inh)
        net.add(monitors["spikes_exc"], monitors["spikes_inh"])
    return net, monitors


def mean_rate_hz(monitors: dict) -> float:
    """Mean firing rate over both populations."""
    counts = monitors["rate_exc"].spike_counts.sum() + monitors["rate_inh"].spike_counts.sum()
    n = monitors["exc"].n + monitors["inh"].n
    steps = len(monitors["rate_exc"].spike_counts)
    return float(counts / (n * steps * monitors["rate_exc"].dt_s))


def isi_cv(steps: np.ndarray, indices: np.ndarray) -> float:
    """Mean coefficient of variation of the inter-spike intervals over neurons with >= 3
    spikes (spike steps and indices as a spike monitor records them)."""
    order = np.lexsort((steps, indices))
    steps, indices = steps[order], indices[order]
    cvs = []
    bounds = np.flatnonzero(np.diff(indices)) + 1
    for train in np.split(steps, bounds):
        if len(train) >= 3:
            isi = np.diff(train).astype(float)
            cvs.append(isi.std() / isi.mean())
    return float(np.mean(cvs)) if cvs else float("nan")
