"""Removing a single-input layer: its consumers read its input, every later index shifts back."""

from __future__ import annotations

from ..address import resolve_layer
from ..layout import apply_patches
from ..spec import INPUT, Layer, ModelSpec
from .checks import check_editable, check_remove
from .output import output_name, source_name
from .refs import renumber_comments, rewrite_refs
from .result import REASON_READS_INPUT, EditResult, EditStep
from .rows import removal_patches


def remove_layer(spec: ModelSpec, target_spec: str | int) -> EditResult:
    """Remove the single-input layer a SPEC names; its consumers read its input. Edits `spec`."""
    target = resolve_layer(spec, str(target_spec))
    check_editable(spec)
    check_remove(spec, target)
    removed = target.index
    source = target.sources[0]

    def shift(i: int) -> int:
        return i if i == INPUT or i < removed else i - 1

    def rewire(layer: Layer, _position: int, read: int) -> int | None:
        return shift(source) if read == removed else None

    rewired, patches = rewrite_refs(spec, shift, rewire, reason=REASON_READS_INPUT, skip=target)
    patches += removal_patches(spec, target)
    index_map = {layer.index: shift(layer.index) for layer in spec.layers if layer is not target}
    renumbered = renumber_comments(spec, index_map)
    row = list(target.row)
    source_text = spec.text
    spec.replace_text(apply_patches(spec.text, patches + renumbered))
    return EditResult(
        spec=spec,
        source_text=source_text,
        action="remove",
        target=removed,
        target_module=target.module,
        placement="",
        removed_index=removed,
        row=row,
        index_map=index_map,
        rewired=rewired,
        comments_renumbered=len(renumbered),
        default_output_name=output_name(source_name(spec), f"no{removed}"),
        steps=[EditStep("remove", "", "", removed, target.module, (), (row,))],
    )
