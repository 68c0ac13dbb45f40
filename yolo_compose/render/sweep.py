"""Renderers for `yolo-compose sweep`: the results table, the JSON document, progress and the plot.

The table (sorted by a column of the user's choice) and the folder it wrote go to stdout; the
progress bar goes to stderr, only when stderr is a terminal and the output is not JSON. The plot
(``sweep.png``, 1600 x 900 px) shows Δparams and ΔGFLOPs by position, one line per scale, and
mAP50-95 by position once some row has one; its data are the results rows, and
:func:`write_plot` returns what it drew, read back from the figure. matplotlib (a dependency of
ultralytics) is imported only to draw, with the Agg canvas and no pyplot state.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from ..composer.files import write_output
from ..sweep.results import COLUMNS, FAILED, RESULTS_CSV, RESULTS_JSON, SCHEMA_VERSION, SweepResults
from .console import fits, print_json, print_table, printable, stderr_console, stdout_console
from .summary import gflops_text, params_text, signed

#: Columns `--sort` accepts (ascending; rows without a value last).
SORT_COLUMNS = ("position", "name", "params", "d_params", "gflops", "d_gflops", "train_mem_mib",
                "latency_ms", "latency_ratio", "map50", "map50_95", "epoch_time_s")
PLOT_SIZE = (16.0, 9.0)  # inches, at PLOT_DPI: 1600 x 900 px
PLOT_DPI = 100


def results_dict(results: SweepResults) -> dict[str, Any]:
    """The results document: what `--json` prints and results.json holds (schema: :mod:`..sweep.results`)."""
    return {"schema_version": SCHEMA_VERSION, **results.settings, "columns": list(COLUMNS),
            "rows": [dict(row) for row in results.rows]}


def results_csv(results: SweepResults) -> str:
    """The rows as CSV (what results.csv holds): the header is COLUMNS; lists ``a;b``, shapes
    ``CxHxW``, null empty."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in results.rows:
        writer.writerow([_csv_cell(column, row.get(column)) for column in COLUMNS])
    return buffer.getvalue()


def _csv_cell(column: str, value: Any) -> str:
    """One CSV cell: null empty, shapes CxHxW, lists joined with ';', floats exactly (repr)."""
    if value is None:
        return ""
    if column == "out_shape":
        return ";".join("x".join(str(d) for d in shape) for shape in value)
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    return repr(value) if isinstance(value, float) else str(value)


def write_results(results: SweepResults, folder: Path) -> None:
    """Rewrite results.json and results.csv in `folder`, each atomically (temp file + rename).

    The JSON document is this module's, so the pipeline, below the renderers, does not write it:
    the CLI calls this once the variants are measured and hands it to training as the ``save``
    callback, as it already does for the plot. That keeps the arrows downward without a
    serialiser parameter threaded through the pipeline.
    """
    write_output(folder / RESULTS_JSON, json.dumps(results_dict(results), indent=2) + "\n", force=True)
    write_output(folder / RESULTS_CSV, results_csv(results), force=True)


def render_sweep_json(results: SweepResults) -> None:
    """Print the results document (what results.json holds) on stdout."""
    print_json(results_dict(results))


def sorted_rows(rows: list[dict[str, Any]], column: str) -> list[dict[str, Any]]:
    """Rows by `column` ascending (scale, then position, breaking ties); rows without a value last."""
    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        value = row.get(column)
        return (value is None, value if value is not None else 0, row["scale"], row["position"])

    return sorted(rows, key=key)


def render_sweep_rich(results: SweepResults, *, folder: Path, sort: str = "position") -> None:
    """The table on stdout, then the failures (one line each) and the folder written."""
    console = stdout_console()
    settings = results.settings
    variants = sum(row["kind"] != "base" for row in results.rows)
    title = (f"sweep {settings.get('module')} over {settings.get('base')}: {variants} variants at imgsz "
             f"{settings.get('imgsz')}, sorted by {sort}")
    rows = sorted_rows(results.rows, sort)
    table = sweep_table(rows, trained=results.trained)
    if not fits(console, table):  # a narrow terminal: the deltas without the totals
        table = sweep_table(rows, trained=results.trained, totals=False)
    print_table(console, table, title)
    notes = []
    if settings.get("memory_method"):
        notes.append(f"MiB: training step, batch {settings.get('memory_batch')} at "
                     f"{settings.get('memory_imgsz')}, {settings['memory_method']}")
    if settings.get("latency_imgsz"):
        threads = settings.get("threads")
        plural = "s" * (threads != 1)
        notes.append(f"ms: eval forward at {settings['latency_imgsz']}, median of "
                     f"{settings.get('latency_repeats')}, {threads} thread{plural}, round-robin")
    for note in notes:
        console.print(note, soft_wrap=True)
    for row in results.rows:
        if row["status"] == FAILED:
            line = f"failed: {printable(row['error'] or row['name'])}"
            console.print(Text(line, style="red"), soft_wrap=True)
    console.print(f"wrote {printable(str(folder))}/ (results.csv, results.json, sweep.png, model YAMLs)",
                  soft_wrap=True)


def sweep_table(rows: list[dict[str, Any]], *, trained: bool, totals: bool = True) -> Table:
    """One line per row: where, params, GFLOPs (without `totals`: only their deltas), output shape,
    memory, latency. Numbers never wrap; only the placement and the output shapes do."""
    cells = [_cells(row, trained) for row in rows]
    columns = [name for name in cells[0] if totals or name not in ("params", "GFLOPs")] if cells else []
    if len({row["scale"] for row in rows}) < 2:
        columns.remove("scale")
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
    for name in columns:
        left = name in ("placement", "output")
        table.add_column(name, justify="left" if left else "right", no_wrap=not left,
                         overflow="fold" if left else "ellipsis")
    for row, values in zip(rows, cells, strict=True):
        table.add_row(*(values[name] for name in columns), style="red" if row["status"] == FAILED else None)
    return table


def _cells(row: dict[str, Any], trained: bool) -> dict[str, str]:
    """A row's cells by column title."""
    failed = row["status"] == FAILED
    shapes = row["out_shape"] or []
    cells = {
        "#": str(row["position"]),
        "placement": printable(row["placement"]),
        "scale": row["scale"] or "-",
        "params": _or_dash(row["params"], params_text),
        "Δparams": "failed" if failed else _or_dash(row["d_params"], lambda v: signed(v, thousands=True)),
        "GFLOPs": _or_dash(row["gflops"], gflops_text),
        "ΔGFLOPs": _or_dash(row["d_gflops"], signed),
        "output": " ".join("x".join(str(d) for d in shape) for shape in shapes) or "-",
        "MiB": _or_dash(row["train_mem_mib"], lambda v: f"{v:.0f}"),
        "ms": _or_dash(row["latency_ms"], lambda v: f"{v:.1f}"),
        "×base": _or_dash(row["latency_ratio"], lambda v: f"{v:.2f}"),
    }
    if trained:
        cells["mAP50"] = _or_dash(row["map50"], lambda v: f"{v:.3f}")
        cells["mAP50-95"] = _or_dash(row["map50_95"], lambda v: f"{v:.3f}")
    return cells


def _or_dash(value: Any, text: Callable[[Any], str]) -> str:
    return "-" if value is None else text(value)


# --- progress --------------------------------------------------------------------------------------


@contextmanager
def sweep_progress(total: int, *, enabled: bool) -> Iterator[Callable[[str], None]]:
    """A progress bar on stderr (when enabled and stderr is a terminal); yields the step callback."""
    if not enabled or not sys.stderr.isatty():
        yield lambda _text: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.description}"))
    with Progress(*columns, console=stderr_console(), transient=True) as progress:
        task = progress.add_task("", total=total)

        def step(text: str) -> None:
            progress.update(task, advance=1, description=printable(text))

        yield step


# --- the plot --------------------------------------------------------------------------------------


PANELS = (("d_params", "Δparams"), ("d_gflops", "ΔGFLOPs"), ("map50_95", "mAP50-95"))


def plot_panels(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The panels to draw: Δparams and ΔGFLOPs, and mAP50-95 when some row has a value."""
    has_map = any(row.get("map50_95") is not None for row in rows)
    return [panel for panel in PANELS if panel[0] != "map50_95" or has_map]


def write_plot(results: SweepResults, path: str | Path) -> dict[str, dict[str, list[Any]]]:
    """Draw the sweep by position into a PNG; returns what was drawn, read back from the figure.

    One panel per quantity, one line per scale, x = the rows in position order (the base first:
    0 for the deltas, the reference for mAP). Failed rows are gaps. Returns ``{panel column:
    {scale: y values}}`` plus ``{"labels": x tick labels}``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = plot_panels(results.rows)
    figure = Figure(figsize=PLOT_SIZE, dpi=PLOT_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    scales = list(dict.fromkeys(row["scale"] for row in results.rows))
    labels: list[str] = []
    for ax, (column, title) in zip(axes, panels, strict=True):
        for scale in scales:
            rows = sorted((r for r in results.rows if r["scale"] == scale), key=lambda r: r["position"])
            labels = [_short_label(row) for row in rows]
            values = [math.nan if row.get(column) is None else float(row[column]) for row in rows]
            ax.plot(range(len(rows)), values, marker="o", label=f"scale {scale}" if scale else "model")
        ax.set_ylabel(title)
        if column != "map50_95":
            ax.axhline(0.0, color="0.6", linewidth=0.8)  # the base
        ax.grid(True, alpha=0.3)
        if len(scales) > 1:
            ax.legend(loc="best")
    axes[-1].set_xticks(range(len(labels)), labels, rotation=60, ha="right")
    settings = results.settings
    figure.suptitle(f"{settings.get('module', '')} placed in {settings.get('base', '')}: "
                    f"cost by position (imgsz {settings.get('imgsz', '')})")
    figure.savefig(str(path), format="png")
    return _drawn(axes, panels, scales, labels)


def _short_label(row: dict[str, Any]) -> str:
    """The x tick of a row: ``base``, ``after 8 (C3k2)``, ``template halo-p5``."""
    return "base" if row["kind"] == "base" else str(row["placement"])


def _drawn(axes: Any, panels: list[tuple[str, str]], scales: list[str], labels: list[str]) -> dict[str, Any]:
    """The y data of every line, read from the figure (NaN, a gap, read as None)."""
    drawn: dict[str, Any] = {"labels": labels}
    for ax, (column, _title) in zip(axes, panels, strict=True):
        lines = [line for line in ax.get_lines() if line.get_marker() == "o"]
        drawn[column] = {
            scale: [None if math.isnan(v) else float(v) for v in line.get_ydata()]
            for scale, line in zip(scales, lines, strict=True)
        }
    return drawn
