"""Loading the two sides of a diff: a bundled name, a file, or standard input."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..spec import ModelSpec

STDIN = "-"


@dataclass(frozen=True)
class LoadedModel:
    """One side of a diff: the spec, the name to show, the scale its name implies, its text."""

    spec: ModelSpec
    name: str
    scale: str
    text: str


def load_model(argument: str, *, read_stdin: Callable[[], str], shown_as: str | None = None) -> LoadedModel:
    """Load a diff side: ``-`` (stdin), a file, or a bundled ultralytics name such as ``yolo11n``.

    ``shown_as`` replaces the name in reports (git passes temporary files and the real path apart).
    """
    from ..bases import resolve_base
    from ..files import read_input
    from ..naming import guess_scale

    if argument == STDIN:
        name = shown_as or "<stdin>"
        text = read_stdin()
        return LoadedModel(ModelSpec.from_text(text, source=name), name, guess_scale(name), text)
    base = resolve_base(argument)
    text, _shown = read_input(str(base.path))
    name = shown_as or (base.name if base.bundled else argument)
    scale = guess_scale(shown_as) if shown_as else base.scale
    return LoadedModel(ModelSpec.from_text(text, source=name), name, scale, text)


