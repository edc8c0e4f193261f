"""The chunked driver of ``Network.run``: kernel calls, monitor buffers, progress, Ctrl-C."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from neurosim.backends import get_backend
from neurosim.network.monitors import RateMonitor, SpikeMonitor, StateMonitor

if TYPE_CHECKING:
    from neurosim.network.network import Network, NetworkArrays


def _state_monitor_setup(net: Network, arrays: NetworkArrays):
    """One state monitor per kernel call is supported: the first one (others raise)."""
    monitors = [m for m in net.monitors if isinstance(m, StateMonitor)]
    if len(monitors) > 1:
        raise ValueError("at most one StateMonitor per network (record several variables and "
                         "neurons with one)")
    if not monitors:
        return None, np.zeros(0, np.int64), 1
    mon = monitors[0]
    return mon, (mon.recorded + arrays.offsets[id(mon.population)]).astype(np.int64), mon.every


def run_chunks(net: Network, arrays: NetworkArrays, n_steps: int, *, progress: bool,
               chunk_steps: int) -> None:
    kernels = get_backend(net.backend)
    state_mon, state_idx, every = _state_monitor_setup(net, arrays)
    rate_mons = [m for m in net.monitors if isinstance(m, RateMonitor)]
    spike_mons = [m for m in net.monitors if isinstance(m, SpikeMonitor)]
    for mon in net.monitors:
        mon.dt_s = net.dt_s
    capacity = max(_capacity(arrays.n_rec), 1)
    mon_t = np.empty(capacity, np.int64)
    mon_i = np.empty(capacity, np.int32)
    mon_count = np.zeros(1, np.int64)
    state_count = np.zeros(1, np.int64)
    n_pops = len(net.populations) if rate_mons else 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_steps, unit="step", desc="simulating", leave=False,
                   disable=n_steps < 20_000)
    net.interrupted = False
    done = 0
    try:
        while done < n_steps:
            steps = min(chunk_steps, n_steps - done)
            t0 = net.t_steps
            state_buf = np.empty((-(-steps // every) + 1, 3, len(state_idx)), net.dtype)
            rate_buf = np.zeros((steps, n_pops), np.int32)
            start = time.perf_counter()
            ran = kernels.network_run(
                t0, steps, arrays.v, arrays.ge, arrays.gi, arrays.refrac, arrays.fired,
                arrays.fired_words, arrays.i_bias, arrays.timed_i, arrays.pop_bounds,
                arrays.pop_f, arrays.pop_i, arrays.poisson_p, arrays.poisson_seed,
                arrays.gen_ptr, arrays.gen_idx, arrays.grp_indptr, arrays.syn_post,
                arrays.syn_w, arrays.grp_target, arrays.grp_delay, arrays.ring,
                arrays.slot_dirty, arrays.spike_list, arrays.rec_mask, arrays.n_rec, mon_t,
                mon_i, mon_count, state_idx, every, state_buf, state_count, rate_buf)
            net.run_s += time.perf_counter() - start
            _collect(net, arrays, spike_mons, mon_t, mon_i, mon_count)
            if state_mon is not None:
                rows = int(state_count[0])
                first = t0 + (-t0 % every)
                state_mon._append(np.arange(first, t0 + ran, every)[:rows], state_buf[:rows].copy())
                state_count[0] = 0
            for mon in rate_mons:
                p = net.populations.index(mon.population)
                mon._counts.append(rate_buf[:ran, p].copy())
            net.t_steps += ran
            done += ran
            if bar is not None:
                bar.update(ran)
    except KeyboardInterrupt:
        net.interrupted = True
        raise
    finally:
        if bar is not None:
            bar.close()


def _capacity(n_rec: int) -> int:
    return max(1 << 20, 4 * n_rec)


def _collect(net, arrays, spike_mons, mon_t, mon_i, mon_count) -> None:
    count = int(mon_count[0])
    mon_count[0] = 0
    if not count:
        return
    steps, sources = mon_t[:count], mon_i[:count]
    order = np.lexsort((sources, steps))  # CUDA collects a step's spikes in any order
    steps, sources = steps[order], sources[order]
    for mon in spike_mons:
        lo = arrays.offsets[id(mon.source)]
        mine = (sources >= lo) & (sources < lo + mon.source.n)
        local = sources[mine] - lo
        keep = np.isin(local, mon.recorded)
        mon._append(steps[mine][keep], local[keep])
