"""Step (4) of the CPU network loop (:mod:`neurosim.kernels.cpu_network`): spikes delivered
event-driven through the CSR groups of synapses, for one range of postsynaptic neurons at a
time (a thread's part), and the marks of the ring-buffer slots they write."""

from __future__ import annotations

import numpy as np
from numba import njit

from neurosim.config import NJIT_OPTIONS
from neurosim.kernels.records import TARGET_EXC, TARGET_V

#: NumPy's error model, as in :mod:`neurosim.kernels.cpu_network`.
_NUMPY_ERRORS = {"error_model": "numpy"}


@njit(inline="always", **NJIT_OPTIONS, **_NUMPY_ERRORS)
def _lower_bound(post, lo, hi, x):
    """The first ``z`` in ``lo..hi`` with ``post[z] >= x`` (``post[lo:hi]`` ascending)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if post[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(inline="always", **NJIT_OPTIONS, **_NUMPY_ERRORS)
def _lower_bound_near(post, lo, hi, x, guess):
    """:func:`_lower_bound`, searched outwards from ``guess`` (steps doubling), then by
    halving inside the bracket found: a few reads near the guess instead of a binary search's
    reads spread over a row of synapses that is rarely in cache."""
    guess = min(max(guess, lo), hi)
    if guess < hi and post[guess] < x:  # the answer is after the guess
        a, b, step = guess + 1, guess + 1, 1
        while b < hi and post[b] < x:
            a = b + 1
            b = a + step
            step *= 2
        return _lower_bound(post, a, min(b, hi), x)
    a, b, step = guess - 1, guess, 1  # the answer is at the guess or before it
    while a >= lo and post[a] >= x:
        b = a
        a = b - step
        step *= 2
    return _lower_bound(post, max(a + 1, lo), b, x)


@njit(inline="always", **NJIT_OPTIONS, **_NUMPY_ERRORS)
def _row_part(post, lo, hi, first, last, n):
    """The synapses ``lo'..hi'-1`` of the row ``lo..hi-1`` (sorted by postsynaptic neuron)
    that feed the neurons ``first..last-1`` of ``n``. The search starts where a row spread
    evenly over the neurons would put each end."""
    if first > 0:
        lo = _lower_bound_near(post, lo, hi, first, lo + (hi - lo) * first // n)
    if last < n:
        hi = _lower_bound_near(post, lo, hi, last, lo + (hi - lo) * last // n)
    return lo, hi


@njit(inline="always", **NJIT_OPTIONS, **_NUMPY_ERRORS)
def _scatter(dest, posts, weights, uniform, value):
    """``dest[posts[z]] += weights[z]`` (or ``value`` when ``uniform``: no weight to read), in
    order. The indices are made unsigned: checked at the boundary, they skip Numba's wrap-around
    of negative ones, a third of the loop's time."""
    if uniform:
        for z in range(posts.shape[0]):
            dest[np.uint32(posts[z])] += value
    else:
        for z in range(posts.shape[0]):
            dest[np.uint32(posts[z])] += weights[z]


@njit(inline="always", **NJIT_OPTIONS, **_NUMPY_ERRORS)
def _direct(synapses, g, delivery):
    """Whether group ``g`` is delivered straight into ``ge``/``gi`` (due now, float sums), not
    through the ring: jumps onto ``v`` always take the ring, since refractory neurons discard
    them in step 5."""
    return synapses.delay[g] == 0 and not delivery.exact and synapses.target[g] != TARGET_V


@njit(inline="always", **NJIT_OPTIONS, **_NUMPY_ERRORS)
def deliver(first, last, n, t, spike_list, n_spk, synapses, delivery, ge, gi):
    """Step (4) for the postsynaptic neurons ``first..last-1``: each spike's synapses in the
    CSR groups, into the ring buffer (slot ``(t + delay) % D``) or, when due now, straight
    into ``ge``/``gi``. Rows are sorted by postsynaptic neuron (:func:`sort_rows`), so a
    part's synapses of a row are one contiguous run; every state entry gets its additions
    in the same order whatever the number of parts (the serial and parallel results are
    equal, bit for bit). Inlined into the loop: a call passing the two records paid their
    reference counts each step (CUBA, 4,000 neurons, one thread: about 9% of a step)."""
    ring = delivery.ring
    depth = ring.shape[0]
    posts, weights = synapses.post, synapses.weight
    for q in range(n_spk):
        s = spike_list[q]
        for g in range(synapses.target.shape[0]):
            lo, hi = _row_part(posts, synapses.indptr[g, s], synapses.indptr[g, s + 1], first,
                               last, n)
            if hi > lo:
                target = synapses.target[g]
                uniform, value = synapses.uniform[g] != 0, synapses.value[g]
                if _direct(synapses, g, delivery):
                    dest = ge if target == TARGET_EXC else gi
                    _scatter(dest, posts[lo:hi], weights[lo:hi], uniform, value)
                    continue
                _scatter(ring[(t + synapses.delay[g]) % depth, target], posts[lo:hi],
                         weights[lo:hi], uniform, value)  # (slot marked by mark_due)


@njit(**NJIT_OPTIONS)
def sort_rows(indptr, post, weight):
    """Sort every CSR row's synapses by postsynaptic neuron, in place (stable: synapses onto
    one neuron keep their order); rows already sorted are left alone. Returns how many rows
    were sorted."""
    changed = 0
    for g in range(indptr.shape[0]):
        for s in range(indptr.shape[1] - 1):
            lo, hi = indptr[g, s], indptr[g, s + 1]
            ordered = True
            for z in range(lo + 1, hi):
                if post[z] < post[z - 1]:
                    ordered = False
                    break
            if ordered:
                continue
            order = np.argsort(post[lo:hi], kind="mergesort")
            post[lo:hi] = post[lo:hi][order]
            weight[lo:hi] = weight[lo:hi][order]
            changed += 1
    return changed


@njit(inline="always", **NJIT_OPTIONS, **_NUMPY_ERRORS)
def mark_due(t, spike_list, n_spk, synapses, delivery):
    """Mark the ring slots that this step's deliveries will write (``delivery.dirty``), before
    they run, on one thread: the parallel parts of :func:`deliver` then write no shared
    flag."""
    depth = delivery.ring.shape[0]
    for g in range(synapses.target.shape[0]):
        if _direct(synapses, g, delivery):
            continue
        target = synapses.target[g]
        slot = (t + synapses.delay[g]) % depth
        if delivery.dirty[slot, target]:
            continue
        for q in range(n_spk):
            s = spike_list[q]
            if synapses.indptr[g, s + 1] > synapses.indptr[g, s]:
                delivery.dirty[slot, target] = 1
                break
