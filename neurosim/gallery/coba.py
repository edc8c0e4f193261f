r"""``coba``: the conductance-based balanced network of Vogels & Abbott (2005), benchmark 1 of
Brette et al. (2007), as Brian's classic ``COBA.py``.

.. math:: \tau_m \dot v = (E_l - v) + g_e (E_e - v) + g_i (E_i - v) \quad
          \text{(unless refractory)}, \qquad \tau_e \dot g_e = -g_e, \qquad
          \tau_i \dot g_i = -g_i

with the conductances in units of the leak conductance (10 nS); tau_m = 20 ms, tau_e = 5 ms,
tau_i = 10 ms, V_t = -50 mV, V_r = E_l = -60 mV, E_e = 0 mV, E_i = -80 mV, refractory 5 ms,
exponential Euler; 80% excitatory, every pair connected with probability 80 / n (0.02 at
n = 4,000); a spike adds w_e = 0.6 (6 nS) to g_e or w_i = 6.7 (67 nS) to g_i; initial
v uniform in [V_r, V_t], g_e ~ N(4, 1.5), g_i ~ N(20, 12). Activity is self-sustained.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neurosim.checks import check_scalar
from neurosim.gallery import Model
from neurosim.network import Network, Population, SpikeMonitor, connect_fixed_probability
from neurosim.neurons.lif import LIFParams

COBA_PARAMS = LIFParams(tau_m_s=0.020, v_rest=-60.0, v_reset=-60.0, v_th=-50.0, r_m=1.0,
                        t_ref_s=0.005)
TAU_EXC_S, TAU_INH_S, E_EXC_MV, E_INH_MV = 0.005, 0.010, 0.0, -80.0
W_EXC, W_INH = 0.6, 6.7
SYNAPSES_PER_NEURON = 80


def build(n: int = 4000, *, seed: int = 0, dtype: Any = np.float32, backend: str = "cpu",
          dt_s: float = 1e-4, scale: float | None = None) -> Model:
    """The COBA network of ``n`` neurons (``scale`` multiplies 4,000 instead)."""
    if scale is not None:
        n = int(round(4000 * check_scalar("scale", scale, positive=True)))
    n = check_scalar("n", n, positive=True, integer=True)
    if n < 10:
        raise ValueError(f"n must be at least 10 for an 80/20 split, got {n}")
    rng = np.random.default_rng(seed)
    n_exc = int(round(0.8 * n))
    v0 = rng.uniform(COBA_PARAMS.v_reset, COBA_PARAMS.v_th, n)
    ge0 = rng.normal(4.0, 1.5, n)
    gi0 = rng.normal(20.0, 12.0, n)
    pops = [Population(size, COBA_PARAMS, tau_exc_s=TAU_EXC_S, tau_inh_s=TAU_INH_S,
                       synapse_model="conductance", e_exc=E_EXC_MV, e_inh=E_INH_MV,
                       v0=v0[sl], ge0=ge0[sl], gi0=gi0[sl], name=name)
            for size, sl, name in ((n_exc, slice(0, n_exc), "exc"),
                                   (n - n_exc, slice(n_exc, n), "inh"))]
    exc, inh = pops
    p = min(1.0, SYNAPSES_PER_NEURON / n)
    projections = [connect_fixed_probability(pre, post, p, w, target=target,
                                             seed=seed * 10 + k)
                   for k, (pre, post, w, target) in enumerate([
                       (exc, exc, W_EXC, "exc"), (exc, inh, W_EXC, "exc"),
                       (inh, exc, W_INH, "inh"), (inh, inh, W_INH, "inh")])]
    monitors = [SpikeMonitor(exc), SpikeMonitor(inh)]
    net = Network(dt_s, dtype=dtype, backend=backend).add(*pops, *projections, *monitors)
    return Model("coba", net, pops, monitors,
                 {"n": n, "seed": seed, "dtype": np.dtype(dtype).name, "backend": backend,
                  "dt_s": dt_s}, "Vogels & Abbott (2005) COBA: conductance-based synapses")
