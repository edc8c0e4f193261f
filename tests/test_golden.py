"""Golden outputs recorded before the redesign of issue 10 (``tests/golden/record.py``): the
CUBA network's spikes (float32 and float64), the every-feature network, the converted digits
CNN at T = 4..64, trained perceptrons and LIF traces must stay bit-identical on the CPU."""

import numpy as np
import pytest

from tests.golden import record


@pytest.mark.parametrize("name", sorted(record.RECORDERS))
def test_outputs_equal_the_golden_record(name):
    expected = np.load(record.HERE / f"{name}.npz")
    actual = record.RECORDERS[name]()
    assert sorted(actual) == sorted(expected.files)
    for key in expected.files:
        got, want = np.asarray(actual[key]), expected[key]
        assert got.dtype == want.dtype and got.shape == want.shape, key
        assert np.array_equal(got, want), f"{name}: {key} differs from the golden record"
