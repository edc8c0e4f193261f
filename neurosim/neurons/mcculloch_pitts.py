r"""McCulloch-Pitts threshold units (1943): binary states, excitatory weights, absolute inhibition.

All units update synchronously. With sources :math:`s = [x_t, y_t]` (external inputs, then the
units' own states), unit :math:`j` at the next step is

.. math::

    y_{t+1, j} = \Big[\, \textstyle\sum_i w_{ij} s_i \ge \theta_j \,\Big] \cdot
                 \prod_{i \in \mathrm{inh}(j)} (1 - s_i)

so any active inhibitory source silences the unit (absolute inhibition). A feed-forward circuit
of depth :math:`d` settles after :math:`d` steps under constant input; a recurrent circuit (a
latch, say) keeps state from step to step.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurosim.backends import get_backend
from neurosim.checks import check_array, check_scalar


@dataclass(frozen=True)
class MPUnit:
    """One unit: threshold, excitatory sources with weights (>= 0), inhibitory sources."""

    threshold: float
    excitatory: Mapping[str, float] = field(default_factory=dict)
    inhibitory: Sequence[str] = ()


@dataclass(frozen=True)
class MPNetwork:
    """A McCulloch-Pitts network as arrays over sources ``[inputs..., units...]``.

    Build one with :meth:`from_units`; ``exc_weights`` (n_inputs + n_units, n_units) >= 0,
    ``inh_mask`` of the same shape (bool), ``threshold`` (n_units,).
    """

    input_names: tuple[str, ...]
    unit_names: tuple[str, ...]
    exc_weights: np.ndarray
    inh_mask: np.ndarray
    threshold: np.ndarray
    outputs: tuple[str, ...]

    @classmethod
    def from_units(cls, inputs: Sequence[str], units: Mapping[str, MPUnit],
                   outputs: Sequence[str] | None = None) -> MPNetwork:
        """Wire named units; sources are input or unit names. Raises ``ValueError`` on unknown
        names, duplicate names, negative or non-finite weights and an empty network."""
        inputs = tuple(inputs)
        names = tuple(units)
        if not names:
            raise ValueError("units must not be empty")
        sources = inputs + names
        if len(set(sources)) != len(sources):
            raise ValueError(f"input and unit names must be unique, got {sources}")
        index = {name: i for i, name in enumerate(sources)}
        exc = np.zeros((len(sources), len(names)))
        inh = np.zeros((len(sources), len(names)), np.bool_)
        threshold = np.empty(len(names))
        for j, name in enumerate(names):
            unit = units[name]
            threshold[j] = check_scalar(f"units[{name!r}].threshold", unit.threshold)
            for src, weight in unit.excitatory.items():
                if src not in index:
                    raise ValueError(f"unit {name!r}: unknown excitatory source {src!r}")
                exc[index[src], j] = check_scalar(f"weight {src}->{name}", weight,
                                                  nonnegative=True)
            for src in unit.inhibitory:
                if src not in index:
                    raise ValueError(f"unit {name!r}: unknown inhibitory source {src!r}")
                inh[index[src], j] = True
        outputs = tuple(outputs) if outputs is not None else names[-1:]
        for out in outputs:
            if out not in names:
                raise ValueError(f"output {out!r} is not a unit name")
        return cls(inputs, names, exc, inh, threshold, outputs)

    @property
    def n_inputs(self) -> int:
        return len(self.input_names)

    @property
    def n_units(self) -> int:
        return len(self.unit_names)

    def depth(self) -> int | None:
        """Longest input-to-unit path (steps to settle), or ``None`` if the net is recurrent."""
        n_in = self.n_inputs
        links = (self.exc_weights[n_in:] > 0) | self.inh_mask[n_in:]  # unit -> unit
        depth = np.ones(self.n_units, int)
        for _ in range(self.n_units + 1):
            nxt = np.ones(self.n_units, int)
            for j in range(self.n_units):
                pre = np.flatnonzero(links[:, j])
                if pre.size:
                    nxt[j] = 1 + depth[pre].max()
            if np.array_equal(nxt, depth):
                return int(depth.max())
            depth = nxt
        return None

    def run(self, inputs: Any, *, initial_state: Any = None, backend: str = "cpu") -> np.ndarray:
        """Run ``T`` synchronous steps for ``B`` input patterns at once.

        Parameters
        ----------
        inputs : array (T, B, n_inputs) of 0/1 (bool or int)
        initial_state : array (B, n_units) of 0/1, optional (all silent when omitted)
        backend : {"cpu", "cuda", "auto"}

        Returns
        -------
        states : bool array (T, B, n_units), the units' states after each step.
        """
        inputs = _check_binary("inputs", inputs, ndim=3)
        n_steps, n_batch, n_in = inputs.shape
        if n_in != self.n_inputs:
            raise ValueError(f"inputs must have {self.n_inputs} columns (the network's inputs "
                             f"{self.input_names}), got shape {inputs.shape}")
        if initial_state is None:
            state = np.zeros((n_batch, self.n_units), np.uint8)
        else:
            state = _check_binary("initial_state", initial_state, ndim=2).copy()
            if state.shape != (n_batch, self.n_units):
                raise ValueError(f"initial_state must have shape {(n_batch, self.n_units)}, "
                                 f"got {state.shape}")
        states = np.empty((n_steps, n_batch, self.n_units), np.uint8)
        get_backend(backend).mp_run(inputs, state, np.ascontiguousarray(self.exc_weights),
                                    self.inh_mask.astype(np.uint8), self.threshold, states)
        return states.view(np.bool_)

    def evaluate(self, patterns: Any, *, steps: int | None = None,
                 backend: str = "cpu") -> np.ndarray:
        """Outputs (B, n_outputs) after holding each pattern (B, n_inputs) for ``steps`` steps
        (default: the circuit's depth). Recurrent circuits need ``steps``."""
        patterns = _check_binary("patterns", patterns, ndim=2)
        steps = self.depth() if steps is None else check_scalar("steps", steps, positive=True,
                                                                integer=True)
        if steps is None:
            raise ValueError("this network is recurrent: pass steps=")
        states = self.run(np.broadcast_to(patterns, (steps, *patterns.shape)), backend=backend)
        cols = [self.unit_names.index(o) for o in self.outputs]
        return states[-1][:, cols]

    def truth_table(self, *, backend: str = "cpu") -> tuple[np.ndarray, np.ndarray]:
        """All ``2**n_inputs`` input patterns and the outputs they settle to."""
        patterns = np.array(list(itertools.product([0, 1], repeat=self.n_inputs)), np.uint8)
        return patterns.astype(bool), self.evaluate(patterns, backend=backend)


def _check_binary(name: str, value: Any, ndim: int) -> np.ndarray:
    arr = check_array(name, value, ndim=ndim, kind="f")  # bool, int or float 0/1
    if not np.isin(arr, (0, 1)).all():
        raise ValueError(f"{name} must hold only 0/1 (or False/True) values")
    return np.ascontiguousarray(arr, dtype=np.uint8)


# ---------------------------------------------------------------------------------------------
# Ready-made circuits
# ---------------------------------------------------------------------------------------------


def and_gate(n_inputs: int = 2) -> MPNetwork:
    names = [f"x{i + 1}" for i in range(n_inputs)]
    return MPNetwork.from_units(names, {"and": MPUnit(n_inputs, dict.fromkeys(names, 1.0))})


def or_gate(n_inputs: int = 2) -> MPNetwork:
    names = [f"x{i + 1}" for i in range(n_inputs)]
    return MPNetwork.from_units(names, {"or": MPUnit(1, dict.fromkeys(names, 1.0))})


def not_gate() -> MPNetwork:
    """Threshold 0 with the input as inhibition: fires unless the input is on."""
    return MPNetwork.from_units(["x"], {"not": MPUnit(0, {}, ["x"])})


def nand_gate() -> MPNetwork:
    """AND followed by NOT (a single unit with absolute inhibition cannot compute NAND)."""
    return MPNetwork.from_units(["x1", "x2"], {
        "and": MPUnit(2, {"x1": 1, "x2": 1}),
        "nand": MPUnit(0, {}, ["and"]),
    })


def xor_network() -> MPNetwork:
    """Two layers: ``x1 OR x2`` excites the output, ``x1 AND x2`` vetoes it."""
    return MPNetwork.from_units(["x1", "x2"], {
        "or": MPUnit(1, {"x1": 1, "x2": 1}),
        "and": MPUnit(2, {"x1": 1, "x2": 1}),
        "xor": MPUnit(1, {"or": 1}, ["and"]),
    })


def sr_latch() -> MPNetwork:
    """Set-reset latch: ``q`` is excited by ``set`` and by itself, and vetoed by ``reset``.

    It remembers a one-step pulse on ``set`` until a pulse on ``reset``: state, not just logic.
    """
    return MPNetwork.from_units(["set", "reset"], {
        "q": MPUnit(1, {"set": 1, "q": 1}, ["reset"]),
    })


GATES = {
    "AND": and_gate,
    "OR": or_gate,
    "NOT": not_gate,
    "NAND": nand_gate,
    "XOR": xor_network,
}


def gate_truth_tables(backend: str = "cpu") -> dict[str, list[tuple[tuple[int, ...], int]]]:
    """Truth tables of the ready-made gates: ``{name: [(inputs, output), ...]}``."""
    tables = {}
    for name, build in GATES.items():
        patterns, outputs = build().truth_table(backend=backend)
        tables[name] = [(tuple(int(v) for v in p), int(o[0])) for p, o in zip(patterns, outputs)]
    return tables


def iter_latch_demo(net: MPNetwork | None = None) -> Iterable[tuple[int, int, int]]:
    """(set, reset, q) for a pulse sequence on the SR latch: set, hold, reset, hold."""
    net = net or sr_latch()
    pulses = np.array([[0, 0], [1, 0], [0, 0], [0, 0], [0, 1], [0, 0], [0, 0], [1, 0], [0, 0]],
                      np.uint8)
    states = net.run(pulses[:, None, :])[:, 0, 0]
    for (s, r), q in zip(pulses, states):
        yield int(s), int(r), int(q)
