"""The whole transfer: a checked checkpoint carried to a target YAML under a pairing of layers."""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml

from .. import integration
from ..composer.naming import choose_scale
from .checkpoint import class_count, file_sha256, load_checkpoint, scale_of
from .fit import build_for_transfer, check_fits
from .move import move_all
from .report import PROVENANCE_KEY, REPLACED, Transfer, TransferReport, Unpaired


def transfer_weights(
    checkpoint: str | Path,
    *,
    base_yaml_text: str,
    base_name: str,
    target_yaml_text: str,
    target_name: str,
    pairing: dict[int, int],
    unpaired: Unpaired | None = None,
    scale: str | None = None,
    trust_checkpoint: bool = False,
    provenance: dict[str, Any] | None = None,
) -> Transfer:
    """Check a checkpoint against its base YAML, then carry its tensors over to the target YAML.

    `pairing`: base layer index -> target layer index, for the layers that are the same layer.
    `unpaired`: base layer index -> (the new layer it corresponds to, if any; why it is not
    transferred), reported. `scale`: the scale to build
    both YAMLs at (None: the checkpoint's). Raises CheckpointError or BuildError (one line).
    """
    path = Path(checkpoint)
    ckpt = load_checkpoint(path, trust_checkpoint=trust_checkpoint)
    return transfer_loaded(
        path,
        ckpt,
        base_yaml_text=base_yaml_text,
        base_name=base_name,
        target_yaml_text=target_yaml_text,
        target_name=target_name,
        pairing=pairing,
        unpaired=unpaired,
        scale=scale,
        provenance=provenance,
    )


def transfer_loaded(
    path: Path,
    ckpt: dict[str, Any],
    *,
    base_yaml_text: str,
    base_name: str,
    target_yaml_text: str,
    target_name: str,
    pairing: dict[int, int],
    unpaired: Unpaired | None,
    scale: str | None,
    provenance: dict[str, Any] | None,
) -> Transfer:
    """transfer_weights' work on a checkpoint already read."""
    checked = check_against_base(path, ckpt, base_yaml_text=base_yaml_text, base_name=base_name, scale=scale)
    return carry(checked, target_yaml_text=target_yaml_text, target_name=target_name, pairing=pairing,
                  unpaired=unpaired, provenance=provenance)


@dataclass
class CheckedCheckpoint:
    """A checkpoint read and found to fit its base YAML: ready to be carried to a new model."""

    path: Path
    ckpt: dict[str, Any]
    base_yaml_text: str
    base_name: str
    scale: str | None  # the scale both models are built at


def check_against_base(
    path: Path, ckpt: dict[str, Any], *, base_yaml_text: str, base_name: str, scale: str | None
) -> CheckedCheckpoint:
    """Build the base YAML (with the checkpoint's class count) and refuse a checkpoint that differs."""
    ckpt_model = integration.checkpoint_model(ckpt)
    scale = choose_scale((), requested=scale, name=base_name, trained=scale_of(ckpt_model)) or None
    base = build_for_transfer(base_yaml_text, name=base_name, scale=scale, nc=class_count(ckpt_model))
    check_fits(ckpt_model, base, checkpoint=str(path), base_name=base_name)
    del base
    gc.collect()  # the base was only needed for its shapes: free it before the target is built
    return CheckedCheckpoint(path, ckpt, base_yaml_text, base_name, scale)


def carry(
    checked: CheckedCheckpoint,
    *,
    target_yaml_text: str,
    target_name: str,
    pairing: dict[int, int],
    unpaired: Unpaired | None,
    provenance: dict[str, Any] | None,
) -> Transfer:
    """Build the target YAML and copy each paired layer's tensors into it: the new checkpoint."""
    path, ckpt, base_yaml_text, scale = checked.path, checked.ckpt, checked.base_yaml_text, checked.scale
    base_name = checked.base_name
    ckpt_model = integration.checkpoint_model(ckpt)
    ckpt_nc = class_count(ckpt_model)
    model = build_for_transfer(
        target_yaml_text,
        name=target_name,
        scale=scale,
        nc=_target_nc(base_yaml_text, target_yaml_text, ckpt_nc),
    )
    nc = (ckpt_nc, class_count(model))
    layers, skipped = move_all(ckpt_model, model, pairing, unpaired or {}, nc=nc)
    report = TransferReport(
        checkpoint=str(path),
        base=base_name,
        model=target_name,
        scale=scale_of(model),
        nc=nc,
        total=sum(layer.tensors for layer in layers if layer.old is not None),
        transferred=sum(layer.transferred for layer in layers),
        layers=layers,
        skipped=skipped,
        notes=_notes(nc),
    )
    _finish_model(model, ckpt_model, nc)
    extra = {PROVENANCE_KEY: _provenance(path, ckpt, report, provenance)}
    train_args = integration.default_train_args(ckpt.get("train_args"))
    new_ckpt = integration.checkpoint_dict(model, train_args=train_args, extra=extra)
    return Transfer(new_ckpt, report)


def _target_nc(base_yaml_text: str, target_yaml_text: str, ckpt_nc: int) -> int | None:
    """The class count to build the new model with: the checkpoint's, unless the new YAML changed it.

    A YAML's ``nc`` is a default that training overrides (ultralytics records the real count in the
    checkpoint's ``model.yaml``): a 3-class checkpoint of yolo11n and the bundled yolo11n.yaml (80)
    are the same model, and an edit of that YAML keeps its 80. Only a new YAML whose ``nc`` differs
    from the base YAML's asks for another class count (None: build with the YAML's own).
    """
    base_nc = yaml.safe_load(base_yaml_text).get("nc")
    target_nc = yaml.safe_load(target_yaml_text).get("nc")
    return ckpt_nc if target_nc == base_nc else None


def _notes(nc: tuple[int, int]) -> list[str]:
    if nc[0] == nc[1]:
        return []
    return [
        f"the checkpoint predicts {nc[0]} classes, the new model {nc[1]}: the head's class-branch "
        f"tensors whose shape depends on nc keep their initialisation; every other tensor is transferred"
    ]


def _finish_model(model: torch.nn.Module, ckpt_model: torch.nn.Module, nc: tuple[int, int]) -> None:
    """Give the new model what ultralytics keeps on a trained one: names, args, the base's precision."""
    for attr in ("task_name", "composed_rows"):  # our build's bookkeeping, not part of a checkpoint
        if hasattr(model, attr):
            delattr(model, attr)
    if nc[0] == nc[1] and hasattr(ckpt_model, "names"):
        model.names = dict(ckpt_model.names)
    if isinstance(getattr(ckpt_model, "args", None), dict):
        model.args = dict(ckpt_model.args)
    dtype = next((p.dtype for p in ckpt_model.parameters() if p.is_floating_point()), torch.float32)
    if dtype != torch.float32:
        model.to(dtype)
    for parameter in model.parameters():  # as strip_optimizer leaves a final checkpoint
        parameter.requires_grad_(False)


def _provenance(
    path: Path, ckpt: dict[str, Any], report: TransferReport, edit: dict[str, Any] | None
) -> dict:
    """Where the checkpoint came from: the base file (name, hash, date), the edit, the counts."""
    from .. import __version__

    return {
        "version": __version__,
        "base_checkpoint": {
            "name": path.name,
            "sha256": file_sha256(path),
            "date": str(ckpt.get("date") or ""),
            "ultralytics": str(ckpt.get("version") or ""),
        },
        "base_yaml": report.base,
        "model_yaml": report.model,
        "edit": edit or {},
        "tensors": {"total": report.total, "transferred": report.transferred},
        "new_layers": report.new_layers,
        "removed_layers": report.removed_layers,
    }


def transfer_for_edit(
    base_ckpt_path: str | Path,
    composed_yaml_text: str,
    index_map: dict[int, int],
    new_layers: list[int],
    *,
    base_yaml_text: str,
    base_name: str,
    composed_name: str,
    scale: str | None = None,
    trust_checkpoint: bool = False,
    edit: dict[str, Any] | None = None,
    replaced: Sequence[int] = (),
) -> Transfer:
    """Carry a base checkpoint across an edit: layer ``old`` goes to ``index_map[old]``.

    `new_layers` are the edit's inserted indices (they keep their initialisation); a base layer
    missing from `index_map` was removed. `replaced`: new indices whose row a replace swapped;
    each is a new layer too, and the base layer it took the place of is not loaded into it.
    `edit`: what was done, recorded in the metadata.
    """
    path = Path(base_ckpt_path)
    ckpt = load_checkpoint(path, trust_checkpoint=trust_checkpoint)
    checked = check_against_base(path, ckpt, base_yaml_text=base_yaml_text, base_name=base_name, scale=scale)
    return carry_edit(checked, composed_yaml_text, index_map, new_layers, replaced,
                      composed_name=composed_name, edit=edit)


def carry_edit(
    checked: CheckedCheckpoint,
    composed_yaml_text: str,
    index_map: dict[int, int],
    new_layers: Sequence[int],
    replaced: Sequence[int],
    *,
    composed_name: str,
    edit: dict[str, Any] | None,
) -> Transfer:
    """A checked base checkpoint carried across an edit's index map (see :func:`transfer_for_edit`)."""
    fresh = set(new_layers) | set(replaced)
    pairing = {old: new for old, new in index_map.items() if new not in fresh}
    unpaired: Unpaired = {
        old: (None, f"{REPLACED}: its tensors are not loaded into the new layer {new}")
        for old, new in index_map.items()
        if new in set(replaced)
    }
    return carry(checked, target_yaml_text=composed_yaml_text, target_name=composed_name, pairing=pairing,
                  unpaired=unpaired, provenance=edit)
