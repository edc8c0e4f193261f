"""The package's layering (docs/ARCHITECTURE.md): every import points down the layers, and no
two modules import each other, directly or around a circle. Imports inside functions and under
``TYPE_CHECKING`` count too: a lazy import is still an arrow."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "neurosim"

#: Lowest first. A module may import modules of its own layer or of layers below it.
LAYERS = (
    ("neurosim.config",),
    ("neurosim.kernels",),
    ("neurosim.checks", "neurosim.backends"),
    ("neurosim.neurons",),
    ("neurosim.network",),
    ("neurosim.convert",),
    ("neurosim.interop",),
    ("neurosim.datasets_images", "neurosim.datasets", "neurosim.datasets_text", "neurosim.zoo",
     "neurosim.plot"),
    ("neurosim.gallery",),
    ("neurosim.studies",),
    ("neurosim.cli", "neurosim.__main__"),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in ROOT.rglob("*.py")}


def layer_of(module: str) -> int | None:
    for level, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return level
    return None


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """The neurosim modules ``module`` imports (``from neurosim import x`` names the submodule
    ``neurosim.x`` when there is one)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
    return {m for m in found if m.startswith("neurosim") and m != module}


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {m: {i for i in imports_of(m, p, known) if i in known} for m, p in mods.items()}


def test_every_module_has_a_layer():
    missing = [m for m in modules() if m != "neurosim" and layer_of(m) is None]
    assert not missing, f"modules without a layer in tests/test_layers.py: {missing}"


def test_imports_point_down():
    upward = [f"{m} (layer {layer_of(m)}) imports {i} (layer {layer_of(i)})"
              for m, targets in graph().items() if m != "neurosim"
              for i in targets if i != "neurosim" and layer_of(i) > layer_of(m)]
    assert not upward, "imports pointing up the layers:\n" + "\n".join(sorted(upward))


def test_library_never_imports_the_package_face():
    """``neurosim/__init__.py`` re-exports the library; modules import what they need directly
    (importing the face from inside would tie every module to every other)."""
    offenders = [m for m, targets in graph().items()
                 if "neurosim" in targets and layer_of(m) is not None
                 and layer_of(m) < layer_of("neurosim.studies")]
    assert not offenders, offenders


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in list(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    edges = {m: t - {"neurosim"} for m, t in graph().items() if m != "neurosim"}
    assert _cycles(edges) == []


def test_the_cycle_finder_finds_cycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("path", sorted(ROOT.rglob("*.py")), ids=lambda p: module_name(p))
def test_modules_stay_small(path):
    assert len(path.read_text().splitlines()) <= 420, f"{path} is over ~400 lines: split it"
