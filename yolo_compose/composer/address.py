"""Layer specs: the ways a user names one layer of a model on the command line.

A SPEC is one of:

- an index, ``8``; a negative index counts from the end, ``-1`` is the last layer;
- a module name, ``SPPF``, when the model has exactly one layer of that module;
- a module name with an occurrence, ``C3k2:2`` (the second C3k2, counting from 1), ``C3k2:-1``
  or ``C3k2:last`` (the last one); an ambiguous bare name is refused rather than guessed;
- ``backbone``: the last layer of the backbone.

Module names match exactly first, then ignoring case. Every failure raises
:class:`~yolo_compose.errors.LayerSpecError` listing what would be valid.
"""

from __future__ import annotations

import difflib
import re

from ..errors import LayerSpecError
from .spec import Layer, ModelSpec

SPEC_FORMS = "an index (8, -1), a module name (SPPF), Module:k (C3k2:2, C3k2:last) or `backbone`"

_INDEX = re.compile(r"^[+-]?\d+$")


def resolve_layer(spec: ModelSpec, text: str) -> Layer:
    """The one layer of `spec` that the SPEC `text` names; raises LayerSpecError otherwise."""
    text = text.strip()
    if not text:
        raise _spec_error(spec, text, "empty spec")
    if _INDEX.match(text):
        return _by_index(spec, text)
    if text.lower() == "backbone":
        return spec.layers[spec.backbone_length - 1]
    name, sep, occurrence = text.rpartition(":")
    if not sep:
        name, occurrence = text, ""
    return _by_module(spec, text, name.strip(), occurrence.strip() if sep else None)


def _valid_range(spec: ModelSpec) -> str:
    """The index forms valid for this model, e.g. '0..23 (or -24..-1)'."""
    count = len(spec.layers)
    return f"0..{count - 1} (or -{count}..-1)"


def _spec_error(spec: ModelSpec, text: str, problem: str) -> LayerSpecError:
    """An error for a bad SPEC that says what went wrong and lists the valid forms."""
    return LayerSpecError(
        f"layer spec {text!r}: {problem}; valid: {SPEC_FORMS}; indices {_valid_range(spec)}",
        path=spec.source,
    )


def _by_index(spec: ModelSpec, text: str) -> Layer:
    """A layer by its global index; negative indices count from the end."""
    index = int(text)
    count = len(spec.layers)
    if not -count <= index < count:
        raise _spec_error(spec, text, f"index out of range for a model with {count} layers")
    return spec.layers[index]


def _module_names(spec: ModelSpec) -> list[str]:
    """Distinct module names of the model, in order of first appearance."""
    return list(dict.fromkeys(layer.module for layer in spec.layers))


def _matching(spec: ModelSpec, name: str) -> list[Layer]:
    """Layers whose module is `name`: exact matches if any, else case-insensitive ones."""
    exact = [layer for layer in spec.layers if layer.module == name]
    if exact:
        return exact
    folded = name.casefold()
    return [layer for layer in spec.layers if layer.module.casefold() == folded]


def _by_module(spec: ModelSpec, text: str, name: str, occurrence: str | None) -> Layer:
    """A layer by module name and optional occurrence (1-based, negative or `last` from the end)."""
    found = _matching(spec, name)
    if not found:
        names = _module_names(spec)
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise _spec_error(
            spec, text, f"no layer uses module {name!r}{hint}; modules in this model: {', '.join(names)}"
        )
    indices = ", ".join(str(layer.index) for layer in found)
    choices = f"{found[0].module}:1..{found[0].module}:{len(found)} or {found[0].module}:last"
    if occurrence is None:
        if len(found) == 1:
            return found[0]
        raise _spec_error(
            spec,
            text,
            f"{found[0].module} occurs {len(found)} times (layers {indices}); say which: {choices}",
        )
    number = _occurrence_number(occurrence, len(found))
    if number is None:
        raise _spec_error(
            spec,
            text,
            f"occurrence {occurrence!r} is not valid; {found[0].module} occurs {len(found)} times "
            f"(layers {indices}): {choices}",
        )
    return found[number]


def _occurrence_number(occurrence: str, count: int) -> int | None:
    """0-based position for a 1-based (or negative, or `last`) occurrence, or None if invalid."""
    if occurrence.lower() == "last":
        return count - 1
    if not _INDEX.match(occurrence):
        return None
    number = int(occurrence)
    if 1 <= number <= count:
        return number - 1
    if -count <= number <= -1:
        return count + number
    return None
