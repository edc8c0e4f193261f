"""Golden outputs recorded before the redesign of issue 10 (``tests/golden/record.py``): the
CUBA network's spikes (float32 and float64), the every-feature network, the converted digits
CNN at T = 4..64, trained perceptrons and LIF traces must stay bit-identical on the CPU.

One exception: a converted network's output membrane is the running sum of the last layer's
float32 currents, computed by PyTorch's ``F.linear``, whose BLAS kernel (and so summation order)
depends on the CPU's instruction set: on another x86 machine those sums differ in the last
bits (seen: 8e-5 on values up to 4e2). They are compared to 1e-6 of their largest magnitude;
every spike count, SynOps count and prediction stays bit-identical."""

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
        if name.startswith("conversion") and key.endswith("_membrane"):  # see the docstring
            tol = 1e-6 * float(np.abs(want).max())
            np.testing.assert_allclose(got, want, rtol=0, atol=tol, err_msg=f"{name}: {key}")
            continue
        assert np.array_equal(got, want), f"{name}: {key} differs from the golden record"
