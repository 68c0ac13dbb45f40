"""Training a sweep's base and variants: one fresh process per run, resumable, any executor.

A :class:`TrainJob` says everything one run needs (model, starting checkpoint, data, epochs,
image size, train args, where its run folder goes). Each run is plain ultralytics
(``YOLO(yaml or checkpoint).train(...)`` after ``import yolo_compose``) in its own interpreter, so a
failure, a crash or an out-of-memory kill ends that run only, and each run gets its own device.
The child writes ``outcome.json`` into its run folder; the parent turns that (or the exit status
and the log's last line, when the child died) into a :class:`TrainOutcome`.

Resuming: every finished run is written to a ledger (``train-state.json`` beside the run folders)
as soon as it finishes, keyed on the run's name and :meth:`TrainJob.key` (a hash of the model
YAML's text, the data, epochs, image size, train args and the starting weights). A rerun reuses a
run whose name and key match, that succeeded and whose weights are still there; anything else
(new, changed, failed, interrupted) is trained again from a clean run folder.

Executors (:mod:`.executors`) only decide where and how many runs go at once; the outcome of a
run is the same whatever ran it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from ..errors import CheckpointError, ComposeError

#: Run statuses.
OK = "ok"
FAILED = "failed"
#: The ledger of finished runs, beside the run folders.
LEDGER_NAME = "train-state.json"
#: What the child writes into its run folder: its status, metrics or error.
OUTCOME_NAME = "outcome.json"
#: The child's stdout and stderr (ultralytics' log), in its run folder.
LOG_NAME = "train.log"
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
_ERROR_CHARS = 300


class TrainArgError(ComposeError):
    """A train arg is not KEY=VALUE, or sets what the sweep decides itself."""


# --- what one run is, and what came of it ---------------------------------------------------------


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


# --- one run in a fresh process -------------------------------------------------------------------


def run_job(job: TrainJob, *, env: Mapping[str, str] | None = None) -> TrainOutcome:
    """Train `job` in a fresh interpreter (its own device through `env`); never raises for the run.

    The run folder is emptied first: ultralytics appends to an existing results.csv.
    """
    run_dir = job.run_dir
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    outcome_file = run_dir / OUTCOME_NAME
    command = [sys.executable, "-c", _CHILD, json.dumps(job.to_dict()), str(outcome_file)]
    with (run_dir / LOG_NAME).open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        try:
            code = process.wait()
        except BaseException:  # interrupted: the run goes with the sweep
            process.terminate()
            process.wait()
            raise
    return _read_outcome(job, code, outcome_file)


#: The child's program: all it imports of ours is this module (and, through it, ``yolo_compose``).
_CHILD = "import sys; from yolo_compose.sweep.train import child_main; sys.exit(child_main(sys.argv[1:]))"


def child_main(argv: Sequence[str]) -> int:
    """The training process: ``JOB_JSON OUTCOME_PATH``; writes the outcome, exit 0 when trained."""
    job = TrainJob.from_dict(json.loads(argv[0]))
    target = Path(argv[1])
    try:
        from .. import integration

        result = integration.train_model(job.weights or job.model_yaml, **job.train_kwargs())
        outcome: dict[str, Any] = {"status": OK, **result}
        code = 0
    except BaseException as exc:  # the parent reports it; this process ends here either way
        outcome = {"status": FAILED, "error": one_line(exc)}
        code = 1
    target.write_text(json.dumps(outcome), encoding="utf-8")
    return code


def one_line(exc: BaseException) -> str:
    """``Type: message`` on one line (whitespace collapsed), shortened."""
    text = " ".join(str(exc).split()) or "(no message)"
    return f"{type(exc).__name__}: {text}"[:_ERROR_CHARS]


def _read_outcome(job: TrainJob, code: int, outcome_file: Path) -> TrainOutcome:
    """The child's outcome file, or why there is none (a signal, an exit without one)."""
    base = TrainOutcome(job.name, FAILED, run_dir=str(job.run_dir))
    try:
        data = json.loads(outcome_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return replace(base, error=_death(code, job.run_dir / LOG_NAME))
    if data.get("status") != OK:
        return replace(base, error=str(data.get("error") or f"exit {code}"))
    return TrainOutcome(
        job.name,
        OK,
        map50=data.get("map50"),
        map50_95=data.get("map50_95"),
        epoch_time_s=data.get("epoch_time_s"),
        run_dir=str(data.get("run_dir") or job.run_dir),
    )


def _death(code: int, log: Path) -> str:
    """A child that left no outcome: its signal (9 is how an out-of-memory kill looks) and last log line."""
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        why = f"killed by {name}" + (" (out of memory?)" if -code == signal.SIGKILL else "")
    else:
        why = f"exit {code} without an outcome"
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
        lines = [line for line in text.splitlines() if line.strip()]
    except OSError:
        lines = []
    return f"{why}; last log line: {lines[-1].strip()}"[:_ERROR_CHARS] if lines else why


# --- the ledger: what finished, for resuming ------------------------------------------------------


@dataclass
class Ledger:
    """Finished runs by name, written atomically after every run (``train-state.json``)."""

    path: Path
    outcomes: dict[str, TrainOutcome] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Ledger:
        """The ledger at `path`; an unreadable or missing one is empty (everything trains)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            runs = {name: TrainOutcome.from_dict(row) for name, row in data["runs"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            runs = {}
        return cls(path, runs)

    def reusable(self, job: TrainJob, key: str) -> TrainOutcome | None:
        """The earlier outcome of this very job when it succeeded and its run folder still holds weights."""
        earlier = self.outcomes.get(job.name)
        if earlier is None or not earlier.ok or earlier.key != key:
            return None
        if not (job.run_dir / "weights").is_dir():
            return None
        return replace(earlier, skipped=True)

    def record(self, outcome: TrainOutcome) -> None:
        """Add one outcome and rewrite the file atomically."""
        from ..composer.files import write_output

        self.outcomes[outcome.name] = replace(outcome, skipped=False)
        runs = {name: o.to_dict() for name, o in sorted(self.outcomes.items())}
        for row in runs.values():
            row.pop("skipped")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_output(self.path, json.dumps({"runs": runs}, indent=2) + "\n", force=True)


# --- a whole sweep's training ---------------------------------------------------------------------


class Executor(Protocol):
    """Runs jobs somewhere; calls `done` (in the caller's thread) as each one finishes."""

    def run(self, jobs: Sequence[TrainJob], done: Callable[[TrainOutcome], None]) -> None: ...


def train_all(
    jobs: Sequence[TrainJob],
    executor: Executor,
    *,
    ledger_path: Path,
    prepare: Callable[[TrainJob], TrainJob] | None = None,
    on_outcome: Callable[[TrainOutcome], None] | None = None,
) -> list[TrainOutcome]:
    """Train every job not already finished; outcomes in job order.

    `prepare` runs (in this process) for each job that will train, before any trains: it may write
    the job's starting checkpoint and return the job that uses it. `on_outcome` sees every outcome,
    reused ones first, each as soon as it is known (after the ledger has it), so results files can
    be rewritten as the sweep goes.
    """
    ledger = Ledger.load(ledger_path)
    keys = {job.name: job.key() for job in jobs}
    outcomes: dict[str, TrainOutcome] = {}
    pending = []
    for job in jobs:
        earlier = ledger.reusable(job, keys[job.name])
        if earlier is None:
            pending.append(job)
        else:
            outcomes[job.name] = earlier
            if on_outcome is not None:
                on_outcome(earlier)

    def done(outcome: TrainOutcome) -> None:
        outcome = replace(outcome, key=keys[outcome.name])
        outcomes[outcome.name] = outcome
        ledger.record(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    ready = []
    for job in pending:
        try:
            ready.append(job if prepare is None else prepare(job))
        except ComposeError as exc:  # e.g. a checkpoint that does not fit: this run fails, not the sweep
            done(TrainOutcome(job.name, FAILED, run_dir=str(job.run_dir), error=str(exc)))
    if ready:
        executor.run(ready, done)
    return [outcomes[job.name] for job in jobs]


# --- a sweep's rows -------------------------------------------------------------------------------

#: Where a sweep's run folders (and the ledger) go, under the sweep folder.
RUNS_FOLDER = "runs"


@dataclass(frozen=True)
class TrainSettings:
    """`sweep --train` as asked: the same for every run of the sweep."""

    data: str
    epochs: int
    imgsz: int
    train_args: tuple[tuple[str, Any], ...] = ()
    weights: str | None = None  # BASE.pt: the base trains from it, each variant from its transfer
    trust_checkpoint: bool = False


def jobs_for_rows(
    rows: Sequence[Mapping[str, Any]], folder: Path, settings: TrainSettings, *, base_kind: str = "base"
) -> list[TrainJob]:
    """One job per row that built (the base's first): its YAML in `folder`, its run in ``runs/<name>``.

    With weights, the base starts from them and a variant from ``<name>.pt`` beside its YAML (written
    by :func:`checkpoint_preparer` just before it trains); both are keyed on the base weights' hash.
    """
    from ..weights import checkpoint_target, file_sha256

    origin = file_sha256(Path(settings.weights)) if settings.weights else ""
    jobs = []
    for row in sorted(rows, key=lambda r: r.get("kind") != base_kind):
        if row.get("status") != OK or not row.get("yaml"):
            continue
        model_yaml = folder / Path(str(row["yaml"])).name
        weights = None
        if settings.weights:
            is_base = row.get("kind") == base_kind
            weights = settings.weights if is_base else str(checkpoint_target(model_yaml, force=True))
        jobs.append(
            TrainJob(
                name=str(row["name"]),
                model_yaml=str(model_yaml),
                data=settings.data,
                epochs=settings.epochs,
                imgsz=settings.imgsz,
                project=str(folder / RUNS_FOLDER),
                run_name=str(row["name"]),
                weights=weights,
                weights_origin=origin,
                train_args=settings.train_args,
            )
        )
    return jobs


def checkpoint_preparer(
    edits: Mapping[str, tuple[Any, str | None]], settings: TrainSettings
) -> Callable[[TrainJob], TrainJob]:
    """`prepare` for :func:`train_all`: writes a variant's starting checkpoint from the base weights.

    `edits` maps a variant's name to (its EditResult, its scale). The checkpoint is the one
    ``insert --weights`` writes (the base's tensors at their new indices, beside the YAML); the
    base weights are read and checked against the base once per scale. The base job, and every
    job without weights, is returned as it is.
    """
    checked_at: dict[str | None, Any] = {}

    def prepare(job: TrainJob) -> TrainJob:
        if not settings.weights or job.name not in edits:
            return job
        from ..weights import check_edit_checkpoint, checkpoint_target, transfer_edit_checkpoint

        edit, scale = edits[job.name]
        yaml_path = Path(job.model_yaml)
        if scale not in checked_at:
            checked_at[scale] = check_edit_checkpoint(
                edit, settings.weights, yaml_path, scale=scale,
                trust_checkpoint=settings.trust_checkpoint, force=True,
            )[0]
        transfer = transfer_edit_checkpoint(edit, checked_at[scale], yaml_path)
        target = checkpoint_target(yaml_path, force=True)  # where insert --weights writes it
        try:
            transfer.save(target)
        except OSError as exc:
            raise CheckpointError(f"cannot write {str(target)!r}: {exc.strerror or exc}") from None
        return replace(job, weights=str(target))

    return prepare


def outcome_columns(outcome: TrainOutcome) -> dict[str, Any]:
    """A results row's training columns from one outcome."""
    return {
        "map50": outcome.map50,
        "map50_95": outcome.map50_95,
        "epoch_time_s": outcome.epoch_time_s,
        "run_dir": outcome.run_dir or None,
        "train_status": outcome.status,
        "train_error": outcome.error or None,
    }


def train_sweep(
    results: Any,
    folder: Path,
    settings: TrainSettings,
    executor: Executor,
    *,
    edits: Mapping[str, tuple[Any, str | None]],
    save: Callable[[], None],
    progress: Callable[[TrainOutcome, int, int], None] | None = None,
) -> list[TrainOutcome]:
    """Train the base and every variant that built; each outcome goes into `results` as it comes.

    `results` is the sweep's results (rows by name, ``update_row``): its training columns are set
    and `save()` (results files and plot, each written atomically) called after every run, so an
    interrupted sweep keeps what finished. `progress(outcome, done, total)` is told of each.
    """
    jobs = jobs_for_rows(results.rows, folder, settings)
    results.settings["train"] = {
        "data": settings.data,
        "epochs": settings.epochs,
        "imgsz": settings.imgsz,
        "train_args": dict(settings.train_args),
        "weights": settings.weights,
    }
    finished = 0

    def record(outcome: TrainOutcome) -> None:
        nonlocal finished
        finished += 1
        results.update_row(outcome.name, **outcome_columns(outcome))
        save()
        if progress is not None:
            progress(outcome, finished, len(jobs))

    return train_all(
        jobs,
        executor,
        ledger_path=folder / RUNS_FOLDER / LEDGER_NAME,
        prepare=checkpoint_preparer(edits, settings),
        on_outcome=record,
    )

