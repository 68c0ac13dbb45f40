"""The whole step after an edit: choose the scale, probe, fill, build, check, measure, summarise."""

from __future__ import annotations

import os
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from .. import integration
from ..composer import naming
from ..composer.naming import scaled_name
from ..errors import BuildError, Hint, Param
from ..integration import STRIDE_PROBE
from .measure import measure_built
from .model import build_from_dict, build_model, parse_model_dict, stdout_to_stderr
from .resolution import attention_warnings, fill_resolution_args, strides_at_probe
from .results import BuildSummary, FilledArg, ModelMeasure, ScaleResult

if TYPE_CHECKING:
    from ..composer.edit import EditResult

#: Most intra-op threads the validation forwards use (more gains nothing on batch-1 forwards).
MAX_VALIDATION_THREADS = 4


def edit_scale(edit: EditResult, scale: str | None) -> str:
    """--scale, else the base's letter, else the first of `scales:` ('' when the model has none)."""
    scales = list(edit.spec.scales)
    base_name = edit.base.name if edit.base is not None else None
    chosen = naming.choose_scale(scales, requested=scale, name=base_name)
    if scales and chosen not in scales:
        raise BuildError(f"{chosen!r} is not in the model's scales ({', '.join(scales)})", param=Param.scale)
    return chosen


def _shape_preserving(measure: ModelMeasure, indices: list[int]) -> bool:
    """True when every listed layer's output has its input's shape (so nothing else changed)."""
    by_index = {layer.index: layer for layer in measure.layers}
    return bool(indices) and all(
        by_index[i].in_shape and by_index[i].in_shape == by_index[i].out_shape for i in indices
    )


def measure_input(edit: EditResult, scale: str, imgsz: int) -> ModelMeasure | None:
    """The model the change was made to, built and measured at `scale` (None when unknown)."""
    if not edit.source_text:
        return None
    name = edit.spec.source or (edit.base.name if edit.base is not None else "model.yaml")
    model = build_model(edit.source_text, source_name=name, scale=scale or None)
    return measure_built(model, source_name=name, imgsz=imgsz, check_sizes=False,
                         with_ultralytics_gflops=False)


def check_replaced_shapes(edit: EditResult, base: ModelMeasure, scale: str) -> None:
    """Refuse a replace whose new module cannot give the replaced layer's output shape.

    Our modules keep their input's shape, so the replaced layer must have kept its own (in the
    model the change was made to, as built): else the layers that read it would get other
    channels. The message names the `insert` command that works instead.
    """
    inverse = {new: old for old, new in edit.index_map.items()}
    by_index = {layer.index: layer for layer in base.layers}
    for index in edit.replaced:
        module = edit.module_at(index)
        old = by_index.get(inverse.get(index, -1))
        if module is None or not module.keeps_channels or old is None or old.in_shape == old.out_shape:
            continue
        base_name = edit.base.name if edit.base is not None else (edit.spec.source or "MODEL")
        raise BuildError(
            f"layer {index}: cannot replace {old.module} with {module.yaml_name}: {old.module} maps "
            f"{old.in_shape} to {old.out_shape} at scale {scale or '-'}, and {module.yaml_name} keeps its "
            f"input's shape",
            hint=Hint.insert_instead,
            hint_values={"module": module.name, "index": old.index, "base": base_name},
        )


def base_totals(
    edit: EditResult, measure: ModelMeasure, scale: str, base: ModelMeasure | None = None
) -> tuple[int, float, bool]:
    """Params and GFLOPs of the base model at the same scale and imgsz.

    A shape-preserving insert leaves every other layer exactly as it was (same inputs, same
    channels), so the base totals are the model's minus the inserted layers': exact, no second
    build. Anything else (a remove, a shape-changing module) builds and measures the base.
    """
    if edit.only_inserts and _shape_preserving(measure, edit.inserted):
        inserted = [layer for layer in measure.layers if layer.index in edit.inserted]
        return (
            measure.params - sum(layer.params for layer in inserted),
            measure.gflops - sum(layer.gflops for layer in inserted),
            True,
        )
    if base is not None and base.imgsz == measure.imgsz:
        return base.params, base.gflops, False
    if edit.base is None or not edit.source_text:
        return measure.params, measure.gflops, True
    name = edit.spec.source or edit.base.name
    model = build_model(edit.source_text, source_name=name, scale=scale or None)  # the text as read
    base = measure_built(model, source_name=name, imgsz=measure.imgsz, check_sizes=False,
                         with_ultralytics_gflops=False)
    return base.params, base.gflops, False


@dataclass
class BuiltEdit:
    """An edited spec built at one scale, its resolution args filled (what `insert` measures)."""

    model: torch.nn.Module
    model_dict: dict[str, Any]
    filled: list[FilledArg]
    warnings: list[str]
    probed: tuple[tuple[int, int], ...]  # sizes the returned model has already run at


def build_edit(
    edit: EditResult,
    *,
    scale: str,
    imgsz: int,
    source_name: str,
    on_warning: Callable[[str], None] | None = None,
) -> BuiltEdit:
    """Build the edited spec, probe the strides, fill resolution args (rebuilding if they changed).

    The one build step of `insert` (and of `sweep`, so both count the same model). Edits
    ``edit.spec`` in place only to write resolution args; raises BuildError naming the layer.
    """
    model_dict = parse_model_dict(edit.spec.dump(), source_name=source_name, scale=scale or None)
    model = build_from_dict(model_dict, source_name=source_name)
    strides = strides_at_probe(model)
    warnings = attention_warnings(edit, strides, imgsz)
    for message in warnings:
        if on_warning is not None:
            on_warning(message)
    filled = fill_resolution_args(edit, strides, imgsz)
    probed: tuple[tuple[int, int], ...] = ((STRIDE_PROBE, STRIDE_PROBE),)
    if filled:
        model_dict = parse_model_dict(edit.spec.dump(), source_name=source_name, scale=scale or None)
        model, probed = build_from_dict(model_dict, source_name=source_name), ()
    return BuiltEdit(model, model_dict, filled, warnings, probed)


@contextmanager
def validation_threads() -> Iterator[None]:
    """Run the one-shot validation forwards on up to 4 cores, then restore torch's setting.

    Ultralytics pins training to one intra-op thread; a batch-1 forward at 640 is about 1.4x
    faster on two. Only where the CLI set that one thread itself: a user's OMP_NUM_THREADS (1
    included) is kept as it is, and so are a library caller's threads and a busy machine (load
    average at or above its cores).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(validation_thread_count())
    try:
        yield
    finally:
        torch.set_num_threads(before)


def validation_thread_count() -> int:
    """The intra-op threads validation_threads() runs with (the current count where it keeps it)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    busy = hasattr(os, "getloadavg") and os.getloadavg()[0] >= cores
    if integration.threads_are_ours() and not busy:
        return max(1, min(MAX_VALIDATION_THREADS, cores))
    return torch.get_num_threads()


def _warn_stderr(message: str) -> None:
    sys.stderr.write(f"warning: {message}\n")
    sys.stderr.flush()


@stdout_to_stderr
def build_and_summarize(
    edit: EditResult,
    *,
    scale: str | None,
    imgsz: int,
    all_scales: bool,
    on_warning: Callable[[str], None] | None = _warn_stderr,
    output_name: str | None = None,
) -> BuildSummary:
    """Build the edited spec, fill resolution args, run every probe size, measure, summarise.

    `output_name` is the file the result is written to (default: the edit's default name); the
    summary and every error name it. Edits ``edit.spec`` in place only to write resolution args.
    Raises BuildError (one line, naming the layer and size) when ultralytics cannot build or run
    the model.
    """
    if imgsz < 32 or imgsz % 32:
        raise BuildError(f"imgsz must be a positive multiple of 32, got {imgsz}")
    with validation_threads():
        return _build_and_summarize(edit, scale=scale, imgsz=imgsz, all_scales=all_scales,
                                    on_warning=on_warning, output_name=output_name)


def _build_and_summarize(
    edit: EditResult,
    *,
    scale: str | None,
    imgsz: int,
    all_scales: bool,
    on_warning: Callable[[str], None] | None,
    output_name: str | None,
) -> BuildSummary:
    """build_and_summarize's work, inside validation_threads()."""
    chosen = edit_scale(edit, scale)
    base = measure_input(edit, chosen, imgsz) if edit.replaced else None
    if base is not None:
        check_replaced_shapes(edit, base, chosen)
    source_name = output_name or edit.default_output_name or (edit.spec.source or "model.yaml")
    built = build_edit(edit, scale=chosen, imgsz=imgsz, source_name=source_name, on_warning=on_warning)
    model, model_dict, filled, warnings = built.model, built.model_dict, built.filled, built.warnings
    measure = measure_built(model, source_name=source_name, imgsz=imgsz, already_run=built.probed)
    base_params, base_gflops, derived = base_totals(edit, measure, chosen, base)
    scales = [ScaleResult(chosen, measure.params, measure.gflops)] if all_scales else []
    if all_scales:
        scales += [_measure_scale(model_dict, s, source_name, imgsz) for s in edit.spec.scales if s != chosen]
    output = output_name or edit.default_output_name
    base_name = edit.base.name if edit.base is not None else (edit.spec.source or "")
    return BuildSummary(
        model=measure,
        inserted=list(edit.inserted),
        rewired=_rewired(edit),
        base_name=scaled_name(base_name, chosen),
        base_params=base_params,
        base_gflops=base_gflops,
        base_derived=derived,
        filled=filled,
        scales=scales,
        warnings=warnings,
        warnings_reported=on_warning is not None,
        output_path=output,
        replaced=list(edit.replaced),
        first_scale=next(iter(edit.spec.scales), ""),
        scale_requested=scale is not None,
    )


def _measure_scale(model_dict: dict[str, Any], scale: str, source_name: str, imgsz: int) -> ScaleResult:
    """Build and run one more scale (--all-scales); errors name the scale."""
    scaled = {**model_dict, "scale": scale}
    try:
        model = build_from_dict(scaled, source_name=source_name)
        measure = measure_built(model, source_name=source_name, imgsz=imgsz, with_ultralytics_gflops=False)
    except BuildError as exc:
        exc.message = f"scale {scale}: {exc.message}"
        raise
    return ScaleResult(scale, measure.params, measure.gflops)


def _rewired(edit: EditResult) -> dict[int, list[str]]:
    """Layer index -> the reasons its `from` was rewritten."""
    result: dict[int, list[str]] = defaultdict(list)
    for record in edit.rewired:
        result[int(record.layer)].append(f"{record.old_ref} -> {record.new_ref}: {record.reason}")
    return dict(result)
