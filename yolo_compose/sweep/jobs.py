"""What one training run of a sweep is (:class:`TrainJob`) and what came of it (:class:`TrainOutcome`).

Both are plain data with ``to_dict``/``from_dict``, so a job crosses into the training process
(:mod:`.child_process`) or a Ray task (:mod:`.executors`) as JSON and its outcome comes back the
same way, whatever ran it. A job's train args come from ``sweep --train-arg KEY=VALUE``, read here
by :func:`parse_train_args` as ultralytics' CLI reads them, minus those the sweep sets itself.
Importing this module imports nothing heavy (the command line checks train args before any work).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import ComposeError

#: Run statuses.
OK = "ok"
FAILED = "failed"
#: Train args that the sweep sets itself: given as their own options, or fixed by the sweep.
RESERVED_TRAIN_ARGS = {
    "model": "each run trains its variant's YAML",
    "data": "the sweep's dataset",
    "epochs": "the sweep's epochs",
    "imgsz": "the sweep's image size",
    "project": "runs go to DIR/runs/<variant>",
    "name": "runs go to DIR/runs/<variant>",
    "exist_ok": "runs go to DIR/runs/<variant>",
    "resume": "a rerun of the sweep resumes it",
    "device": "the executor gives each run its device (CUDA_VISIBLE_DEVICES limits which)",
}


class TrainArgError(ComposeError):
    """A train arg is not KEY=VALUE, or sets what the sweep decides itself."""


@dataclass(frozen=True)
class TrainJob:
    """One training run: plain data, so it crosses a process or a Ray task unchanged."""

    name: str  # the variant's name (the base's: "base"); also the key of its results row
    model_yaml: str  # the model YAML the run trains (its file name tells ultralytics the scale)
    data: str  # the dataset YAML
    epochs: int
    imgsz: int
    project: str  # the folder the run folder goes in
    run_name: str  # the run folder's name under `project`
    weights: str | None = None  # a checkpoint of `model_yaml` to start from; None: from scratch
    weights_origin: str = ""  # what identifies `weights` for the key (default: the file's hash)
    train_args: tuple[tuple[str, Any], ...] = ()  # further ultralytics train args, sorted by key
    device: str = ""  # set by the executor ("cpu", "0"); "" until then

    @property
    def run_dir(self) -> Path:
        return Path(self.project) / self.run_name

    def key(self) -> str:
        """A hash of everything that changes what the run would produce (not where it runs)."""
        from ..weights import file_sha256

        weights = self.weights_origin or (file_sha256(Path(self.weights)) if self.weights else "")
        parts = {
            "model": Path(self.model_yaml).read_text(encoding="utf-8"),
            "data": self.data,
            "data_text": _text_or_empty(self.data),
            "epochs": self.epochs,
            "imgsz": self.imgsz,
            "train_args": [list(item) for item in self.train_args],
            "weights": weights,
        }
        text = json.dumps(parts, sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def train_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``YOLO(...).train``."""
        return {
            **dict(self.train_args),
            "data": self.data,
            "epochs": self.epochs,
            "imgsz": self.imgsz,
            "project": str(Path(self.project).resolve()),
            "name": self.run_name,
            "exist_ok": True,
            "device": self.device or None,
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainJob:
        args = tuple((str(k), v) for k, v in data.get("train_args", ()))
        return cls(**{**data, "train_args": args})


def _text_or_empty(path: str) -> str:
    """A dataset YAML's text (so an edited dataset retrains), '' for a name ultralytics resolves."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


@dataclass(frozen=True)
class TrainOutcome:
    """What came of one run; the same whatever executor ran it."""

    name: str
    status: str  # OK or FAILED
    map50: float | None = None
    map50_95: float | None = None
    epoch_time_s: float | None = None
    run_dir: str = ""
    error: str = ""  # one line, for a failed run
    key: str = ""  # the job's key, for resuming
    skipped: bool = False  # reused from an earlier sweep: nothing was trained this time

    @property
    def ok(self) -> bool:
        return self.status == OK

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainOutcome:
        known = {f: data[f] for f in cls.__dataclass_fields__ if f in data}
        return cls(**known)


# --- the train args -------------------------------------------------------------------------------


def parse_train_args(items: Iterable[str]) -> tuple[tuple[str, Any], ...]:
    """``KEY=VALUE`` strings as sorted (key, value) pairs; values read as ultralytics' CLI reads them.

    ``batch=8`` is an int, ``lr0=0.01`` a float, ``plots=False`` a bool, ``fraction=none`` None,
    ``[0.5, 0.5]`` a list; anything else a string. Raises TrainArgError for a malformed or reserved key.
    """
    args: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise TrainArgError(f"train arg {item!r}: expected KEY=VALUE, e.g. batch=8")
        if key in RESERVED_TRAIN_ARGS:
            raise TrainArgError(f"train arg {key}: set by the sweep itself ({RESERVED_TRAIN_ARGS[key]})")
        args[key] = _scalar(value.strip())
    return tuple(sorted(args.items()))


def _scalar(text: str) -> Any:
    """A CLI value as a Python value: bool/None words, numbers and literal lists; else the string."""
    import ast

    words = {"true": True, "false": False, "none": None, "null": None}
    if text.lower() in words:
        return words[text.lower()]
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text
    return value if isinstance(value, int | float | list | tuple) else text
