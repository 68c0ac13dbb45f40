"""Pretrained weights across an edit: every tensor of the base moves to its layer's new index.

Ultralytics loads a checkpoint into another model by key and shape (``model.9.cv1.conv.weight``),
so after an insert every later layer misses its weights and same-shaped tensors of a *different*
layer load without a word. Here a checkpoint is carried over layer by layer instead:

1. **Read** it with restricted unpickling: ``torch.load(weights_only=True)`` with exactly what
   ultralytics' own restricted loading allows, plus our module classes. A checkpoint that needs
   anything else is refused in one line unless the caller trusts it (``trust_checkpoint``). The
   file is memory-mapped, so its tensors are read from the page cache, not copied to the heap.
2. **Fit check**: the base YAML is built (restricted mode, the checkpoint's class count) and every
   layer's class and every tensor's name and shape must agree with the checkpoint; the first that
   does not is named in the refusal.
3. **Transfer**: the target YAML is built through the same path, and each tensor of base layer
   ``old`` is copied to ``model.{pairing[old]}.<same name>`` when that layer is the same class and
   the tensor has the same shape. Everything else keeps its initialisation and is reported with
   the reason (new layer, removed layer, changed layer, changed shape, class branch of another nc).
4. **Write** a final ultralytics checkpoint (the layout of ``best.pt`` after training), in the
   base's precision, with where it came from under the ``"yolo_compose"`` key; written atomically.

``pairing`` is the edit's own old-to-new index map for ``insert``/``remove``/``replace``/``apply``
(:func:`transfer_for_edit`; a replaced layer is new, its old tensors not loaded into it), or the
layers ``diff`` aligns with identical content for any two models (:func:`transfer_by_alignment`).
For an edit, steps 1 and 2 run before the edited model is built (:func:`check_edit_checkpoint`),
so a bad checkpoint stops the command before anything else is built or written.

The parts: :mod:`.report`, :mod:`.checkpoint` (step 1), :mod:`.fit` (2), :mod:`.move` and
:mod:`.transfer` (3, 4), :mod:`.aligned` (any two models) and :mod:`.edits` (an edit's checkpoint).
"""

from __future__ import annotations

from .aligned import aligned_pairing, transfer_by_alignment, transfer_to_yaml
from .checkpoint import checkpoint_yaml, file_sha256, load_checkpoint
from .edits import check_edit_checkpoint, edit_provenance, transfer_edit_checkpoint, write_yaml_and_checkpoint
from .fit import check_fits
from .report import (
    PROVENANCE_KEY,
    REPLACED,
    LayerTransfer,
    SkippedTensor,
    Transfer,
    TransferReport,
    TransferStatus,
    Unpaired,
    checkpoint_target,
)
from .transfer import CheckedCheckpoint, carry_edit, transfer_for_edit, transfer_weights

__all__ = [
    "PROVENANCE_KEY",
    "REPLACED",
    "CheckedCheckpoint",
    "LayerTransfer",
    "SkippedTensor",
    "Transfer",
    "TransferReport",
    "TransferStatus",
    "Unpaired",
    "aligned_pairing",
    "carry_edit",
    "check_edit_checkpoint",
    "check_fits",
    "checkpoint_target",
    "checkpoint_yaml",
    "edit_provenance",
    "file_sha256",
    "load_checkpoint",
    "transfer_by_alignment",
    "transfer_edit_checkpoint",
    "transfer_for_edit",
    "transfer_to_yaml",
    "transfer_weights",
    "write_yaml_and_checkpoint",
]
