"""results.csv read back into typed rows, to hold it to results.json (the tests' reader, not the package's)."""

from __future__ import annotations

import csv
import io
from typing import Any

INT_COLUMNS = {"position", "target", "params", "d_params"}
FLOAT_COLUMNS = {"gflops", "d_gflops", "d_params_pct", "d_gflops_pct", "train_mem_mib", "latency_ms",
                 "latency_ratio", "map50", "map50_95", "epoch_time_s"}


def parse_csv(text: str) -> list[dict[str, Any]]:
    """Rows read back from results.csv text, typed as in results.json."""
    return [{column: _parse_cell(column, cell) for column, cell in record.items()}
            for record in csv.DictReader(io.StringIO(text))]


def _parse_cell(column: str, cell: str) -> Any:
    if cell == "":
        return None
    if column == "out_shape":
        return [[int(d) for d in shape.split("x")] for shape in cell.split(";")]
    if column == "inserted":
        return [int(item) for item in cell.split(";")]
    if column in INT_COLUMNS:
        return int(cell)
    if column in FLOAT_COLUMNS:
        return float(cell)
    return cell
