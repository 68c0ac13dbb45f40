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

``pairing`` is the edit's own old-to-new index map for ``insert``/``remove``
(:func:`transfer_for_edit`), or the layers ``diff`` aligns with identical content for any two
models (:func:`transfer_by_alignment`).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import pickle
import re
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import torch
import yaml

from . import integration
from .build import build_from_dict, parse_model_dict
from .errors import CheckpointError, Hint, OutputExistsError, Param

if TYPE_CHECKING:
    from .composer.edit import EditResult
    from .modules.registry import ModuleSpec

#: The module option that makes an inserted layer the identity at initialisation.
ZERO_INIT_ARG = "zero_init"
#: The key our provenance is stored under in the written checkpoint.
PROVENANCE_KEY = "yolo_compose"
#: Base layers without a partner to copy into: old index -> (the new layer it became, if any; why).
Unpaired = dict[int, tuple[int | None, str]]
_UNSAFE_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")
_HASH_CHUNK = 1 << 20


# --- the report -----------------------------------------------------------------------------------


@dataclass
class SkippedTensor:
    """A base tensor that was not transferred, and why."""

    key: str  # its name in the checkpoint
    target: str | None  # the name it would have had in the new model (None: its layer has no partner)
    reason: str


#: A layer's fate in a transfer: new (no base layer), removed (no new layer), or how much moved.
TransferStatus = Literal["new", "removed", "transferred", "partial", "not transferred"]


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
            return "removed"
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
        return [layer.old for layer in self.layers if layer.new is None and layer.old is not None]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        data = asdict(self)
        data["nc"] = {"checkpoint": self.nc[0], "model": self.nc[1]}
        for layer, row in zip(self.layers, data["layers"], strict=True):
            row["status"] = layer.status
        data["new_layers"] = self.new_layers
        data["removed_layers"] = self.removed_layers
        return data


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


# --- reading a checkpoint -------------------------------------------------------------------------


def load_checkpoint(path: str | Path, *, trust_checkpoint: bool = False) -> dict[str, Any]:
    """Read an ultralytics checkpoint; restricted unpickling unless `trust_checkpoint`.

    Raises CheckpointError (one line) for a missing, unreadable or refused file.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError("no such checkpoint file", path=path)
    mmap = zipfile.is_zipfile(path)  # torch.save's format; older pickles are read whole
    try:
        if trust_checkpoint:
            ckpt = torch.load(path, map_location="cpu", weights_only=False, mmap=mmap)
        else:
            with integration.safe_checkpoint_load(str(path)):
                ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(_refusal(exc), path=path, hint=Hint.trust_checkpoint) from None
    except (ImportError, AttributeError) as exc:  # a trusted pickle naming a class that is not here
        raise CheckpointError(f"cannot unpickle the checkpoint: {exc}", path=path) from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        text = " ".join(str(exc).split())[:200]
        raise CheckpointError(
            f"not a readable torch checkpoint ({type(exc).__name__}: {text})", path=path
        ) from None
    if not isinstance(ckpt, dict) or not isinstance(integration.checkpoint_model(ckpt), torch.nn.Module):
        raise CheckpointError("not an ultralytics checkpoint (no model under 'ema' or 'model')", path=path)
    return ckpt


def _refusal(exc: pickle.UnpicklingError) -> str:
    """The one line for a checkpoint that restricted unpickling refused, naming what it needs."""
    found = _UNSAFE_GLOBAL.search(str(exc))
    needs = f"needs {found.group(1)}" if found else "needs something"
    return f"refusing to unpickle: the checkpoint {needs}, which restricted loading does not allow"


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _class_count(model: torch.nn.Module) -> int:
    """Classes a built or loaded detection-family model predicts."""
    yaml_nc = getattr(model, "yaml", {}).get("nc")
    return int(yaml_nc if yaml_nc is not None else getattr(model.model[-1], "nc", 0))


def _scale_of(model: torch.nn.Module) -> str:
    return str(getattr(model, "yaml", {}).get("scale") or "")


# --- building and comparing -----------------------------------------------------------------------


def _build(yaml_text: str, *, name: str, scale: str | None, nc: int | None = None) -> torch.nn.Module:
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
    scale = _scale_of(base)
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
            shape_a = _shape_text(sa[key]) if key in sa else "missing"
            shape_b = _shape_text(sb[key]) if key in sb else "missing"
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


def _shape_text(tensor: torch.Tensor) -> str:
    return "x".join(str(d) for d in tensor.shape) or "scalar"


# --- moving tensors -------------------------------------------------------------------------------


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
                else f"shape {_shape_text(tensor)} -> {_shape_text(target[key])}"
            )
            skipped.append(SkippedTensor(old_key, new_key, why))
        else:
            with torch.no_grad():
                target[key].copy_(tensor)
            copied += 1
    return copied


def _move_all(
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


# --- the whole transfer ---------------------------------------------------------------------------


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
    return _transfer_loaded(
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


def _transfer_loaded(
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
    ckpt_model = integration.checkpoint_model(ckpt)
    scale = scale or _scale_of(ckpt_model) or None
    ckpt_nc = _class_count(ckpt_model)
    base = _build(base_yaml_text, name=base_name, scale=scale, nc=ckpt_nc)
    check_fits(ckpt_model, base, checkpoint=str(path), base_name=base_name)
    del base
    gc.collect()  # the base was only needed for its shapes: free it before the target is built

    model = _build(
        target_yaml_text,
        name=target_name,
        scale=scale,
        nc=_target_nc(base_yaml_text, target_yaml_text, ckpt_nc),
    )
    nc = (ckpt_nc, _class_count(model))
    layers, skipped = _move_all(ckpt_model, model, pairing, unpaired or {}, nc=nc)
    report = TransferReport(
        checkpoint=str(path),
        base=base_name,
        model=target_name,
        scale=_scale_of(model),
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
    from . import __version__

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
) -> Transfer:
    """Carry a base checkpoint across one insert or remove: layer ``old`` goes to ``index_map[old]``.

    `new_layers` are the edit's inserted indices (they keep their initialisation); a base layer
    missing from `index_map` was removed. `edit`: what was done, recorded in the metadata.
    """
    pairing = {old: new for old, new in index_map.items() if new not in set(new_layers)}
    return transfer_weights(
        base_ckpt_path,
        base_yaml_text=base_yaml_text,
        base_name=base_name,
        target_yaml_text=composed_yaml_text,
        target_name=composed_name,
        pairing=pairing,
        scale=scale,
        trust_checkpoint=trust_checkpoint,
        provenance=edit,
    )


# --- any two models: the diff alignment pairs the layers -----------------------------------------


def checkpoint_yaml(ckpt: dict[str, Any], *, path: Path) -> tuple[str, str]:
    """(YAML text, name) of the model a checkpoint holds: the dict ultralytics stored as ``model.yaml``."""
    model_dict = getattr(integration.checkpoint_model(ckpt), "yaml", None)
    if not isinstance(model_dict, dict) or "backbone" not in model_dict:
        raise CheckpointError(
            "the checkpoint's model has no YAML (model.yaml) to pair its layers by", path=path
        )
    plain = {k: v for k, v in model_dict.items() if k != "yaml_file"}
    name = Path(str(model_dict.get("yaml_file") or f"{path.stem}.yaml")).name
    return yaml.safe_dump(plain, sort_keys=False, default_flow_style=None), name


def aligned_pairing(
    old_text: str, old_name: str, new_text: str, new_name: str
) -> tuple[dict[int, int], dict[int, str]]:
    """Pair layers by ``diff``'s alignment: (old -> new for same module, repeats and args; old -> why not)."""
    from .composer.diff import align_nodes, spec_nodes
    from .composer.spec import ModelSpec

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
    return _transfer_loaded(
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


# --- insert / remove --weights ----------------------------------------------------------------


def identity_init_args(module: ModuleSpec, args: list[Any] | None) -> list[Any] | None:
    """The row's args with ``zero_init`` set to True (the inserted layer starts as the identity).

    Args the user gave are kept, and so is a ``zero_init`` they wrote; a module without the
    option gets its args unchanged.
    """
    names = [arg.name for arg in module.args]
    if ZERO_INIT_ARG not in names:
        return args
    position = names.index(ZERO_INIT_ARG)
    if args is not None and len(args) > position:
        return list(args)
    full = list(module.default_args if args is None else args)
    full.extend(arg.default for arg in module.args[len(full) : position + 1])
    full[position] = True
    return full


#: The fields of an edit's report that a written checkpoint records as its provenance.
_EDIT_KEYS = (
    "action",
    "base",
    "module",
    "target",
    "placement",
    "new_index",
    "removed_index",
    "row",
    "index_map",
)


def _edit_provenance(edit: EditResult) -> dict[str, Any]:
    """The edit as recorded in the checkpoint: what, where, the old-to-new map."""
    data = edit.to_dict()
    return {key: data[key] for key in _EDIT_KEYS}


def transfer_edit_checkpoint(
    edit: EditResult,
    weights: str | Path,
    yaml_target: Path,
    *,
    scale: str | None,
    trust_checkpoint: bool,
    force: bool,
) -> tuple[Transfer, Path]:
    """`insert`/`remove --weights`: the base checkpoint carried across the edit, and where it goes.

    Nothing is written: :func:`write_yaml_and_checkpoint` writes both files once all succeeded.
    """
    from .build import edit_scale

    target = checkpoint_target(yaml_target, force=force)
    if edit.base is None:
        raise CheckpointError("a transfer needs the edit's base YAML to check the checkpoint against",
                              param=Param.weights)
    transfer = transfer_for_edit(
        weights,
        edit.spec.dump(),
        edit.index_map,
        edit.inserted,
        base_yaml_text=edit.base.path.read_text(encoding="utf-8"),
        base_name=edit.base.name,
        composed_name=yaml_target.name,
        scale=edit_scale(edit, scale) or None,
        trust_checkpoint=trust_checkpoint,
        edit=_edit_provenance(edit),
    )
    return transfer, target


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


# --- `yolo-compose transfer` ------------------------------------------------------------------


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
    from .composer.bases import resolve_base
    from .composer.files import read_input

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
        scale=scale or base.scale or None,
        trust_checkpoint=trust_checkpoint,
    )
    try:
        transfer.save(target)
    except OSError as exc:
        raise CheckpointError(f"cannot write {str(target)!r}: {exc.strerror or exc}") from None
    return transfer
