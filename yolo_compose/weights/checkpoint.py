"""Reading a checkpoint (restricted unpickling) and the facts read off it: hash, classes, scale, YAML."""

from __future__ import annotations

import hashlib
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import torch
import yaml

from .. import integration
from ..errors import CheckpointError, Hint, exception_line

_UNSAFE_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


_HASH_CHUNK = 1 << 20
#: Characters of an unreadable file's reason kept in the one-line error (torch's can run long).
_REASON_CHARS = 240


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
        raise CheckpointError(
            f"not a readable torch checkpoint ({exception_line(exc, limit=_REASON_CHARS)})", path=path
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


def class_count(model: torch.nn.Module) -> int:
    """Classes a built or loaded detection-family model predicts."""
    yaml_nc = getattr(model, "yaml", {}).get("nc")
    return int(yaml_nc if yaml_nc is not None else getattr(model.model[-1], "nc", 0))


def scale_of(model: torch.nn.Module) -> str:
    return str(getattr(model, "yaml", {}).get("scale") or "")


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
