"""The scripts of ``benchmarks/`` (not a package) imported as modules, for the tests: the same
loading as ``benchmarks/make_tables.py`` does for the README's tables."""

import importlib.util
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_script(name: str):
    """``benchmarks/<name>`` as a module (its imports of sibling scripts such as ``common``
    work); importing a script runs nothing but definitions."""
    path = BENCHMARKS / name
    spec = importlib.util.spec_from_file_location(f"_bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module
