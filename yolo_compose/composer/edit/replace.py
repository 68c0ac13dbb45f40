"""Replacing a layer's row by a module's row: same index, same ``from``, nothing renumbers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import EditError, Location
from ...integration.roles import HEAD_MODULES
from ..address import resolve_layer
from ..layout import (
    Patch,
    apply_patches,
    flow_text,
    is_spaced,
)
from ..spec import Layer, ModelSpec
from .args import catalogue_entry, checked_args
from .checks import check_editable, check_scale
from .compose import load_base
from .output import output_name, source_name
from .result import EditResult, EditStep

if TYPE_CHECKING:
    from ...modules.registry import ModuleSpec

def replace_layer(
    spec: ModelSpec, target_spec: str | int, module: ModuleSpec | str, *, args: list[Any] | None = None
) -> EditResult:
    """Swap the row of the single-input layer a SPEC names for `module`'s row; edits `spec`.

    Its `from` and index comment stay as written (the new layer has the same index, so nothing
    renumbers and every consumer reads it). Whether the module can produce the replaced layer's
    output channels only a build can tell (:func:`yolo_compose.build.check_replaced_shapes`).
    """
    module_spec = catalogue_entry(module)
    row_args = checked_args(module_spec, args)
    target = resolve_layer(spec, str(target_spec))
    check_editable(spec)
    _check_replace(spec, target, module_spec)
    input_text = spec.text
    repeats, _name, args_node = target.row_node.value[1:]
    spaced = is_spaced(spec.text[slice(*spec.span(target.row_node))])
    new_text = f"1, {module_spec.yaml_name}, {flow_text(list(row_args), spaced=spaced)}"
    start, end = spec.span(repeats)[0], spec.span(args_node)[1]
    spec.replace_text(apply_patches(spec.text, [Patch(start, end, new_text)]))
    row = [target.from_, 1, module_spec.yaml_name, list(row_args)]
    index = target.index
    return EditResult(
        spec=spec,
        action="replace",
        target=index,
        target_module=target.module,
        placement="",
        module=module_spec,
        new_index=index,
        row=row,
        index_map={layer.index: layer.index for layer in spec.layers},
        replaced=[index],
        default_output_name=output_name(source_name(spec), f"{module_spec.name}-for{index}"),
        steps=[EditStep("replace", module_spec.name, "", index, target.module, (index,), (row,))],
        modules_at={index: module_spec},
        source_text=input_text,
    )


def _check_replace(spec: ModelSpec, target: Layer, module: ModuleSpec) -> None:
    """A catalogue module reads one input: the replaced layer must be a single-input, non-head layer."""
    where: Location = {"path": spec.source, "line": target.line, "layer": target.index}
    if target.module in HEAD_MODULES:
        raise EditError(f"cannot replace {target.module}: it is the model's output head", **where)
    if target.is_multi_input:
        raise EditError(
            f"cannot replace {target.module} with {module.yaml_name}: it reads several layers {target.refs} "
            f"and {module.yaml_name} reads one; insert it after one of them instead",
            **where,
        )


def compose_replace(
    base: str | Path,
    target: str | int,
    module: ModuleSpec | str,
    *,
    args: list[Any] | None = None,
    scale: str | None = None,
) -> EditResult:
    """Resolve a base, load it and replace the layer a SPEC names by `module`; nothing is written."""
    resolved, spec = load_base(base)
    check_scale(spec, scale)
    result = replace_layer(spec, target, module, args=args)
    result.base = resolved
    name = f"{result.module.name}-for{result.target}"  # type: ignore[union-attr]
    result.default_output_name = output_name(resolved.name, name, scale)
    return result


def note_unchecked_replace(edit: EditResult) -> None:
    """With --no-build, say that whether a replaced layer's channels still fit needs a build."""
    for index in edit.replaced:
        module = edit.module_at(index)
        name = module.yaml_name if module is not None else "the new module"
        edit.warnings.append(
            f"not built, so the channel check of layer {index} needs a build: {name} keeps its input's "
            "channels, and only a build measures whether the replaced layer did too"
        )
