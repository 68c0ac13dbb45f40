"""One training run in a fresh interpreter: the parent's side (:func:`run_job`) and the child's program.

Each run is plain ultralytics (``YOLO(yaml or checkpoint).train(...)`` after ``import yolo_compose``)
in its own process, so a failure, a crash or an out-of-memory kill ends that run only, and each run
gets its own device (through the child's environment). The parent passes the job as JSON on the
child's command line; the child writes ``outcome.json`` into its run folder, beside ``train.log``
(its stdout and stderr). The parent turns that file (or, when the child died, its exit status and
the log's last line) into a :class:`~.jobs.TrainOutcome`. Every executor (:mod:`.executors`) runs
its jobs through here, so a run's outcome does not depend on what ran it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import exception_line
from .jobs import FAILED, OK, TrainJob, TrainOutcome

#: What the child writes into its run folder: its status, metrics or error.
OUTCOME_NAME = "outcome.json"
#: The child's stdout and stderr (ultralytics' log), in its run folder.
LOG_NAME = "train.log"
_ERROR_CHARS = 300


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


#: The child's program: all it imports of ours is this module and :mod:`.jobs` (and, through them,
#: ``yolo_compose``).
_CHILD = (
    "import sys; from yolo_compose.sweep.child_process import child_main; sys.exit(child_main(sys.argv[1:]))"
)


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
    """An exception as the one line an outcome records (shortened)."""
    return exception_line(exc, limit=_ERROR_CHARS)


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
