"""Refusals made before any patch: a scale the file lacks, rows behind aliases, bad targets."""

from __future__ import annotations

from ...errors import EditError, Location
from ...integration.roles import HEAD_MODULES
from ..spec import INPUT, Layer, ModelSpec


def check_scale(spec: ModelSpec, scale: str | None) -> None:
    """A requested scale must be one the model defines (or n/s/m/l/x for depth/width models)."""
    valid = list(spec.scales) or ["n", "s", "m", "l", "x"]
    if scale is not None and scale not in valid:
        raise EditError(
            f"scale {scale!r} is not defined by this model; valid: {', '.join(valid)}", path=spec.source
        )


def check_editable(spec: ModelSpec) -> None:
    """A text patch edits one place: refuse layer lists where a YAML alias makes one node two rows."""
    if spec.aliased:
        raise EditError("the layer lists use YAML anchors/aliases: an edit of one row would change every "
                        "copy of it; write the rows out to edit this file", path=spec.source)


def check_insert_after(spec: ModelSpec, target: Layer) -> None:
    """Nothing can follow a prediction head: its output is not a feature map."""
    if target.module in HEAD_MODULES:
        raise EditError(
            f"cannot insert after {target.module}: it is the model's output head; "
            "insert after one of its inputs instead "
            f"({', '.join(str(s) for s in target.sources)})",
            path=spec.source,
            line=target.line,
            layer=target.index,
        )


def check_remove(spec: ModelSpec, target: Layer) -> None:
    """Only a single-input layer that is not the head, in a section that keeps a row, can go."""
    where: Location = {"path": spec.source, "line": target.line, "layer": target.index}
    if target.module in HEAD_MODULES:
        raise EditError(f"cannot remove {target.module}: it is the model's output head", **where)
    if target.is_multi_input:
        raise EditError(
            f"cannot remove {target.module}: it reads several layers {target.refs}, "
            "so its consumers would have no single input to read",
            **where,
        )
    if len(spec.section_node(target.section).value) == 1:
        raise EditError(f"cannot remove {target.module}: it is the only row of `{target.section}`", **where)
    if target.sources[0] == INPUT:
        late = [c.index for c in spec.consumers(target.index) if c.index != target.index + 1]
        if late:
            raise EditError(
                f"cannot remove {target.module}: layers {late} would read the input image", **where
            )
