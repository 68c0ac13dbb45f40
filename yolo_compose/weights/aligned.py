"""Any two models: the layers paired as ``diff`` aligns them (``yolo-compose transfer``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import CheckpointError, Hint, OutputExistsError
from .checkpoint import checkpoint_yaml, load_checkpoint
from .report import Transfer, Unpaired
from .transfer import transfer_loaded


def aligned_pairing(
    old_text: str, old_name: str, new_text: str, new_name: str
) -> tuple[dict[int, int], dict[int, str]]:
    """Pair layers by ``diff``'s alignment: (old -> new for same module, repeats and args; old -> why not)."""
    from ..composer.diff import align_nodes, spec_nodes
    from ..composer.spec import ModelSpec

    a = spec_nodes(ModelSpec.from_text(old_text, source=old_name))
    b = spec_nodes(ModelSpec.from_text(new_text, source=new_name))
    alignment = align_nodes(a, b)
    pairing: dict[int, int] = {}
    unpaired: Unpaired = {}
    for i, node in enumerate(a):
        j = alignment.a_to_b.get(i)
        if j is None:
            unpaired[i] = (None, "removed: no layer of the new model is aligned with it")
        elif node.content == b[j].content:
            pairing[i] = j
        else:
            unpaired[i] = (j, f"changed: {_content_change(node, b[j])}")
    return pairing, unpaired


def _content_change(a: Any, b: Any) -> str:
    """What differs between two aligned rows: module, repeats or args."""
    for label, old, new in (
        ("module", a.module, b.module),
        ("repeats", a.repeats, b.repeats),
        ("args", a.args, b.args),
    ):
        if old != new:
            return f"{label} {old!r} -> {new!r}"
    return "content differs"


def transfer_by_alignment(
    old_checkpoint: str | Path,
    new_yaml_text: str,
    new_name: str,
    *,
    scale: str | None = None,
    trust_checkpoint: bool = False,
) -> Transfer:
    """Carry a checkpoint to any model YAML: a layer moves only to the layer ``diff`` aligns it with.

    The old model's YAML is the one stored in the checkpoint. A layer is transferred only when
    module, repeats and args agree, and then tensor by tensor when shapes agree.
    """
    path = Path(old_checkpoint)
    ckpt = load_checkpoint(path, trust_checkpoint=trust_checkpoint)
    old_text, old_name = checkpoint_yaml(ckpt, path=path)
    pairing, unpaired = aligned_pairing(old_text, old_name, new_yaml_text, new_name)
    return transfer_loaded(
        path,
        ckpt,
        base_yaml_text=old_text,
        base_name=f"{path.name} (its model.yaml)",
        target_yaml_text=new_yaml_text,
        target_name=new_name,
        pairing=pairing,
        unpaired=unpaired,
        scale=scale,
        provenance={"action": "transfer", "pairing": {str(k): v for k, v in pairing.items()}},
    )


def transfer_to_yaml(
    checkpoint: str | Path,
    model: str,
    *,
    output: str | None,
    scale: str | None,
    trust_checkpoint: bool,
    force: bool,
) -> Transfer:
    """`transfer OLD.pt NEW.yaml -o NEW.pt`: pair by the diff alignment, transfer, write atomically.

    `model` is a YAML file or a bundled name; the output defaults to ``<model stem>.pt`` here.
    """
    from ..composer.bases import resolve_base
    from ..composer.files import read_input

    base = resolve_base(model)
    target = Path(output) if output else Path(f"{Path(base.name).stem}.pt")
    if target.exists() and target.resolve() == Path(checkpoint).resolve():
        raise OutputExistsError(f"output {str(target)!r} is the input checkpoint", hint=Hint.other_output)
    if target.exists() and not force:
        raise OutputExistsError(f"output {str(target)!r} exists", hint=Hint.overwrite)
    if not target.parent.is_dir():
        raise OutputExistsError(f"output folder {str(target.parent)!r} does not exist")
    name = base.name if base.bundled else Path(model).name
    transfer = transfer_by_alignment(
        checkpoint,
        read_input(base.path)[0],
        name,
        scale=scale,
        trust_checkpoint=trust_checkpoint,
    )
    try:
        transfer.save(target)
    except OSError as exc:
        raise CheckpointError(f"cannot write {str(target)!r}: {exc.strerror or exc}") from None
    return transfer
