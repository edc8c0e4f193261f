import itertools

import numpy as np
import pytest

import neurosim as ns
from tests import naive

TRUTH = {
    "AND": lambda a, b: a & b,
    "OR": lambda a, b: a | b,
    "NAND": lambda a, b: 1 - (a & b),
    "XOR": lambda a, b: a ^ b,
}


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_two_input_gates_match_boolean_logic(name):
    tables = ns.gate_truth_tables()
    pairs = itertools.product((0, 1), (0, 1))
    assert tables[name] == [((a, b), TRUTH[name](a, b)) for a, b in pairs]


def test_not_gate_and_wide_and():
    assert ns.gate_truth_tables()["NOT"] == [((0,), 1), ((1,), 0)]
    patterns, outputs = ns.and_gate(4).truth_table()
    assert np.array_equal(outputs[:, 0], patterns.all(axis=1))


def test_absolute_inhibition_vetoes_any_excitation():
    net = ns.MPNetwork.from_units(["e1", "e2", "e3", "i"],
                                  {"u": ns.MPUnit(1, {"e1": 5, "e2": 5, "e3": 5}, ["i"])})
    patterns, outputs = net.truth_table()
    expected = patterns[:, :3].any(axis=1) & ~patterns[:, 3]
    assert np.array_equal(outputs[:, 0], expected)


def test_xor_needs_two_steps_to_settle():
    net = ns.xor_network()
    assert net.depth() == 2
    states = net.run(np.broadcast_to([[0, 1]], (2, 1, 2)))
    xor = net.unit_names.index("xor")
    assert not states[0, 0, xor]  # the hidden layer has not reached the output yet
    assert states[1, 0, xor]


def test_latch_remembers_a_pulse_until_reset():
    net = ns.sr_latch()
    assert net.depth() is None  # recurrent
    q = [q for _, _, q in ns.neurons.mcculloch_pitts.iter_latch_demo(net)]
    assert q == [0, 1, 1, 1, 0, 0, 0, 1, 1]


def test_kernel_matches_naive_on_random_recurrent_network():
    rng = np.random.default_rng(1)
    n_in, n, steps, batch = 5, 30, 12, 7
    exc = rng.integers(0, 3, (n_in + n, n)).astype(float) * (rng.random((n_in + n, n)) < 0.3)
    inh = rng.random((n_in + n, n)) < 0.05
    thr = rng.integers(1, 4, n).astype(float)
    net = ns.MPNetwork(tuple(f"x{i}" for i in range(n_in)), tuple(f"u{j}" for j in range(n)),
                       exc, inh, thr, ("u0",))
    inputs = rng.random((steps, batch, n_in)) < 0.5
    state0 = rng.random((batch, n)) < 0.3
    got = net.run(inputs, initial_state=state0)
    assert np.array_equal(got, naive.mp_run(inputs, state0, exc, inh, thr))
    assert got[1:].any() and not got.all()  # the case is not trivial


@pytest.mark.parametrize("bad, err", [
    (lambda n: n.run(np.zeros((2, 1, 3))), ValueError),          # wrong input width
    (lambda n: n.run(np.full((2, 1, 2), 2)), ValueError),        # not binary
    (lambda n: n.run(np.zeros((2, 2))), ValueError),             # wrong ndim
    (lambda n: n.run(np.full((2, 1, 2), 0.5)), ValueError),      # not binary floats
    (lambda n: n.run("0101"), TypeError),
    (lambda n: n.run(np.zeros((1, 2, 2)), initial_state=np.zeros((3, 3))), ValueError),
])
def test_bad_input_is_rejected(bad, err):
    with pytest.raises(err):
        bad(ns.xor_network())


def test_bad_wiring_is_rejected():
    with pytest.raises(ValueError, match="unknown excitatory source"):
        ns.MPNetwork.from_units(["a"], {"u": ns.MPUnit(1, {"b": 1})})
    with pytest.raises(ValueError, match=">= 0"):
        ns.MPNetwork.from_units(["a"], {"u": ns.MPUnit(1, {"a": -1})})
    with pytest.raises(ValueError, match="must not be empty"):
        ns.MPNetwork.from_units(["a"], {})
