"""The module names ultralytics knows, read from its installed source with :mod:`ast` (nothing imported).

A YAML module name is looked up in ``nn/tasks.py``'s globals by ``parse_model``, so a name is a
layer only when it is a class imported from ``ultralytics.nn.modules`` (checked against the class
definitions there); any other global would be *called* with the row's args. ``validate`` checks
every row against these names; a release that moves them changes this file only.
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path

from .installed import package_dir, ultralytics_root

#: Strings ``parse_model`` resolves from its own locals before ``ast.literal_eval``.
PARSE_MODEL_LOCALS = frozenset({"nc", "c2", "ch", "f", "width", "depth", "max_channels", "kpt_shape"})


def _parse_source(path: Path) -> ast.Module | None:
    """Parse a Python file without executing it; None when it is missing or unreadable."""
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None


def _all_list(tree: ast.Module | None) -> set[str]:
    """The string entries of a module's ``__all__`` list (empty when absent)."""
    if tree is None:
        return set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ) and isinstance(node.value, (ast.List, ast.Tuple)):
            elts = node.value.elts
            return {e.value for e in elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return set()


def _tasks_globals(tree: ast.Module) -> dict[str, tuple[str, str]]:
    """Every global a ``globals()[name]`` lookup can find in tasks.py: name -> (kind, origin)."""
    names: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                names[alias.asname or alias.name] = ("import", node.module or "")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = ("module", alias.name)
        elif isinstance(node, ast.ClassDef):
            names[node.name] = ("class", "ultralytics.nn.tasks")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names[node.name] = ("function", "ultralytics.nn.tasks")
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = ("variable", "ultralytics.nn.tasks")
    return names


def _base_modules(tree: ast.Module) -> set[str]:
    """Names in ``parse_model``'s ``base_modules`` set: layers given (c1, c2, ...) channel args."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "parse_model":
            for inner in ast.walk(node):
                if (
                    isinstance(inner, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "base_modules" for t in inner.targets)
                ):
                    return {n.id for n in ast.walk(inner.value) if isinstance(n, ast.Name)} - {"frozenset"}
    return set()


_CLASS_LINE = re.compile(r"^class\s+(\w+)", re.MULTILINE)


def _ultralytics_module_classes(root: Path) -> set[str]:
    """Top-level classes of ``ultralytics/nn/modules/*.py`` (each an nn.Module), by a line scan.

    A regex over ``class Name`` lines gives the same set as :mod:`ast` here and is 25× faster.
    """
    classes: set[str] = set()
    for path in sorted((root / "nn" / "modules").glob("*.py")):
        try:
            classes.update(_CLASS_LINE.findall(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError):
            continue
    return classes


def _describe(kind: str, origin: str) -> str:
    """Human words for a non-layer global of tasks.py."""
    if kind == "class" and origin == "ultralytics.nn.tasks":
        return "a model or helper class of ultralytics.nn.tasks, not a layer"
    if kind == "function":
        return "a function of ultralytics.nn.tasks, not a layer"
    if kind == "module":
        return f"the Python module {origin!r} imported by ultralytics.nn.tasks, not a layer"
    return "a variable of ultralytics.nn.tasks, not a layer"


@lru_cache(maxsize=1)
def ultralytics_names() -> tuple[frozenset[str], frozenset[str], dict[str, str]]:
    """(layers, base_modules, non-layer globals) of the installed ultralytics, read with ``ast``."""
    root = ultralytics_root()
    tree = _parse_source(root / "nn" / "tasks.py") if root is not None else None
    if root is None or tree is None:
        return frozenset(), frozenset(), {}
    module_classes = _ultralytics_module_classes(root)
    layers: set[str] = set()
    non_layers: dict[str, str] = {}
    for name, (kind, origin) in _tasks_globals(tree).items():
        if kind == "import" and origin.startswith("ultralytics.nn.modules") and name in module_classes:
            layers.add(name)
        elif kind == "import":
            non_layers[name] = f"imported by ultralytics.nn.tasks from {origin}, not a layer"
        else:
            non_layers[name] = _describe(kind, origin)
    return frozenset(layers), frozenset(_base_modules(tree) & layers), non_layers


@lru_cache(maxsize=1)
def torch_names() -> tuple[frozenset[str], frozenset[str]]:
    """Module classes under ``nn.`` and ``torchvision.ops.`` read from installed sources."""
    torch_dir = package_dir("torch")
    nn_names = _all_list(_parse_source(torch_dir / "nn" / "modules" / "__init__.py")) if torch_dir else set()
    tv_dir = package_dir("torchvision")
    ops = _all_list(_parse_source(tv_dir / "ops" / "__init__.py")) if tv_dir else set()
    return frozenset(nn_names), frozenset(n for n in ops if n[:1].isupper())
