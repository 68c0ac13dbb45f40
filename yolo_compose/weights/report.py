"""What a transfer reports, per layer and in all, and the transfer itself before it is written.

Typed fields only; the JSON report is built by :mod:`yolo_compose.render.weights`.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from ..errors import Hint, OutputExistsError

#: The key our provenance is stored under in the written checkpoint.
PROVENANCE_KEY = "yolo_compose"


#: How the report's reason for a replaced base layer starts.
REPLACED = "replaced by the edit"


#: Base layers without a partner to copy into: old index -> (the new layer it became, if any; why).
Unpaired = dict[int, tuple[int | None, str]]


@dataclass
class SkippedTensor:
    """A base tensor that was not transferred, and why."""

    key: str  # its name in the checkpoint
    target: str | None  # the name it would have had in the new model (None: its layer has no partner)
    reason: str


#: A layer's fate in a transfer: new (no base layer), removed (no new layer), or how much moved.
TransferStatus = Literal["new", "removed", "replaced", "transferred", "partial", "not transferred"]


@dataclass
class LayerTransfer:
    """One layer's fate: a base layer and its partner in the new model, or a new layer alone."""

    old: int | None  # index in the base (None: a new layer)
    new: int | None  # index in the new model (None: removed)
    module: str  # the class name
    tensors: int  # tensors of the base layer (of the new layer, for a new one)
    transferred: int
    reason: str = ""  # why not everything was transferred

    @property
    def status(self) -> TransferStatus:
        if self.old is None:
            return "new"
        if self.new is None:
            return "replaced" if self.reason.startswith(REPLACED) else "removed"
        if self.transferred == self.tensors:
            return "transferred"
        return "partial" if self.transferred else "not transferred"


@dataclass
class TransferReport:
    """What moved where: totals, one row per layer, the tensors that did not move and why."""

    checkpoint: str
    base: str  # the YAML the checkpoint was checked against
    model: str  # the YAML the new checkpoint is of
    scale: str
    nc: tuple[int, int]  # (checkpoint's, new model's)
    total: int  # tensors in the checkpoint's model
    transferred: int
    layers: list[LayerTransfer]
    skipped: list[SkippedTensor]
    notes: list[str] = field(default_factory=list)
    output: str = ""  # where the checkpoint was written ('' until saved)

    @property
    def new_layers(self) -> list[int]:
        return [layer.new for layer in self.layers if layer.old is None and layer.new is not None]

    @property
    def removed_layers(self) -> list[int]:
        return [layer.old for layer in self.layers if layer.status == "removed" and layer.old is not None]

    @property
    def replaced_layers(self) -> list[int]:
        """Base layers whose row an edit swapped for another module (their tensors are not carried)."""
        return [layer.old for layer in self.layers if layer.status == "replaced" and layer.old is not None]


@dataclass
class Transfer:
    """The new checkpoint (in memory) and its report; :meth:`save` writes it."""

    checkpoint: dict[str, Any]
    report: TransferReport

    def save(self, path: str | Path) -> None:
        """Write the checkpoint atomically: a temp file in the same folder, then a rename."""
        path = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                torch.save(self.checkpoint, handle)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.report.output = str(path)


def checkpoint_target(yaml_path: Path, *, force: bool) -> Path:
    """Where `insert`/`remove --weights` write the checkpoint: beside the YAML, ``<stem>.pt``."""
    path = yaml_path.with_suffix(".pt")
    if path.exists() and not force:
        raise OutputExistsError(f"output {str(path)!r} exists", hint=Hint.overwrite)
    return path
