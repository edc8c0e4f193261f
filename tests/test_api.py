"""The package face (issue 11, item 7): ``import neurosim as ns`` reaches every subpackage, and
``ns.convert(model, data)`` converts while ``ns.convert`` stays the package with its options."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_fresh(code: str) -> str:
    """Run ``code`` in a fresh interpreter (nothing imported beforehand by other tests)."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_subpackages_without_extra_imports_and_import_stays_light():
    out = run_fresh(
        "import sys\nimport neurosim as ns\n"
        "print('torch' in sys.modules)\n"
        "print(ns.network.Network.__name__, ns.network.connect_fixed_probability.__name__)\n"
        "print(ns.datasets.load.__name__, ns.zoo.load_pretrained.__name__)\n"
        "print(ns.convert.ConversionOptions.__name__, callable(ns.convert))\n"
        "print(sorted(set(ns.SUBPACKAGES) - set(dir(ns))))\n")
    lines = out.splitlines()
    assert lines[0] == "False"  # importing neurosim does not load PyTorch
    assert lines[1] == "Network connect_fixed_probability"
    assert lines[2] == "load load_pretrained"
    assert lines[3] == "ConversionOptions True"
    assert lines[4] == "[]"


def test_unknown_attribute_is_a_clear_error():
    import neurosim as ns

    with pytest.raises(AttributeError, match="no attribute 'netwrok'"):
        ns.netwrok  # noqa: B018


def test_ns_convert_is_convert():
    torch = pytest.importorskip("torch")
    import neurosim as ns
    from neurosim.convert import convert

    data = ns.datasets.load("digits", flat=False)
    model = ns.zoo.load_pretrained("digits_mlp")
    calib = torch.from_numpy(data.x_train[:200])
    a = ns.convert(model, calib, normalization="max")
    b = convert(model, calib, normalization="max")
    assert ns.convert.__call__.__doc__ == convert.__doc__
    x = data.x_test[:20]
    np.testing.assert_array_equal(a.predict(x, timesteps=8), b.predict(x, timesteps=8))
    with pytest.raises(TypeError, match="torch.nn.Module"):
        ns.convert("not a model", calib)
