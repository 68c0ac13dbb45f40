"""Where the installed ultralytics lives and the model YAMLs it ships, found without importing it.

``importlib.util.find_spec`` locates the package without executing it, so the static commands
(``insert --no-build``, ``diff``, ``validate``) read ultralytics' files and never pay its import.
"""

from __future__ import annotations

import importlib.util
from functools import cache, lru_cache
from pathlib import Path


@cache
def package_dir(name: str) -> Path | None:
    """Folder of an installed package (``ultralytics``, ``torch``), found without importing it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def ultralytics_root() -> Path | None:
    """The installed ultralytics package folder, found without importing ultralytics."""
    return package_dir("ultralytics")


@lru_cache(maxsize=1)
def bundled_models() -> dict[str, Path]:
    """Every model YAML shipped with ultralytics, keyed by file stem (``yolo11``, ``yolov8-p2``)."""
    root = ultralytics_root()
    if root is None:
        return {}
    files = sorted((root / "cfg" / "models").rglob("*.yaml"))
    return {path.stem: path for path in files}
