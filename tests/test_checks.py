import numpy as np
import pytest

from neurosim.checks import _all_finite, check_array, check_scalar


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [70_001, 262_145, 600_001])  # one call; chunked, odd sizes
@pytest.mark.parametrize("where", [0, 1, 12_345, 262_143, 262_144, -2, -1])  # chunk edges
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_finite_check_finds_every_nonfinite(dtype, size, where, bad):
    if where >= size:
        return
    arr = np.random.default_rng(0).standard_normal(size).astype(dtype)
    assert _all_finite(arr)
    arr[where] = bad
    assert not _all_finite(arr)
    arr[where] = np.finfo(dtype).max  # largest finite value: still finite
    assert _all_finite(arr)


def test_check_scalar_messages_name_the_argument():
    with pytest.raises(ValueError, match="dt_s must be > 0"):
        check_scalar("dt_s", 0.0, positive=True)
    with pytest.raises(TypeError, match="tau must be a real number"):
        check_scalar("tau", True)
    with pytest.raises(ValueError, match="n must be a whole number"):
        check_scalar("n", 2.5, integer=True)


def test_check_array_messages_name_the_argument():
    with pytest.raises(ValueError, match="x must have 2 dimension"):
        check_array("x", np.zeros(3), ndim=2)
    with pytest.raises(TypeError, match="x must be an array of numbers"):
        check_array("x", None)
    with pytest.raises(ValueError, match="x must not be empty"):
        check_array("x", np.zeros((0, 3)))
