"""Regenerate the README's tables from the JSON files in ``benchmarks/results/``.

The README marks each generated block with a pair of comments::

    <!-- table: bench_lif.py lif.json -->
    ...generated, do not edit...
    <!-- /table -->

For each block this script imports ``benchmarks/<script>``, loads ``benchmarks/results/<json>``
and replaces the block's body with ``script.render(result)`` (or ``script.<name>(result)`` for
a block marked ``<!-- table: script.py result.json name -->``). ``--check`` changes nothing and
fails when a block differs from what the results file gives (a test runs it), so no figure in
the README can drift from its results file.

    python benchmarks/make_tables.py [--check] [--readme README.md]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BLOCK = re.compile(r"(<!-- table: (\S+) (\S+)(?: (\w+))? -->\n)(.*?)(<!-- /table -->)", re.S)


def _render(script: str, result_file: str, function: str | None = None) -> str:
    path = HERE / script
    spec = importlib.util.spec_from_file_location(f"_bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(HERE))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(HERE))
    result = json.loads((HERE / "results" / result_file).read_text())
    text = getattr(module, function or "render")(result).rstrip("\n") + "\n"
    return text


def regenerate(readme_text: str) -> tuple[str, list[str]]:
    """The README with every block regenerated, and the names of the blocks."""
    names = []

    def replace(match: re.Match) -> str:
        names.append(f"{match.group(2)} {match.group(3)}")
        return (match.group(1) + _render(match.group(2), match.group(3), match.group(4))
                + match.group(6))

    return BLOCK.sub(replace, readme_text), names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a table is out of date")
    parser.add_argument("--readme", default=str(HERE.parent / "README.md"))
    args = parser.parse_args(argv)
    readme = Path(args.readme)
    old = readme.read_text()
    new, names = regenerate(old)
    if args.check:
        if new != old:
            print(f"{readme}: a generated table differs from its results file; "
                  "run python benchmarks/make_tables.py", file=sys.stderr)
            return 1
        print(f"{len(names)} tables up to date")
        return 0
    readme.write_text(new)
    print(f"regenerated {len(names)} tables: " + ", ".join(names))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
