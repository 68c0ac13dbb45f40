"""Measuring a built model per layer: params, output shapes and exact FLOPs from the aten ops (step 4)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from .. import integration
from ..flops import FlopCounter
from ..integration import probe_sizes
from .model import build_model, stdout_to_stderr
from .results import LayerMeasure, ModelMeasure
from .run import check_forward, first_tensor, model_layers, run_once

if TYPE_CHECKING:
    pass

def output_shape(value: Any) -> list[int]:
    tensor = first_tensor(value)
    return list(tensor.shape[1:]) if tensor is not None else []


Shapes = dict[int, list[int]]


def count_layers(model: torch.nn.Module, size: tuple[int, int]) -> tuple[FlopCounter, Shapes, Shapes]:
    """Forward once at `size`, counting FLOPs per layer and recording input and output shapes."""
    counter = FlopCounter()
    in_shapes: Shapes = {}
    out_shapes: Shapes = {}

    def before(module: torch.nn.Module, inputs: Any) -> None:
        counter.layer = int(module.i)
        in_shapes[counter.layer] = output_shape(inputs)

    def after(module: torch.nn.Module, _inputs: Any, output: Any) -> None:
        out_shapes[int(module.i)] = output_shape(output)

    handles = []
    for layer in model_layers(model):
        handles.append(layer.register_forward_pre_hook(before))
        handles.append(layer.register_forward_hook(after))
    try:
        with counter:
            run_once(model, size)
    finally:
        for handle in handles:
            handle.remove()
    return counter, in_shapes, out_shapes


def _injected_yaml_names() -> set[str]:
    """YAML names of the catalogue modules whose input channels the build injects."""
    from ..modules.registry import yaml_names

    return {name for name, spec in yaml_names().items() if spec.injected_channels}


def measure_built(
    model: torch.nn.Module,
    *,
    source_name: str,
    imgsz: int,
    check_sizes: bool = True,
    already_run: tuple[tuple[int, int], ...] = (),
    with_ultralytics_gflops: bool = True,
) -> ModelMeasure:
    """Run a built model at the probe sizes and measure it per layer at imgsz.

    `already_run`: sizes the caller has just run this very model at (they are not run again).
    """
    sizes = probe_sizes(imgsz)
    if check_sizes:
        check_forward(model, [s for s in sizes if s != (imgsz, imgsz) and s not in already_run])
    counter, in_shapes, out_shapes = count_layers(model, (imgsz, imgsz))
    injected = _injected_yaml_names()
    rows = getattr(model, "composed_rows", None) or model.yaml["backbone"] + model.yaml["head"]
    layers = []
    for module, (from_, _n, name, args) in zip(model_layers(model), rows, strict=True):
        i = int(module.i)
        out_shape = out_shapes.get(i, [])
        stride = imgsz // out_shape[-2] if len(out_shape) == 3 and out_shape[-2] else None
        layers.append(
            LayerMeasure(
                index=i,
                from_=from_,
                repeats=len(module) if isinstance(module, torch.nn.Sequential) else 1,
                module=str(name),
                type=str(module.type),
                args=list(args),
                in_channels=(in_shapes.get(i) or [None])[0] if name in injected else None,
                params=int(sum(p.numel() for p in module.parameters())),
                gflops=counter.flops.get(i, 0) / 1e9,
                out_shape=out_shape,
                in_shape=in_shapes.get(i, []),
                stride=stride,
            )
        )
    return ModelMeasure(
        source_name=source_name,
        scale=str(model.yaml.get("scale") or ""),
        task=getattr(model, "task_name", "detect"),
        imgsz=imgsz,
        sizes=sizes if check_sizes else [(imgsz, imgsz)],
        layers=layers,
        params=int(sum(p.numel() for p in model.parameters())),
        gflops=counter.total / 1e9,
        ultralytics_gflops=integration.ultralytics_gflops(model, imgsz) if with_ultralytics_gflops else 0.0,
    )


@stdout_to_stderr
def measure_model(yaml_text: str, *, source_name: str, scale: str | None, imgsz: int = 640) -> ModelMeasure:
    """Build, run at the probe sizes and measure: per-layer params, GFLOPs, output shapes, totals."""
    model = build_model(yaml_text, source_name=source_name, scale=scale)
    return measure_built(model, source_name=source_name, imgsz=imgsz)
