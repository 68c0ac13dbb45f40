"""The results of a sweep: one row per model (the base and each variant), as JSON and CSV.

Schema (``schema_version`` 1). ``results.json`` is ``{"schema_version": 1, "columns": [...],
"rows": [...], ...settings}``; ``results.csv`` has the same rows and columns (a list is written
``a;b``, a shape ``CxHxW``, a missing value as an empty cell). The renderer writes both files
(``render.sweep.write_results``); :meth:`SweepResults.load` reads results.json back. Columns, in order:

======================  ================================================================================
name                    row name and the YAML's file stem (``yolo11n-halo-after8``; the base: ``yolo11n``)
scale                   the scale built
position                0 for the base, then 1, 2, ... in layer order (before T just before after T)
kind                    ``base``, ``after``, ``before`` or ``template``
placement               for people: ``after 8 (C3k2)``, ``before 23 (Detect)``, ``template halo-p5``
target                  index in the base of the layer the module follows (precedes); null otherwise
target_module           that layer's module
yaml                    the model file in the sweep folder (null when it failed to build)
sha256                  first 12 hex digits of that file's text
inserted                indices (in the variant) of the rows written (null for the base)
status                  ``ok`` or ``failed``
error                   why it failed, one line (null when ok)
params                  parameters of the built model: ``sum(p.numel())``
gflops                  exact GFLOPs at imgsz, counted as ``insert`` counts them
d_params, d_gflops      the variant minus the base at the same scale
d_params_pct, ...       the same in percent of the base
out_shape               output C x H x W of each inserted row at imgsz
train_mem_mib           memory of one training step at batch 8, ``memory_imgsz`` (``memory_method``: how)
latency_ms              median wall time of an eval forward (batch 1, ``latency_imgsz``, CPU, ``threads``)
latency_ratio           latency_ms / the base's, from the same round-robin rounds
map50, map50_95         after training (``--train``); null until then
epoch_time_s            seconds per training epoch; null until trained
run_dir                 the training run's folder (its weights); null until trained
train_status            null (not trained), ``ok``, ``failed`` or another state the trainer sets
train_error             why training failed, one line
======================  ================================================================================

**Extending it (training).** A later step updates the same rows and files: it reads the rows
(:attr:`SweepResults.rows`, or :meth:`SweepResults.load` of a folder), trains each ``status ==
"ok"`` row's ``yaml``, calls :meth:`SweepResults.update_row` with the training columns as each run
ends, and has the files rewritten after each (``render.sweep.write_results``, atomic: a reader never
sees half a file), so an interrupted sweep keeps every finished run; a rerun carries them over
(:meth:`SweepResults.carry_training_from`, matched by name and file hash). :attr:`exit_code`
counts a failed training as a failure too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..composer.files import read_input
from ..errors import ComposeError

SCHEMA_VERSION = 1
RESULTS_JSON = "results.json"
RESULTS_CSV = "results.csv"
PLOT_FILE = "sweep.png"

MEASURE_COLUMNS = (
    "name", "scale", "position", "kind", "placement", "target", "target_module", "yaml", "sha256",
    "inserted", "status", "error", "params", "gflops", "d_params", "d_params_pct", "d_gflops",
    "d_gflops_pct", "out_shape", "train_mem_mib", "latency_ms", "latency_ratio",
)
#: Filled by training (``--train``); present, null, from the first write.
TRAIN_COLUMNS = ("map50", "map50_95", "epoch_time_s", "run_dir", "train_status", "train_error")
COLUMNS = MEASURE_COLUMNS + TRAIN_COLUMNS

OK, FAILED = "ok", "failed"


def empty_row(**fields: Any) -> dict[str, Any]:
    """A row with every column, null unless given."""
    unknown = set(fields) - set(COLUMNS)
    if unknown:
        raise KeyError(f"not sweep result columns: {', '.join(sorted(unknown))}")
    return {column: fields.get(column) for column in COLUMNS}


@dataclass
class SweepResults:
    """Every row of a sweep and the settings it ran with; written as results.json and results.csv."""

    rows: list[dict[str, Any]]
    settings: dict[str, Any] = field(default_factory=dict)  # module, base, imgsz, memory_method, ...

    def row(self, name: str) -> dict[str, Any]:
        """The row of that name; KeyError when there is none."""
        for row in self.rows:
            if row["name"] == name:
                return row
        raise KeyError(f"no sweep row named {name!r}")

    def update_row(self, name: str, **fields: Any) -> dict[str, Any]:
        """Set columns of one row (unknown columns refused); returns the row."""
        unknown = set(fields) - set(COLUMNS)
        if unknown:
            raise KeyError(f"not sweep result columns: {', '.join(sorted(unknown))}")
        row = self.row(name)
        row.update(fields)
        return row

    @property
    def failed(self) -> list[dict[str, Any]]:
        """Rows that failed to build or measure, or whose training failed."""
        return [row for row in self.rows if row["status"] != OK or row["train_status"] == FAILED]

    @property
    def exit_code(self) -> int:
        """0 when every row built (and trained, where asked), 1 otherwise."""
        return 1 if self.failed else 0

    @property
    def trained(self) -> bool:
        """True when some row has a mAP."""
        return any(row["map50_95"] is not None for row in self.rows)

    @classmethod
    def load(cls, folder: str | Path) -> SweepResults | None:
        """The results a previous sweep wrote in `folder` (None when there are none, or another schema)."""
        path = Path(folder) / RESULTS_JSON
        if not path.is_file():
            return None
        try:
            data = json.loads(read_input(path)[0])
        except (ComposeError, json.JSONDecodeError):
            return None
        if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
            return None
        rows = [empty_row(**{k: v for k, v in row.items() if k in COLUMNS}) for row in data.get("rows", [])]
        settings = {k: v for k, v in data.items() if k not in ("schema_version", "columns", "rows")}
        return cls(rows, settings)

    def carry_training_from(self, previous: SweepResults | None) -> list[str]:
        """Copy the training columns of rows a previous run already trained (same name, same file).

        Returns the names carried over; a row whose YAML changed is not (it needs training again).
        """
        if previous is None:
            return []
        carried = []
        for old in previous.rows:
            try:
                row = self.row(old["name"])
            except KeyError:
                continue
            if old["train_status"] is not None and old["sha256"] == row["sha256"]:
                row.update({column: old[column] for column in TRAIN_COLUMNS})
                carried.append(row["name"])
        return carried
