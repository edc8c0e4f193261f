"""The network's state, declared once: a few records of named arrays that the kernels receive.

Every record is a ``NamedTuple`` of arrays (and a few scalars): Numba compiles attribute access
on it (``neurons.v[i]``, ``synapses.weight[k]``) for the CPU and CUDA targets alike, and a
CUDA kernel takes a record of device arrays as one argument. :mod:`neurosim.network.build`
fills them from the user's objects; :mod:`neurosim.kernels.cpu_network` and
:mod:`neurosim.kernels.cuda_network` run the time loop over them.

Adding a state variable is: a field here, the line of ``network/build.py`` that fills it, and
the rule of :mod:`neurosim.kernels.scalar` that uses it. Indices: ``N`` neurons, ``P``
populations, ``S = N + Np + Ng`` spike sources (neurons, then Poisson sources, then spike-time
sources), ``G`` synapse groups (one per synapse target and delay), ``D`` ring-buffer depth.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

#: Synapse targets, the state variable a synapse group adds its weights to.
TARGET_EXC = 0  # ge, the excitatory synaptic current
TARGET_INH = 1  # gi, the inhibitory synaptic current
TARGET_V = 2  # v itself (a voltage jump)
TARGET_NAMES = ("exc", "inh", "v")


class Populations(NamedTuple):
    """Per population (P): the neuron model's constants for this step size."""

    bounds: np.ndarray  # (P + 1,) int64: population p owns neurons bounds[p]..bounds[p+1]-1
    v_th: np.ndarray  # (P,) state dtype
    v_reset: np.ndarray
    v_rest: np.ndarray
    r_m: np.ndarray
    decay_m: np.ndarray  # exp(-dt / tau_m) (leaky), 1 (IF)
    gain: np.ndarray  # r_m dt / tau_m (the IF neuron's input gain)
    k_exc: np.ndarray  # what ge adds to v per step
    k_inh: np.ndarray
    decay_exc: np.ndarray  # exp(-dt / tau_exc)
    decay_inh: np.ndarray
    leaky: np.ndarray  # (P,) uint8
    subtract: np.ndarray  # (P,) uint8: reset by subtraction
    ref_steps: np.ndarray  # (P,) int64: steps skipped after a spike step
    conductance: np.ndarray  # (P,) uint8: ge/gi are conductances (COBA), else currents
    e_exc: np.ndarray  # (P,) reversal potentials of the conductances (COBA)
    e_inh: np.ndarray
    dt_over_tau: np.ndarray  # (P,) dt / tau_m
    g_leak: np.ndarray  # (P,) 1: the unit of the conductances (COBA)
    buffer_input: np.ndarray  # (P,) uint8: keep jumps onto v during refractoriness (NEST)
    theta_plus: np.ndarray  # (P,) float64: what a spike adds to the adaptive threshold theta
    decay_theta: np.ndarray  # (P,) float64: exp(-dt / tau_theta), 1 without decay


class Neurons(NamedTuple):
    """Per neuron (N): the dynamic state and the constant drive."""

    v: np.ndarray  # (N,) state dtype
    ge: np.ndarray  # (N,) excitatory synaptic current
    gi: np.ndarray  # (N,) inhibitory synaptic current
    refrac: np.ndarray  # (N,) int32: refractory steps left + 1 (see network_neuron_update)
    held: np.ndarray  # (N,) input kept during refractoriness (NEST's refractory_input)
    theta: np.ndarray  # (N,) float64 adaptive threshold: a neuron fires above v_th + theta
    fired: np.ndarray  # (N rounded up to 8,) uint8: spiked this step
    fired_words: np.ndarray  # the same memory as uint64: eight flags tested at once
    population: np.ndarray  # (N,) int32: the population of each neuron
    i_bias: np.ndarray  # (N,) constant input current
    timed_i: np.ndarray  # (T_i, N) input current per step (the last row holds afterwards)


class SpikeSources(NamedTuple):
    """Spikes that come from outside the neurons."""

    poisson_p: np.ndarray  # (Np,) float64: spike probability per step
    poisson_seed: np.ndarray  # (1,) uint64: the counter-based generator's key
    gen_step: np.ndarray  # (S,) int64: the steps in which spike-time sources spike, ascending
    gen_ptr: np.ndarray  # (S + 1,) int64: CSR over those steps into gen_idx
    gen_idx: np.ndarray  # (spikes,) int32: source index (from 0 = first spike-time source)


class Drives(NamedTuple):
    """Per Poisson drive (K, Brian2's ``PoissonInput``): ``n`` independent Poisson sources
    onto every neuron of a range, drawn as one binomial count per neuron and step
    (:func:`neurosim.kernels.scalar_network.binomial_count`), times ``weight``, added to
    ``target``."""

    population: np.ndarray  # (K,) int64: the population driven
    lo: np.ndarray  # (K,) int64: its first neuron
    hi: np.ndarray  # (K,) int64: one past the last neuron
    n: np.ndarray  # (K,) int64: sources per neuron
    p: np.ndarray  # (K,) float64: spike probability of one source per step
    thresholds: np.ndarray  # (K, L) uint64: the count's distribution (binomial_count)
    weight: np.ndarray  # (K,) float64
    target: np.ndarray  # (K,) int64: TARGET_EXC, TARGET_INH or TARGET_V
    key: np.ndarray  # (K,) uint64: the counter-based generator's key of this drive
    key2: np.ndarray  # (K,) uint64: a second key (the normal approximation's second uniform)


class SynapseGroups(NamedTuple):
    """Per group (G) of synapses with one target, one delay and one weight class, CSR over
    sources."""

    indptr: np.ndarray  # (G, S + 1) int64
    post: np.ndarray  # (synapses,) int32: the neuron each synapse feeds
    weight: np.ndarray  # (synapses,) float32, or int64 multiples of Delivery.quantum (exact)
    target: np.ndarray  # (G,) int64: TARGET_EXC, TARGET_INH or TARGET_V
    delay: np.ndarray  # (G,) int64: delay in steps
    uniform: np.ndarray  # (G,) uint8: every synapse of the group has the weight ``value``
    value: np.ndarray  # (G,) the weight of a uniform group (the type of ``weight``)


class Plasticity(NamedTuple):
    """Plastic projections (Q) and their synapses (Z), with the traces of STDP
    (:mod:`neurosim.kernels.scalar_plasticity`).

    Plastic synapses are not merged into :class:`SynapseGroups`: their weights change, and a
    postsynaptic spike walks the synapses that reach its neuron (``post_ptr``/``post_syn``).
    A presynaptic spike acts when it arrives, ``delay`` steps after it was emitted: the
    sources that spiked in each of the last ``DP`` steps are kept (``spike_hist``), and so
    are the presynaptic traces (``pre1``/``pre2``, one row per step), because the trace a
    synapse with delay ``d`` sees at step ``t`` is its source's trace at ``t - d``.
    ``DP`` = the longest plastic delay + 2. Lanes (L) are (projection, delay) pairs, each a
    CSR over spike sources.
    """

    pre_lo: np.ndarray  # (Q,) int64: first spike source of the projection's presynaptic group
    pre_hi: np.ndarray  # (Q,) int64: one past its last
    post_lo: np.ndarray  # (Q,) int64: first neuron of the postsynaptic population
    post_hi: np.ndarray  # (Q,) int64
    pre_base: np.ndarray  # (Q,) int64: the projection's first column of pre1/pre2
    post_base: np.ndarray  # (Q,) int64: its first entry of post1/post2 and post_ptr
    target: np.ndarray  # (Q,) int64: TARGET_EXC, TARGET_INH or TARGET_V
    enabled: np.ndarray  # (Q,) uint8: weights change (0: frozen; traces run on)
    decay_pre: np.ndarray  # (Q,) float64, see scalar_plasticity.STDPConstants
    decay_post: np.ndarray
    decay_x: np.ndarray
    decay_y: np.ndarray
    a_plus: np.ndarray
    a_minus: np.ndarray
    a3_plus: np.ndarray
    a3_minus: np.ndarray
    w_min: np.ndarray
    w_max: np.ndarray
    multiplicative: np.ndarray  # (Q,) uint8
    nearest: np.ndarray  # (Q,) uint8
    lane_q: np.ndarray  # (L,) int64: the projection of each lane
    lane_delay: np.ndarray  # (L,) int64
    indptr: np.ndarray  # (L, S + 1) int64: CSR over spike sources into the synapse arrays
    post: np.ndarray  # (Z,) int32: the neuron each synapse feeds
    pre_slot: np.ndarray  # (Z,) int32: its source's column of pre1/pre2
    delay: np.ndarray  # (Z,) int32: its delay in steps
    weight: np.ndarray  # (Z,) float64: the weights, changed by the kernels
    post_ptr: np.ndarray  # (sum of post sizes + 1,) int64: CSR over post1 slots into post_syn
    post_syn: np.ndarray  # (Z,) int64: synapses by postsynaptic neuron
    pre1: np.ndarray  # (DP, pre columns) float64: r1 after each of the last DP steps
    pre2: np.ndarray  # (DP, pre columns) float64: r2
    post1: np.ndarray  # (post slots,) float64: o1
    post2: np.ndarray  # (post slots,) float64: o2
    spike_hist: np.ndarray  # (DP, S + repeats) int32: the spiking sources of the last DP steps
    hist_count: np.ndarray  # (DP,) int64: how many


class Delivery(NamedTuple):
    """Scratch state of spike delivery.

    Two ways to sum the weights that reach a neuron in a step (``Network(accumulate=...)``):
    ``"float"`` adds them in the state's float type, in the order spikes are delivered (fixed
    on the CPU, the order of atomics on CUDA); ``"exact"`` adds them as 64-bit integers in
    units of ``quantum`` (a power of two, 2**-40 of the largest weight, rounded up), so the sum
    does not depend on the order: CPU and CUDA, any thread count, any run, bit for bit.
    """

    ring: np.ndarray  # (D, 3, N): input due in (step % D) per target (float, or int64 exact)
    dirty: np.ndarray  # (D, 3) uint8: the ring row holds something
    spike_list: np.ndarray  # (S,) int32: this step's spiking sources
    exact: bool  # integer accumulation (ring and weights int64)
    quantum: float  # state dtype: what one integer unit is worth (1 in float mode)


class Recorders(NamedTuple):
    """Monitor buffers, filled by one kernel call (a chunk of steps) and emptied by the host."""

    spike_mask: np.ndarray  # (S,) uint8: the source is watched by a spike monitor
    n_watched: int  # spike_mask.sum(): a step records at most this many spikes
    spike_step: np.ndarray  # (capacity,) int64
    spike_source: np.ndarray  # (capacity,) int32
    counters: np.ndarray  # (COUNTERS,) int64, see the COUNT_* names
    state_index: np.ndarray  # (M,) int64: neurons whose state is recorded
    state_slot: np.ndarray  # (N,) int32: position in state_index, or -1
    state_every: int  # record the state every this many steps
    state_v: np.ndarray  # (rows, M) state dtype
    state_ge: np.ndarray
    state_gi: np.ndarray
    rate: np.ndarray  # (chunk steps, P) int32 spikes per population and step, or (.., 0)


#: Recorders.counters: spike-monitor entries written, state rows written, steps done, and
#: (CUDA) the spikes of the current step.
COUNT_SPIKES = 0
COUNT_STATE_ROWS = 1
COUNT_STEPS_DONE = 2
COUNT_STEP_SPIKES = 3
COUNTERS = 4


class Readout(NamedTuple):
    """What the host reads back after one kernel call: host copies of the filled parts."""

    steps_done: int
    spike_step: np.ndarray
    spike_source: np.ndarray
    state_v: np.ndarray
    state_ge: np.ndarray
    state_gi: np.ndarray
    rate: np.ndarray


def readout(rec: Recorders, counters: np.ndarray, copy: Any) -> Readout:
    """The filled parts of ``rec`` (host or device arrays), through ``copy`` (array -> host
    array): spike entries, state rows and rate rows of the steps done."""
    spikes, rows, done = (int(counters[COUNT_SPIKES]), int(counters[COUNT_STATE_ROWS]),
                          int(counters[COUNT_STEPS_DONE]))
    return Readout(done, copy(rec.spike_step[:spikes]), copy(rec.spike_source[:spikes]),
                   copy(rec.state_v[:rows]), copy(rec.state_ge[:rows]),
                   copy(rec.state_gi[:rows]), copy(rec.rate[:done]))


class Clock(NamedTuple):
    """The steps one kernel call runs: ``t_start`` .. ``t_start + n_steps - 1``."""

    t_start: int
    n_steps: int


class NetworkRecords(NamedTuple):
    """Every record of one network: what a backend uploads once and runs chunk after chunk."""

    populations: Populations
    neurons: Neurons
    sources: SpikeSources
    drives: Drives
    synapses: SynapseGroups
    delivery: Delivery
    recorders: Recorders
    plasticity: Plasticity


def map_arrays(record: Any, function: Any) -> Any:
    """A copy of a (nested) record with ``function`` applied to every array field (used to
    upload records to a device and to download them)."""
    values = []
    for value in record:
        if isinstance(value, tuple):
            values.append(map_arrays(value, function))
        elif getattr(value, "ndim", 0) > 0:
            values.append(function(value))
        else:
            values.append(value)
    return type(record)(*values)
