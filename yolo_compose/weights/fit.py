"""Building a YAML for a transfer, and the check that a checkpoint is that YAML's model."""

from __future__ import annotations

import contextlib
import sys

import torch

from ..build import build_from_dict, parse_model_dict
from ..errors import CheckpointError
from .checkpoint import scale_of


def build_for_transfer(
    yaml_text: str, *, name: str, scale: str | None, nc: int | None = None
) -> torch.nn.Module:
    """Build a YAML (restricted mode); `nc` overrides its class count. Ultralytics' log goes to stderr.

    Without autograd: ultralytics' stride-probe forward would otherwise keep its graph, which
    doubles the build's peak memory (yolo11x: 481 -> 245 MiB above the start).
    """
    model_dict = parse_model_dict(yaml_text, source_name=name, scale=scale)
    if nc is not None:
        model_dict["nc"] = nc
    with contextlib.redirect_stdout(sys.stderr), torch.no_grad():
        return build_from_dict(model_dict, source_name=name)


def check_fits(
    ckpt_model: torch.nn.Module, base: torch.nn.Module, *, checkpoint: str, base_name: str
) -> None:
    """Refuse a checkpoint that is not the base model: the first layer and tensor that disagree."""
    scale = scale_of(base)
    where = f"{base_name}{f' (scale {scale})' if scale else ''}"
    ours, theirs = list(ckpt_model.model), list(base.model)
    for i, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        if type(a) is not type(b):
            raise CheckpointError(
                f"does not fit {where}: the checkpoint has {type(a).__name__}, the YAML {type(b).__name__}",
                path=checkpoint,
                layer=i,
            )
        sa, sb = a.state_dict(), b.state_dict()
        for key in dict.fromkeys([*sa, *sb]):
            shape_a = shape_text(sa[key]) if key in sa else "missing"
            shape_b = shape_text(sb[key]) if key in sb else "missing"
            if shape_a != shape_b:
                raise CheckpointError(
                    f"does not fit {where}: {type(a).__name__} model.{i}.{key} is {shape_a} in the "
                    f"checkpoint, {shape_b} in the YAML",
                    path=checkpoint,
                    layer=i,
                )
    if len(ours) != len(theirs):
        raise CheckpointError(
            f"does not fit {where}: {len(ours)} layers in the checkpoint, {len(theirs)} in the YAML",
            path=checkpoint,
            layer=min(len(ours), len(theirs)),
        )


def shape_text(tensor: torch.Tensor) -> str:
    return "x".join(str(d) for d in tensor.shape) or "scalar"
