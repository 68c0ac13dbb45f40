"""Templates: recipes bundled with yolo-compose (``yolo_compose/templates/*.yaml``) and the user's own.

A template is a plain recipe file (:mod:`.recipe`). ``apply NAME`` finds it by name: first in the
folders given with ``--templates DIR`` or the ``YOLO_COMPOSE_TEMPLATES`` environment variable
(several folders joined by the path separator), then among the bundled ones; a path to a file is
used as it is. Nothing here imports torch or ultralytics.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import ComposeError
from .recipe import TEMPLATE_PREFIX, Recipe, load_recipe

BUNDLED = Path(__file__).resolve().parent.parent / "templates"
ENV_VAR = "YOLO_COMPOSE_TEMPLATES"


def template_folders(extra: Sequence[str | Path] | None = None) -> list[Path]:
    """Where templates are looked for, first match wins: --templates folders, the env var's, bundled."""
    folders = [Path(p) for p in extra or []]
    folders += [Path(p) for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p]
    return [*folders, BUNDLED]


def find_template(name: str, extra: Sequence[str | Path] | None = None) -> Path | None:
    """The file of template `name` (``NAME.yaml`` in the first folder that has one), or None."""
    for folder in template_folders(extra):
        for suffix in (".yaml", ".yml"):
            candidate = folder / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def all_templates(extra: Sequence[str | Path] | None = None) -> list[Recipe]:
    """Every template by name (a user's folder shadows a bundled template of the same name)."""
    seen: dict[str, Recipe] = {}
    for folder in template_folders(extra):
        if not folder.is_dir():
            continue
        for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
            if path.stem not in seen:
                seen[path.stem] = load_recipe(path, ref=_ref(path))
    return sorted(seen.values(), key=lambda recipe: recipe.name)


def _ref(path: Path) -> str | None:
    """How a provenance line names a bundled template (``template:NAME``); None for a user's file."""
    return f"{TEMPLATE_PREFIX}{path.stem}" if path.parent == BUNDLED else None


def load_named(name_or_path: str, extra: Sequence[str | Path] | None = None) -> Recipe:
    """A recipe from a file path, else the template of that name; one line when neither exists."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return load_recipe(path)
    found = find_template(name_or_path, extra)
    if found is None:
        names = ", ".join(recipe.name for recipe in all_templates(extra)) or "none"
        raise ComposeError(f"recipe {name_or_path!r}: no such file nor template; templates: {names}")
    return load_recipe(found, ref=_ref(found))
