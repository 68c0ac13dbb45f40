"""An edit's checkpoint: checked before the build, carried across the edit, written with its YAML."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CheckpointError, Param
from .checkpoint import load_checkpoint
from .report import Transfer, checkpoint_target
from .transfer import CheckedCheckpoint, carry_edit, check_against_base

if TYPE_CHECKING:
    from ..composer.edit import EditResult


def edit_provenance(edit: EditResult) -> dict[str, Any]:
    """The edit as recorded in the checkpoint: what, where, the old-to-new map (keys as strings).

    Plain data for the checkpoint's metadata, with the names and values of the edit's JSON report.
    """
    base = edit.base
    return {
        "action": edit.action,
        "base": None
        if base is None
        else {"name": base.name, "path": str(base.path), "scale": base.scale or None,
              "bundled": base.bundled},
        "module": None
        if edit.module is None
        else {"name": edit.module.name, "yaml_name": edit.module.yaml_name},
        "target": {"index": edit.target, "module": edit.target_module},
        "placement": edit.placement or None,
        "new_index": edit.new_index,
        "removed_index": edit.removed_index,
        "row": edit.row,
        "inserted": list(edit.inserted),
        "replaced": list(edit.replaced),
        "index_map": {str(old): new for old, new in sorted(edit.index_map.items())},
    }


def check_edit_checkpoint(
    edit: EditResult,
    weights: str | Path,
    yaml_target: Path,
    *,
    scale: str | None,
    trust_checkpoint: bool,
    force: bool,
) -> tuple[CheckedCheckpoint, Path]:
    """`--weights`, before anything else is built: the checkpoint read, checked against the edit's
    base YAML (a refusal is one line), and where the new checkpoint will go (refused if it exists)."""
    from ..build import edit_scale

    target = checkpoint_target(yaml_target, force=force)
    if edit.base is None:
        raise CheckpointError("a transfer needs the edit's base YAML to check the checkpoint against",
                              param=Param.weights)
    path = Path(weights)
    ckpt = load_checkpoint(path, trust_checkpoint=trust_checkpoint)
    checked = check_against_base(
        path,
        ckpt,
        base_yaml_text=edit.source_text or edit.base.path.read_text(encoding="utf-8"),
        base_name=edit.base.name,
        scale=edit_scale(edit, scale) or None,
    )
    return checked, target


def transfer_edit_checkpoint(edit: EditResult, checked: CheckedCheckpoint, yaml_target: Path) -> Transfer:
    """`insert`/`remove`/`replace`/`apply --weights`: the checked checkpoint carried across the edit
    (every kept layer's tensors at its new index; inserted and replaced layers new).

    Nothing is written: :func:`write_yaml_and_checkpoint` writes both files once all succeeded.
    """
    return carry_edit(
        checked,
        edit.spec.dump(),
        edit.index_map,
        edit.inserted,
        edit.replaced,
        composed_name=yaml_target.name,
        edit=edit_provenance(edit),
    )


def write_yaml_and_checkpoint(
    write_yaml: Callable[[], None], transfer: Transfer | None, checkpoint: Path | None
) -> None:
    """Write the checkpoint, then the YAML; if the YAML cannot be written, the checkpoint goes too."""
    if transfer is None or checkpoint is None:
        write_yaml()
        return
    existed = checkpoint.exists()
    try:
        transfer.save(checkpoint)
    except OSError as exc:
        raise CheckpointError(f"cannot write {str(checkpoint)!r}: {exc.strerror or exc}") from None
    try:
        write_yaml()
    except BaseException:
        if not existed:
            checkpoint.unlink(missing_ok=True)
        raise
