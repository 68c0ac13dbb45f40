"""Training a sweep's base and variants: one fresh process per run, resumable, any executor.

This module decides which runs a sweep asks for and puts their outcomes into its results: one
:class:`~.jobs.TrainJob` per row that built (:func:`jobs_for_rows`), a variant's starting
checkpoint written just before it trains (:func:`checkpoint_preparer`), the runs that did not
already finish handed to an executor (:func:`train_all`) and each outcome written into the rows
as it comes (:func:`train_sweep`). The pieces it stands on:

- :mod:`.jobs`: what one run is and what came of it (plain data), and the train args;
- :mod:`.child_process`: one run in a fresh interpreter, so a crash ends that run only;
- :mod:`.ledger`: the finished runs (``train-state.json``), so a rerun trains only what changed;
- :mod:`.executors`: where and how many runs go at once; the outcome of a run is the same
  whatever ran it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from ..errors import CheckpointError, ComposeError
from .jobs import FAILED, OK, TrainJob, TrainOutcome
from .ledger import LEDGER_NAME, Ledger

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
