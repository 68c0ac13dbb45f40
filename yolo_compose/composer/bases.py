"""Resolve a base model: a bundled ultralytics name (``yolo11n``, ``yolov8n-p2``) or a file.

The bundled YAMLs are the bridge's (:mod:`yolo_compose.integration.installed`, found on disk
without executing ultralytics) and are resolved with the same rules as
ultralytics' ``yaml_model_load``: ``yolov8n6`` → ``yolov8n-p6``, ``yolov5nu`` → ``yolov5n``,
then the exact file name, then the name with the scale letter removed (``yolo11n`` → ``yolo11``).
The scale letter comes from the name, as ultralytics' ``guess_model_scale`` takes it; the name
grammar is :mod:`.naming`'s.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from ..errors import UnknownBaseError
from ..integration.installed import bundled_models, ultralytics_root
from .naming import guess_scale, legacy_p6_stem, per_scale_names, unified_stem


@dataclass(frozen=True)
class Base:
    """A resolved base: where its YAML lives, the name to show, and the scale its name implies."""

    path: Path
    name: str  # e.g. "yolo11n" for a bundled name, the file stem for a file
    scale: str  # "" when the name carries no scale letter
    bundled: bool


def bundled_names() -> list[str]:
    """Names a user can pass as a base: each bundled stem, plus per-scale names where it scales."""
    names: set[str] = set()
    for stem in bundled_models():
        names.add(stem)
        names.update(per_scale_names(stem))
    return sorted(names)


def _bundled_stem(name: str) -> str | None:
    """Map a user's model name to the stem of the bundled YAML that ultralytics would load."""
    models = bundled_models()
    stem = legacy_p6_stem(name[:-5] if name.endswith(".yaml") else name)
    if ("yolov3" in stem or "yolov5" in stem) and stem.endswith("u"):
        stem = stem[:-1]  # yolov5nu -> yolov5n: the bundled v5 YAML is the anchor-free 'u' model
    if stem in models:
        return stem
    unified = unified_stem(stem)
    return unified if unified in models else None


def resolve_base(name_or_path: str | Path) -> Base:
    """Resolve a base argument to a YAML file; an unknown name lists the closest bundled names."""
    text = str(name_or_path)
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():  # a FIFO or device too: reading it says what it is
        return Base(path=path, name=path.stem, scale=guess_scale(path), bundled=False)
    looks_like_path = "/" in text or "\\" in text or text.endswith((".yaml", ".yml"))
    stem = _bundled_stem(Path(text).name) if not ("/" in text or "\\" in text) else None
    if stem is not None:
        display = Path(text).name.removesuffix(".yaml")
        return Base(path=bundled_models()[stem], name=display, scale=guess_scale(display), bundled=True)
    if ultralytics_root() is None and not looks_like_path:
        raise UnknownBaseError(f"base {text!r}: ultralytics is not installed, so no bundled models")
    close = difflib.get_close_matches(Path(text).name.removesuffix(".yaml"), bundled_names(), n=5)
    hint = f"; did you mean: {', '.join(close)}?" if close else ""
    what = "no such file" if looks_like_path else "not a bundled ultralytics model nor a file"
    raise UnknownBaseError(f"base {text!r}: {what}{hint}")
