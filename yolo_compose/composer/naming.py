"""The YOLO model-name grammar and the scale rule: the one place either is written down.

Ultralytics reads a model's scale from its file name (``ultralytics.nn.tasks.guess_model_scale``)
and finds the YAML of a scaled name by dropping the letter (``yaml_model_load``). The grammar it
uses, on a file's stem::

    name   := anything family [scale] rest
    family := "yolo" ["e-"] ["v"] digits        yolo11, yolov8, yoloe-v8, yoloe-11, yolo26
    scale  := "n" | "s" | "m" | "l" | "x"        right after the digits: yolo11n, yolov8s-p2

The scale is the letter after the *first* family in the stem that is followed by one
(``my-yolo11n-halo`` → n, ``yolov5nu`` → n, ``yolov8-p2`` → none, ``YOLO11n`` → none: the match
is case-sensitive, as ultralytics' is). :func:`guess_scale` is that rule; a property test holds it
to ultralytics' own function. The scale a build uses is :func:`choose_scale`.

Nothing here imports torch or ultralytics.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

#: The scale letters ultralytics knows, in its order.
SCALES = ("n", "s", "m", "l", "x")

_FAMILY = r"yolo(?:e-)?v?\d+"
_SCALE = "[" + "".join(SCALES) + "]"
#: The family and the scale letter after it, anywhere in a stem (ultralytics' guess_model_scale).
_SCALE_IN_NAME = re.compile(rf"({_FAMILY})({_SCALE})")
#: A name that starts with a family, with or without its letter, up to the end or a separator.
_LEADING_FAMILY = re.compile(rf"^({_FAMILY})({_SCALE})?(?=$|[-_.])")
#: A stem that starts with a family: (family, the rest), for the per-scale names of a bundled YAML.
_FAMILY_STEM = re.compile(rf"^({_FAMILY})(.*)$")
#: yaml_model_load's "unified" name: the scale letter after the first digits dropped.
_UNIFIED = re.compile(rf"(\d+){_SCALE}(.+)?$")
#: yaml_model_load's legacy P6 names (yolov8n6 → yolov8n-p6).
_LEGACY_P6 = re.compile(rf"(\d+)({_SCALE})6(.+)?$")
_LEGACY_P6_STEMS = frozenset(f"yolov{d}{x}6" for x in SCALES for d in (5, 8))


def guess_scale(name: str | Path) -> str:
    """The scale letter ultralytics takes from a model file name ('' when there is none)."""
    match = _SCALE_IN_NAME.search(Path(name).stem)
    return match.group(2) if match else ""


def choose_scale(
    scales: Iterable[str], *, requested: str | None = None, name: str | Path | None = None,
    trained: str | None = None, written: str | None = None,
) -> str:
    """The scale a build uses: the one requested, else the letter of the file name, else the scale
    a checkpoint's model was trained at (`trained`, when weights are carried), else the YAML's own
    ``scale:`` (what ultralytics reads when it builds from a dict rather than a file), else the
    first of `scales` ('' when the model has none).

    The answer may be missing from `scales` (``yolo11x-mine.yaml`` with only n and s): ultralytics
    then fails, and so must the caller, each in its own words.
    """
    from_name = guess_scale(name) if name else ""
    return requested or from_name or trained or written or next(iter(scales), "")


def scaled_name(name: str, scale: str | None) -> str:
    """A yolo model name with `scale` as its letter (``yolo11n``, s -> ``yolo11s``); others unchanged."""
    match = _LEADING_FAMILY.match(name) if scale else None
    return f"{match.group(1)}{scale}{name[match.end():]}" if match else name


def per_scale_names(stem: str) -> list[str]:
    """The scaled names of a bundled YAML's stem (``yolov8-p2`` → ``yolov8n-p2`` ...).

    Empty for a stem outside the grammar or one that already names a variant (``yolov10b``, ``yolov9c``).
    """
    match = _FAMILY_STEM.match(stem)
    if match is None or match.group(2)[:1].isalpha():
        return []
    return [f"{match.group(1)}{scale}{match.group(2)}" for scale in SCALES]


def unified_stem(stem: str) -> str:
    """The stem yaml_model_load falls back to: the scale letter dropped (``yolo11n`` → ``yolo11``)."""
    return _UNIFIED.sub(r"\1\2", stem)


def legacy_p6_stem(stem: str) -> str:
    """yaml_model_load's rename of the old P6 names (``yolov8n6`` → ``yolov8n-p6``); others unchanged."""
    return _LEGACY_P6.sub(r"\1\2-p6\3", stem) if stem in _LEGACY_P6_STEMS else stem
