"""The package's shape: arrows run one way, and only the bridge knows ultralytics.

Every ``import`` in ``yolo_compose/`` (lazy ones inside functions and ``TYPE_CHECKING`` ones too:
each is an arrow a reader follows) is read with :mod:`ast` and checked against the layers of the
README's Development table, bottom up. Nothing is imported to check it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "yolo_compose"

#: The layers, bottom up, as the README's Development table lists them; a module belongs to the
#: first entry whose prefix it has (exact name, or the name followed by a dot).
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("errors", ("yolo_compose.errors",)),
    ("module catalogue", ("yolo_compose.modules.registry", "yolo_compose.modules.builtin")),
    ("modules", ("yolo_compose.modules",)),
    ("bridge", ("yolo_compose.integration",)),
    ("package", ("yolo_compose",)),  # __init__: the version, and registration on import
    ("composer", ("yolo_compose.composer",)),
    ("torch side", ("yolo_compose.build", "yolo_compose.flops", "yolo_compose.weights",
                    "yolo_compose.validate_build")),
    ("pipelines", ("yolo_compose.pipelines", "yolo_compose.sweep")),
    ("renderers", ("yolo_compose.render",)),
    ("command line", ("yolo_compose.cli", "yolo_compose.__main__")),
]
#: modules/__init__.py is the catalogue's front door (it registers the built-in specs).
CATALOGUE_FRONT = "yolo_compose.modules"
TORCH_LAYERS = {"modules", "bridge", "torch side", "pipelines"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int:
    """Index of the module's layer in :data:`LAYERS`."""
    if module == CATALOGUE_FRONT:
        return 1
    for index, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(f"{p}.") for p in prefixes):
            if prefixes == ("yolo_compose",) and module != "yolo_compose":
                continue
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS and the README's table")


def _own_module(name: str) -> str:
    """The project module an imported name lives in (``a.b.func`` -> ``a.b``)."""
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def imports(module: str) -> Iterator[str]:
    """Every name the module imports, relative imports resolved to absolute ones."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module or ""
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            origin = ".".join([*base, *([node.module] if node.module else [])])
            yield from (f"{origin}.{alias.name}" for alias in node.names)


def arrows(module: str) -> set[str]:
    """The project modules this module imports."""
    return {_own_module(name) for name in imports(module) if name.split(".")[0] == "yolo_compose"} - {module}


def test_every_module_is_in_a_layer() -> None:
    for module in MODULES:
        layer_of(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_or_across_never_up(module: str) -> None:
    mine = layer_of(module)
    upward = {other: LAYERS[layer_of(other)][0] for other in arrows(module) if layer_of(other) > mine}
    assert not upward, f"{module} ({LAYERS[mine][0]}) imports from above: {upward}"


def test_no_cycle_between_sub_packages() -> None:
    def unit(module: str) -> str:
        return ".".join(module.split(".")[:2])

    graph: dict[str, set[str]] = {}
    for module in MODULES:
        graph.setdefault(unit(module), set()).update(unit(o) for o in arrows(module) if unit(o) != unit(module))
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        assert node not in path, f"import cycle: {' -> '.join([*path[path.index(node):], node])}"
        if node in done:
            return
        for other in sorted(graph.get(node, ())):
            visit(other, [*path, node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])


def test_only_the_bridge_imports_ultralytics() -> None:
    importers = {m for m in MODULES if any(n.split(".")[0] == "ultralytics" for n in imports(m))}
    assert importers and all(m.startswith("yolo_compose.integration") for m in importers), sorted(importers)


def test_torch_stays_out_of_the_torch_free_layers() -> None:
    importers = {m for m in MODULES if any(n.split(".")[0] in {"torch", "torchvision"} for n in imports(m))}
    free = {m: LAYERS[layer_of(m)][0] for m in importers if LAYERS[layer_of(m)][0] not in TORCH_LAYERS}
    assert not free, f"torch imported in a torch-free layer: {free}"


def test_the_nn_modules_import_only_torch_and_their_own_helpers() -> None:
    for module in MODULES:
        if LAYERS[layer_of(module)][0] != "modules" or module == CATALOGUE_FRONT:
            continue
        ours = arrows(module)
        assert all(o.startswith("yolo_compose.modules._") for o in ours), f"{module} imports {sorted(ours)}"
