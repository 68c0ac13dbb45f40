"""Progress of a sweep's training: one line on stderr per run as it finishes (or is reused)."""

from __future__ import annotations

import sys
from typing import Any

from .console import printable


def train_line(outcome: Any, *, done: int, total: int) -> str:
    """``[2/3] trained NAME: mAP50 0.512, mAP50-95 0.301, 4.1 s/epoch, runs/NAME``, or why not."""
    where = f"[{done}/{total}]"
    if outcome.status != "ok":
        return f"{where} training failed {outcome.name}: {outcome.error}"
    verb = "skipped (trained before, same job)" if outcome.skipped else "trained"
    scores = ", ".join(
        f"{label} {value:.3f}"
        for label, value in (("mAP50", outcome.map50), ("mAP50-95", outcome.map50_95))
        if value is not None
    )
    epoch = f"{outcome.epoch_time_s:.1f} s/epoch" if outcome.epoch_time_s is not None else ""
    details = ", ".join(part for part in (scores, epoch, outcome.run_dir) if part)
    return f"{where} {verb} {outcome.name}: {details}"


def print_train_outcome(outcome: Any, *, done: int, total: int) -> None:
    """One progress line on stderr (results own stdout)."""
    sys.stderr.write(printable(train_line(outcome, done=done, total=total)) + "\n")
    sys.stderr.flush()
