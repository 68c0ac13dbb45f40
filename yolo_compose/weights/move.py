"""Moving tensors: each base layer's tensors into the layer it pairs with, when class and shape agree."""

from __future__ import annotations

import torch

from .fit import shape_text
from .report import LayerTransfer, SkippedTensor, Unpaired


def _move_layer(
    old: int,
    new: int,
    source: dict[str, torch.Tensor],
    target_layer: torch.nn.Module,
    *,
    nc: tuple[int, int],
    skipped: list[SkippedTensor],
) -> int:
    """Copy one base layer's tensors into its partner; returns how many were copied."""
    target = target_layer.state_dict()
    copied = 0
    class_branch = nc[0] != nc[1] and hasattr(target_layer, "nc")
    for key, tensor in source.items():
        old_key, new_key = f"model.{old}.{key}", f"model.{new}.{key}"
        if key not in target:
            skipped.append(SkippedTensor(old_key, None, "no tensor of this name in the new layer"))
        elif target[key].shape != tensor.shape:
            why = (
                f"class branch: nc {nc[0]} -> {nc[1]}"
                if class_branch
                else f"shape {shape_text(tensor)} -> {shape_text(target[key])}"
            )
            skipped.append(SkippedTensor(old_key, new_key, why))
        else:
            with torch.no_grad():
                target[key].copy_(tensor)
            copied += 1
    return copied


def move_all(
    ckpt_model: torch.nn.Module,
    model: torch.nn.Module,
    pairing: dict[int, int],
    unpaired: Unpaired,
    *,
    nc: tuple[int, int],
) -> tuple[list[LayerTransfer], list[SkippedTensor]]:
    """Move every paired layer's tensors; rows for every base layer and every new layer."""
    layers: list[LayerTransfer] = []
    skipped: list[SkippedTensor] = []
    new_modules = list(model.model)
    partners = set(pairing.values()) | {new for new, _ in unpaired.values() if new is not None}
    for old, layer in enumerate(ckpt_model.model):
        source = layer.state_dict()
        new = pairing.get(old)
        name = type(layer).__name__
        if new is None or type(new_modules[new]) is not type(layer):
            partner, reason = (
                (new, f"the new layer is {type(new_modules[new]).__name__}")
                if new is not None
                else (unpaired.get(old, (None, "removed by the edit")))
            )
            skipped.extend(SkippedTensor(f"model.{old}.{key}", None, reason) for key in source)
            layers.append(LayerTransfer(old, partner, name, len(source), 0, reason))
            continue
        before = len(skipped)
        copied = _move_layer(old, new, source, new_modules[new], nc=nc, skipped=skipped)
        reasons = sorted({item.reason for item in skipped[before:]})
        layers.append(LayerTransfer(old, new, name, len(source), copied, "; ".join(reasons)))
    for new, module in enumerate(new_modules):
        if new not in partners:
            layers.append(
                LayerTransfer(
                    None,
                    new,
                    type(module).__name__,
                    len(module.state_dict()),
                    0,
                    "new layer: keeps its initialisation",
                )
            )
    layers.sort(key=lambda row: (row.new if row.new is not None else row.old or 0, row.old is None))
    return layers, skipped
