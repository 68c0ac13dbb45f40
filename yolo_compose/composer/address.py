"""Layer specs: the ways a user names layers of a model on the command line.

A SPEC that names one layer is one of:

- an index, ``8``; a negative index counts from the end, ``-1`` is the last layer;
- a module name, ``SPPF``, when the model has exactly one layer of that module;
- a module name with an occurrence, ``C3k2:2`` (the second C3k2, counting from 1), ``C3k2:-1``
  or ``C3k2:last`` (the last one); an ambiguous bare name is refused rather than guessed;
- ``backbone``: the last layer of the backbone.

A section qualifier counts within one section: ``head:C3k2:2`` is the second C3k2 of the head,
``backbone:SPPF`` the backbone's only SPPF. A SPEC that selects several layers (for ``insert``,
whose ``--after``/``--before`` take them) ends in ``:all``: ``C3k2:all`` is every C3k2,
``head:C3k2:all`` every C3k2 of the head, ``backbone:Conv:all`` every Conv of the backbone.

Module names match exactly first, then ignoring case. Every failure raises
:class:`~yolo_compose.errors.LayerSpecError` listing what would be valid.
"""

from __future__ import annotations

import difflib
import re

from ..errors import LayerSpecError
from .spec import SECTIONS, Layer, ModelSpec

SPEC_FORMS = (
    "an index (8, -1), a module name (SPPF), Module:k (C3k2:2, C3k2:last) or `backbone`, "
    "optionally in one section (head:C3k2:2); several layers: Module:all (C3k2:all, head:C3k2:all)"
)

_INDEX = re.compile(r"^[+-]?\d+$")
ALL = "all"


def resolve_layer(spec: ModelSpec, text: str) -> Layer:
    """The one layer of `spec` that the SPEC `text` names; raises LayerSpecError otherwise."""
    layers = resolve_layers(spec, text)
    if len(layers) != 1:
        indices = ", ".join(str(layer.index) for layer in layers)
        problem = f"selects {len(layers)} layers ({indices}); name one layer here"
        raise _spec_error(spec, text.strip(), problem)
    return layers[0]


def resolve_layers(spec: ModelSpec, text: str) -> list[Layer]:
    """The layers of `spec` that the SPEC `text` selects (one, or every match of ``...:all``)."""
    text = text.strip()
    if not text:
        raise _spec_error(spec, text, "empty spec")
    section, rest = _split_section(text)
    if section is None:
        if _INDEX.match(text):
            return [_by_index(spec, text)]
        if text.lower() == "backbone":
            return [spec.layers[spec.backbone_length - 1]]
    pool = [layer for layer in spec.layers if section is None or layer.section == section]
    name, sep, occurrence = rest.rpartition(":")
    if not sep:
        name, occurrence = rest, ""
    name = name.strip()
    if sep and occurrence.strip().lower() == ALL:
        return _found(spec, pool, text, name, section)
    return [_by_module(spec, pool, text, name, occurrence.strip() if sep else None, section)]


def _split_section(text: str) -> tuple[str | None, str]:
    """(section, the rest) for ``head:C3k2:2``; (None, text) without a section qualifier."""
    first, sep, rest = text.partition(":")
    if sep and first.strip().lower() in SECTIONS and rest.strip():
        return first.strip().lower(), rest.strip()
    return None, text


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


def _module_names(layers: list[Layer]) -> list[str]:
    """Distinct module names of the layers, in order of first appearance."""
    return list(dict.fromkeys(layer.module for layer in layers))


def _matching(layers: list[Layer], name: str) -> list[Layer]:
    """Layers whose module is `name`: exact matches if any, else case-insensitive ones."""
    exact = [layer for layer in layers if layer.module == name]
    if exact:
        return exact
    folded = name.casefold()
    return [layer for layer in layers if layer.module.casefold() == folded]


def _found(spec: ModelSpec, pool: list[Layer], text: str, name: str, section: str | None) -> list[Layer]:
    """Every layer of `pool` using module `name`; an error naming the modules there when none does."""
    found = _matching(pool, name)
    if not found:
        names = _module_names(pool)
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        where = f"the {section}" if section else "this model"
        in_section = f" in the {section}" if section else ""
        problem = f"no layer{in_section} uses module {name!r}{hint}; modules in {where}: {', '.join(names)}"
        raise _spec_error(spec, text, problem)
    return found


def _by_module(
    spec: ModelSpec, pool: list[Layer], text: str, name: str, occurrence: str | None, section: str | None
) -> Layer:
    """A layer by module name and optional occurrence (1-based, negative or `last` from the end)."""
    found = _found(spec, pool, text, name, section)
    indices = ", ".join(str(layer.index) for layer in found)
    label = f"{section}:{found[0].module}" if section else found[0].module
    choices = f"{label}:1..{label}:{len(found)} or {label}:last"
    where = f" in the {section}" if section else ""
    if occurrence is None:
        if len(found) == 1:
            return found[0]
        raise _spec_error(
            spec,
            text,
            f"{found[0].module} occurs {len(found)} times{where} (layers {indices}); say which: {choices}",
        )
    number = _occurrence_number(occurrence, len(found))
    if number is None:
        raise _spec_error(
            spec,
            text,
            f"occurrence {occurrence!r} is not valid; {found[0].module} occurs {len(found)} times{where} "
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
