"""Resolution args from imgsz and the stride at the insertion point; the O(N^2) memory warning (step 2)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from ..composer.edit import set_args
from ..integration import STRIDE_PROBE
from .measure import output_shape
from .results import FilledArg
from .run import model_layers, run_once

if TYPE_CHECKING:
    from ..composer.edit import EditResult
    from ..modules.registry import ModuleSpec

ATTENTION_BATCH = 16  # batch size of the O(N^2) memory estimate (ultralytics' default batch)


ATTENTION_WARN_BYTES = 2 * 1024**3  # warn when one N x N attention tensor would exceed this


def strides_at_probe(model: torch.nn.Module) -> dict[int, int]:
    """Stride of each layer's *input* feature map, from a forward at the stride probe."""
    strides: dict[int, int] = {}

    def before(module: torch.nn.Module, inputs: Any) -> None:
        shape = output_shape(inputs)
        if len(shape) == 3 and shape[-2]:
            strides[int(module.i)] = STRIDE_PROBE // shape[-2]

    handles = [m.register_forward_pre_hook(before) for m in model_layers(model)]
    try:
        run_once(model, (STRIDE_PROBE, STRIDE_PROBE))
    finally:
        for handle in handles:
            handle.remove()
    return strides


def resolution_values(module: ModuleSpec, imgsz: int, stride: int) -> dict[int, tuple[str, int]]:
    """{arg position: (arg name, value)} for a module's resolution args at imgsz and stride."""
    side = max(1, imgsz // stride)
    return {k: (arg.name, side) for k, arg in enumerate(module.args) if arg.resolution in ("w", "h", "size")}


def fill_resolution_args(edit: EditResult, strides: dict[int, int], imgsz: int) -> list[FilledArg]:
    """Write resolution args of the inserted layers into the edited YAML text (a patch of each row).

    Returns what changed; an empty list means the built model already has the right values.
    """
    filled = []
    for index in _written_layers(edit):
        module = edit.module_at(index) or edit.module
        stride = strides.get(index)
        if stride is None or module is None:
            continue
        written = list(edit.spec.layers[index].args)
        wanted = resolution_values(module, imgsz, stride)
        if not wanted:
            continue
        updates = {k: module.args[k].default for k in range(len(written), max(wanted) + 1)}
        updates.update({position: value for position, (_name, value) in wanted.items()})
        filled += [
            FilledArg(index, name, value, stride)
            for position, (name, value) in wanted.items()
            if position >= len(written) or written[position] != value
        ]
        set_args(edit.spec, index, updates)
        if index == edit.new_index and len(edit.row) == 4:
            edit.row[3] = list(edit.spec.layers[index].args)  # the report shows what is written
    return filled


def _written_layers(edit: EditResult) -> list[int]:
    """Indices of the rows the edit wrote a catalogue module into (inserted and replaced)."""
    return sorted(set(edit.inserted) | set(edit.replaced))


def attention_warnings(edit: EditResult, strides: dict[int, int], imgsz: int) -> list[str]:
    """Warnings for O(N^2) modules whose N x N attention at batch 16 would be large."""
    warnings = []
    for index in _written_layers(edit):
        module = edit.module_at(index) or edit.module
        stride = strides.get(index)
        if not stride or module is None or module.complexity != "O(N^2)":
            continue
        heads_pos = next((k for k, arg in enumerate(module.args) if arg.name == "heads"), None)
        args = edit.spec.layers[index].args
        heads = int(args[heads_pos]) if heads_pos is not None and heads_pos < len(args) else 1
        tokens = (imgsz // stride) ** 2
        size = ATTENTION_BATCH * heads * tokens**2 * 4
        if size > ATTENTION_WARN_BYTES:
            warnings.append(
                f"layer {index} {module.yaml_name} is O(N^2): N = {tokens:,} tokens at imgsz {imgsz} "
                f"(stride {stride}); one attention matrix at batch {ATTENTION_BATCH} is "
                f"~{size / 1024**3:.1f} GiB in fp32 ({heads} heads); consider a deeper level (P5) "
                f"or a linear-cost module"
            )
    return warnings
