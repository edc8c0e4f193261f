r"""``brunel2000``: the sparsely connected network of excitatory and inhibitory LIF neurons of
Brunel (2000, J. Comput. Neurosci. 8:183), as Brian2's ``examples/frompapers/Brunel_2000.py``.

.. math:: \tau \dot v = -v \quad \text{(unless refractory)}, \qquad
          v > \theta \Rightarrow v \leftarrow V_r

N_E = 10,000 excitatory and N_I = 2,500 inhibitory neurons (``scale`` multiplies both), each
pair connected with probability epsilon = 0.1 (``connectivity="indegree"``: exactly C_E = 0.1 N_E
excitatory and C_I = 0.1 N_I inhibitory inputs per neuron, as in the paper); tau = 20 ms,
theta = 20 mV, V_r = 10 mV, tau_rp = 2 ms; a spike adds J = 0.1 mV (excitatory) or -g J
(inhibitory) to v after D = 1.5 ms; every neuron receives C_ext = C_E external Poisson inputs at
nu_ext = ``nu_ratio`` nu_thr, nu_thr = theta / (J C_E tau), each adding J
(:class:`~neurosim.network.PoissonInput`). Jumps that arrive while a neuron is refractory are
discarded, as in Brian2 (``refractory_input="buffer"`` keeps them, as NEST can). ``scale`` keeps
epsilon and J, so C_E, C_ext and nu_thr follow N_E: Brian2's example with a smaller N_E.

The four regimes of the paper's Fig. 8: A (g = 3, nu_ratio = 2) synchronous regular,
B (6, 4) synchronous irregular fast, C (5, 2) asynchronous irregular, D (4.5, 0.9) synchronous
irregular slow (:data:`REGIMES`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neurosim.checks import check_choice, check_scalar
from neurosim.gallery import Model
from neurosim.network import (
    Network,
    PoissonInput,
    Population,
    SpikeMonitor,
    connect_fixed_indegree,
    connect_fixed_probability,
)
from neurosim.neurons.lif import LIFParams

TAU_S, THETA_MV, V_RESET_MV, TAU_RP_S = 0.020, 20.0, 10.0, 0.002
J_MV, DELAY_S, EPSILON = 0.1, 0.0015, 0.1
#: The regimes of Brunel (2000) Fig. 8: (g, nu_ext / nu_thr).
REGIMES = {"A": (3.0, 2.0), "B": (6.0, 4.0), "C": (5.0, 2.0), "D": (4.5, 0.9)}


def sizes(scale: float) -> dict[str, Any]:
    """N_E = round(10,000 scale), N_I = round(N_E / 4), C_E = epsilon N_E and C_ext = C_E
    (rounded: a count of sources)."""
    scale = check_scalar("scale", scale, positive=True)
    n_exc = int(round(10_000 * scale))
    if n_exc < 4:
        raise ValueError(f"scale ({scale}) leaves fewer than 4 excitatory neurons")
    c_e = EPSILON * n_exc
    return {"n_exc": n_exc, "n_inh": int(round(0.25 * n_exc)), "c_e": c_e,
            "c_ext": max(1, int(round(c_e)))}


def build(g: float = 5.0, nu_ratio: float = 2.0, *, scale: float = 1.0, seed: int = 0,
          dtype: Any = np.float32, backend: str = "cpu", dt_s: float = 1e-4,
          connectivity: str = "probability", refractory_input: str = "discard") -> Model:
    """Brunel's network with relative inhibition ``g`` and external rate ``nu_ratio`` times
    the threshold rate (see the module docstring)."""
    g = check_scalar("g", g, nonnegative=True)
    nu_ratio = check_scalar("nu_ratio", nu_ratio, nonnegative=True)
    connectivity = check_choice("connectivity", connectivity, ("probability", "indegree"))
    size = sizes(scale)
    params = LIFParams(tau_m_s=TAU_S, v_rest=0.0, v_reset=V_RESET_MV, v_th=THETA_MV, r_m=1.0,
                       t_ref_s=TAU_RP_S)
    exc = Population(size["n_exc"], params, v0=0.0, name="exc",
                     refractory_input=refractory_input)
    inh = Population(size["n_inh"], params, v0=0.0, name="inh",
                     refractory_input=refractory_input)
    delay = int(round(DELAY_S / dt_s))
    projections = []
    for k, (pre, post) in enumerate([(exc, exc), (exc, inh), (inh, exc), (inh, inh)]):
        weight = J_MV if pre is exc else -g * J_MV
        if connectivity == "probability":
            projections.append(connect_fixed_probability(
                pre, post, EPSILON, weight, target="v", delay_steps=delay, seed=seed * 10 + k))
        else:
            projections.append(connect_fixed_indegree(
                pre, post, max(1, int(round(EPSILON * pre.n))), weight, target="v",
                delay_steps=delay, seed=seed * 10 + k))
    nu_thr = THETA_MV / (J_MV * size["c_e"] * TAU_S)
    drives = [PoissonInput(pop, size["c_ext"], nu_ratio * nu_thr, J_MV, "v", seed=seed)
              for pop in (exc, inh)]
    monitors = [SpikeMonitor(exc), SpikeMonitor(inh)]
    net = Network(dt_s, dtype=dtype, backend=backend)
    net.add(exc, inh, *projections, *drives, *monitors)
    return Model("brunel2000", net, [exc, inh], monitors,
                 {"g": g, "nu_ratio": nu_ratio, "scale": scale, "seed": seed,
                  "dtype": np.dtype(dtype).name, "backend": backend, "dt_s": dt_s,
                  "connectivity": connectivity, "refractory_input": refractory_input,
                  "nu_ext_hz": nu_ratio * nu_thr, **size},
                 "Brunel (2000): sparse excitatory-inhibitory LIF network with Poisson drive")
