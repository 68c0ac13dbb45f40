"""Edits of a base by name or path: resolve it, load it, edit it, name the output."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..bases import Base, resolve_base
from ..files import STDIN, read_input
from ..spec import ModelSpec
from .checks import check_scale
from .insert import insert_layer, insert_layers
from .output import output_name
from .remove import remove_layer
from .result import EditResult

if TYPE_CHECKING:
    from ...modules.registry import ModuleSpec

def compose_insert(
    base: str | Path,
    module: ModuleSpec | str,
    *,
    after: str | int | Sequence[str | int] | None = None,
    before: str | int | Sequence[str | int] | None = None,
    args: list[Any] | None = None,
    scale: str | None = None,
) -> EditResult:
    """Resolve a base (bundled name or file), load it and insert `module`; nothing is written.

    `after` and `before` each take one SPEC or a list of them (every one addressing the base's
    layers). `scale` only shapes the default output name (ultralytics takes the scale from the
    file name).
    """
    resolved, spec = load_base(base)
    check_scale(spec, scale)
    afters, befores = _spec_list(after), _spec_list(before)
    if len(afters) + len(befores) == 1:
        result = insert_layer(spec, module, after=afters[0] if afters else None,
                              before=befores[0] if befores else None, args=args)
    else:
        result = insert_layers(spec, module, after=afters, before=befores, args=args)
    result.base = resolved
    result.default_output_name = output_name(resolved.name, result.module.name, scale)  # type: ignore[union-attr]
    return result


def _spec_list(value: str | int | Sequence[str | int] | None) -> list[str | int]:
    """One SPEC, a list of them, or none, as a list."""
    if value is None:
        return []
    if isinstance(value, (str, int)):
        return [value]
    return list(value)


def note_unfilled_resolution(edit: EditResult) -> None:
    """With --no-build, say which trained-size args kept their defaults (only a build can fill them).

    A resolution arg is the feature-map size at the insertion point (imgsz // stride); without a
    build the stride is unknown, so the module's default stands in the written row.
    """
    found = []
    for index in sorted(set(edit.inserted) | set(edit.replaced)):
        module = edit.module_at(index) or edit.module
        args = list(edit.spec.layers[index].args)
        unfilled = [] if module is None else [
            f"{arg.name}={args[i]!r}" for i, arg in enumerate(module.args) if arg.resolution and i < len(args)
        ]
        if unfilled:
            found.append((index, ", ".join(unfilled)))
    if not found:
        return
    listed = found[0][1] if len(found) == 1 else "; ".join(f"layer {i}: {args}" for i, args in found)
    edit.warnings.append(
        f"not built, so the trained-size args keep their defaults ({listed}); "
        "a build fills them from the image size and the stride at the insertion point"
    )


def compose_remove(base: str | Path, target: str | int, *, scale: str | None = None) -> EditResult:
    """Resolve a base, load it and remove the layer a SPEC names; nothing is written."""
    resolved, spec = load_base(base)
    check_scale(spec, scale)
    result = remove_layer(spec, target)
    result.base = resolved
    result.default_output_name = output_name(resolved.name, f"no{result.removed_index}", scale)
    return result


def load_base(base: str | Path) -> tuple[Base, ModelSpec]:
    """The resolved base and its spec; ``-`` reads stdin. Errors name the base as the user gave it.

    A bundled base is shown by its name (``yolo11n``), never by its path in site-packages.
    """
    if str(base) == STDIN:
        text, shown = read_input(STDIN)
        return Base(path=Path(shown), name="model", scale="", bundled=False), ModelSpec.from_text(text, shown)
    resolved = resolve_base(base)
    text, _path = read_input(resolved.path)
    shown = resolved.name if resolved.bundled else str(base)
    return resolved, ModelSpec.from_text(text, source=shown)
