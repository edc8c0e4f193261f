r"""``song_abbott``: Song, Miller & Abbott (2000), competitive Hebbian learning through additive
STDP, as Brian2's example ``examples/synapses/STDP.py``.

One neuron receives ``n_inputs`` (1,000) Poisson inputs at ``rate_hz`` (15 Hz) through
excitatory conductance synapses, with the conductance in units of the leak conductance:

.. math:: \tau_m \dot v = (E_l - v) + g_e (E_e - v), \qquad \tau_e \dot g_e = -g_e

tau_m = 10 ms, tau_e = 5 ms, E_l = -74 mV, E_e = 0 mV, threshold -54 mV, reset -60 mV, no
refractory period; a presynaptic spike adds its weight ``w`` to ``g_e``. The weights start
uniform in ``[0, gmax]`` (gmax = 0.01) and learn by additive all-to-all STDP with traces of
20 ms: a pair with the post spike ``dt`` after the pre spike changes ``w`` by
``+A_+ exp(-dt / 20 ms)``, the reverse order by ``-A_- exp(-dt / 20 ms)``,
``A_+ = a_pre gmax``, ``A_- = 1.05 A_+`` (a_pre = 0.01), ``w`` clipped to ``[0, gmax]``
(:class:`~neurosim.network.STDP`). Depression slightly outweighs potentiation, so the inputs
compete: the weights end bimodal, most near 0 and a minority near gmax, and the output rate
falls from its initial value to a lower stable one.

Differences from Brian2's example, none in the rule: ``v`` integrates by exponential Euler
(the example: forward Euler) and starts at E_l (the example: at 0 V, so its neuron fires in
the first step).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neurosim.checks import check_scalar
from neurosim.gallery import Model
from neurosim.network import STDP, Network, PoissonGroup, Population, SpikeMonitor, connect_dense
from neurosim.neurons.lif import LIFParams

SONG_ABBOTT_PARAMS = LIFParams(tau_m_s=0.010, v_rest=-74.0, v_reset=-60.0, v_th=-54.0,
                               r_m=1.0, t_ref_s=0.0)
TAU_EXC_S, E_EXC_MV = 0.005, 0.0
TAU_TRACE_S = 0.020  # taupre = taupost
DEPRESSION_RATIO = 1.05  # A_- / A_+ (with equal time constants)


def stdp_rule(gmax: float, a_pre: float = 0.01) -> STDP:
    """Brian2's example rule: ``A_+ = a_pre gmax``, ``A_- = 1.05 A_+``, traces of 20 ms,
    additive, all-to-all, weights in ``[0, gmax]``."""
    return STDP(tau_pre_s=TAU_TRACE_S, tau_post_s=TAU_TRACE_S, a_plus=a_pre * gmax,
                a_minus=DEPRESSION_RATIO * a_pre * gmax, w_min=0.0, w_max=gmax,
                weight_dependence="additive", traces="all-to-all")


def build(n_inputs: int = 1000, *, rate_hz: float = 15.0, gmax: float = 0.01,
          a_pre: float = 0.01, seed: int = 0, dtype: Any = np.float64, backend: str = "cpu",
          dt_s: float = 1e-4) -> Model:
    """One neuron, ``n_inputs`` Poisson inputs at ``rate_hz`` with plastic synapses (see the
    module docstring); ``gmax`` in units of the leak conductance, ``a_pre`` the learning
    rate relative to ``gmax`` (Brian2's ``dApre`` before its scaling by ``gmax``). ``seed``
    draws the initial weights and the Poisson spikes. The plastic projection is
    ``model.network.projections[0]`` (``net.weights_of`` reads its weights, input ``k``'s
    at ``k``)."""
    n_inputs = check_scalar("n_inputs", n_inputs, positive=True, integer=True)
    rate_hz = check_scalar("rate_hz", rate_hz, nonnegative=True)
    gmax = check_scalar("gmax", gmax, positive=True)
    a_pre = check_scalar("a_pre", a_pre, nonnegative=True)
    seed = check_scalar("seed", seed, nonnegative=True, integer=True)
    rng = np.random.default_rng(seed)
    w0 = rng.uniform(0.0, gmax, (n_inputs, 1))
    inputs = PoissonGroup(n_inputs, rate_hz, seed=seed, name="inputs")
    neuron = Population(1, SONG_ABBOTT_PARAMS, tau_exc_s=TAU_EXC_S,
                        synapse_model="conductance", e_exc=E_EXC_MV, name="neuron")
    projection = connect_dense(inputs, neuron, w0, target="exc",
                               plasticity=stdp_rule(gmax, a_pre))
    monitor = SpikeMonitor(neuron)
    net = Network(dt_s, dtype=dtype, backend=backend).add(inputs, neuron, projection, monitor)
    return Model("song_abbott", net, [neuron], [monitor],
                 {"n_inputs": n_inputs, "rate_hz": rate_hz, "gmax": gmax, "a_pre": a_pre,
                  "seed": seed, "dtype": np.dtype(dtype).name, "backend": backend,
                  "dt_s": dt_s}, "Song, Miller & Abbott (2000): one neuron learning by STDP")
