"""Training with plain ultralytics, our modules registered: its command line and ``YOLO().train``.

What a run leaves behind is read the way its trainer writes it: the final metrics, and
``results.csv`` in the run folder.
"""

from __future__ import annotations

import sys
from typing import Any

from .plugin import register_with_ultralytics

#: The box metrics a detection-family trainer reports (its final metrics and results.csv columns).
MAP50_KEY = "metrics/mAP50(B)"
MAP50_95_KEY = "metrics/mAP50-95(B)"
RESULTS_CSV = "results.csv"


def run_ultralytics_cli(args: list[str]) -> None:
    """Run ultralytics' own command line (``yolo ARGS``) in this process, our modules registered.

    ``entrypoint()`` reads ``ultralytics.cfg.ARGV``, which is the ``sys.argv`` list object itself
    (and its help text quotes the arguments as they were at import): its contents are replaced in
    place before ultralytics is imported (so arguments with spaces survive), then restored.
    """
    saved = list(sys.argv)
    sys.argv[:] = ["yolo", *args]
    try:
        register_with_ultralytics()
        from ultralytics.cfg import entrypoint

        entrypoint()
    finally:
        sys.argv[:] = saved


def train_model(source: str, **train_args: Any) -> dict[str, Any]:
    """Train with plain ultralytics (``YOLO(source).train(**train_args)``), our modules registered.

    `source` is a model YAML or a checkpoint. Returns the run folder, mAP50 and mAP50-95 of the
    final validation (results.csv's last row when the trainer kept no final metrics) and the mean
    wall time of an epoch (validation included), read from results.csv.
    """
    import csv
    from pathlib import Path

    register_with_ultralytics()
    from ultralytics.models import YOLO

    model = YOLO(source)
    model.train(**train_args)
    trainer: Any = model.trainer
    save_dir = Path(trainer.save_dir)
    rows = []
    if (save_dir / RESULTS_CSV).is_file():
        with (save_dir / RESULTS_CSV).open(encoding="utf-8", newline="") as handle:
            rows = [{k.strip(): v for k, v in row.items()} for row in csv.DictReader(handle)]
    final = dict(trainer.metrics or {}) if isinstance(trainer.metrics, dict) else {}
    last = rows[-1] if rows else {}

    def metric(key: str) -> float | None:
        value = final.get(key, last.get(key))
        return None if value in (None, "") else float(value)

    epoch_time = float(last["time"]) / len(rows) if rows and last.get("time") else None
    return {
        "run_dir": str(save_dir),
        "map50": metric(MAP50_KEY),
        "map50_95": metric(MAP50_95_KEY),
        "epoch_time_s": epoch_time,
    }
