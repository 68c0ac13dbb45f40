"""Renderers for the build summary: a Rich per-layer table with totals and a footer, and its JSON.

Both read the same :class:`~yolo_compose.build.BuildSummary`. The Rich summary goes to stderr
(stdout carries the command's result); :func:`summary_dict` is the ``build`` section of an edit's
``--json`` report. Nothing here imports torch: the summary is plain data by the time it is rendered.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich import box
from rich.table import Table
from rich.text import Text

from ..composer.naming import guess_scale
from .console import fits, no_color, print_table, printable, stderr_console

if TYPE_CHECKING:
    from rich.console import Console, JustifyMethod

    from ..build import BuildSummary, LayerMeasure, ModelMeasure

INSERTED_STYLE = "bold green"
REWIRED_MARK = "*"
REPLACED_MARK = "="
EXAMPLE_DATA = "coco8.yaml"


def gflops_text(value: float) -> str:
    """GFLOPs to 3 decimals, so the smallest layers do not all read 0.0."""
    return f"{value:.3f}"


def params_text(value: int) -> str:
    return f"{value:,}"


def signed(value: float, *, digits: int = 3, thousands: bool = False) -> str:
    """A delta with its sign: '+263,040' or '+0.220'."""
    return f"{value:+,}" if thousands else f"{value:+.{digits}f}"


def percent_text(delta: float, base: float) -> str:
    return f"{100.0 * delta / base:+.1f}%" if base else "n/a"


def shape_text(shape: list[int]) -> str:
    """C×H×W (or the head's output dims) as 'C x H x W'."""
    return "x".join(str(d) for d in shape) if shape else "-"


def args_text(layer: LayerMeasure) -> str:
    """The YAML args, with the input channels we inject shown in front: 'c1=256 | [2, 1, 4, 0]'."""
    written = "[" + ", ".join(_plain(a) for a in layer.args) + "]"
    return f"c1={layer.in_channels} | {written}" if layer.in_channels is not None else written


def _plain(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_plain(v) for v in value) + "]"
    return str(value)


def from_text(value: Any) -> str:
    return _plain(value)


# --- the table ------------------------------------------------------------------------------------


_COLUMNS: tuple[tuple[str, JustifyMethod], ...] = (
    ("#", "right"),
    ("from", "right"),
    ("n", "right"),
    ("params", "right"),
    ("module", "left"),
    ("args", "left"),
    ("output", "left"),
    ("GFLOPs", "right"),
)


def table_title(summary: BuildSummary) -> str:
    """The line above the table: the file, the scale and what the output column means."""
    model = summary.model
    return f"{model.source_name}: scale {model.scale or '-'}, output C x H x W at imgsz {model.imgsz}"


def layer_table(summary: BuildSummary, *, with_args: bool = True) -> Table:
    """One row per layer; inserted rows highlighted, rewired rows marked with '*'.

    No cell wraps: a narrow terminal gets the table without its args column instead (see
    :func:`render_summary_rich`), so every layer stays one line.
    """
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for name, justify in _COLUMNS:
        if name != "args" or with_args:
            table.add_column(name, justify=justify, no_wrap=True, min_width=len(name))
    inserted, replaced = set(summary.inserted), set(summary.replaced)
    for layer in summary.model.layers:
        mark = REWIRED_MARK if layer.index in summary.rewired else ""
        mark = "+" if layer.index in inserted else REPLACED_MARK if layer.index in replaced else mark
        written = layer.index in inserted or layer.index in replaced
        style = INSERTED_STYLE if written and not no_color() else None
        label = f"{layer.index}{mark}"
        cells = [label, from_text(layer.from_), str(layer.repeats), params_text(layer.params), layer.module,
                 args_text(layer), shape_text(layer.out_shape), gflops_text(layer.gflops)]
        if not with_args:
            del cells[5]
        table.add_row(*(printable(cell) for cell in cells), style=style)
    return table


def inserted_args_lines(summary: BuildSummary) -> list[str]:
    """For a table shown without its args column: the inserted layers' args, one line each."""
    inserted = set(summary.inserted)
    return [
        f"args of {layer.index}+ {printable(layer.module)}: {args_text(layer)}"
        for layer in summary.model.layers
        if layer.index in inserted
    ]


# --- totals and footer ----------------------------------------------------------------------------


def totals_lines(summary: BuildSummary) -> list[str]:
    """Layers, params and GFLOPs with deltas against the base, and ultralytics' own figure."""
    model = summary.model
    how = "inserted layers subtracted" if summary.base_derived else "built and counted"
    ul = (
        f"{model.ultralytics_gflops:.1f}"
        if model.ultralytics_gflops
        else "none (its thop profile failed or returned 0)"
    )
    sizes = ", ".join(f"{h}x{w}" for h, w in model.sizes)
    return [
        f"layers {len(model.layers)}   params {params_text(model.params)}   "
        f"GFLOPs {model.gflops:.3f} (counted at {model.imgsz}x{model.imgsz}, aten ops, math attention)",
        f"vs {summary.base_name or 'base'} ({how}): params {signed(summary.delta_params, thousands=True)} "
        f"({percent_text(summary.delta_params, summary.base_params)}), "
        f"GFLOPs {signed(summary.delta_gflops)} ({percent_text(summary.delta_gflops, summary.base_gflops)})",
        f"GFLOPs as ultralytics reports them (thop, extrapolated from small proxy images): {ul}",
        f"forward passes ok at {sizes}",
    ]


def legend_line() -> str:
    return (f"+ inserted  {REPLACED_MARK} replaced  {REWIRED_MARK} `from` rewritten  "
            "c1 = input channels injected")


def filled_lines(summary: BuildSummary) -> list[str]:
    return [
        f"layer {item.layer}: {item.name} = {item.value} "
        f"(imgsz {summary.model.imgsz} / stride {item.stride}), written into the YAML row"
        for item in summary.filled
    ]


def scale_lines(summary: BuildSummary) -> list[str]:
    return [
        f"scale {item.scale}: built and run ok, params {params_text(item.params)}, GFLOPs {item.gflops:.3f}"
        for item in summary.scales
    ]


def next_commands(output: str) -> list[str]:
    """How to train the written model: ultralytics' CLI through ours, or the Python two-liner.

    Plain ``yolo train model=...`` fails with ``KeyError: 'HaloAttention'``: it never imports
    yolo_compose, so our module names are unknown to it.
    """
    return [
        f"yolo-compose yolo train model={output} data={EXAMPLE_DATA}",
        f"python -c \"import yolo_compose; from ultralytics import YOLO; "
        f"YOLO('{output}').train(data='{EXAMPLE_DATA}')\"",
    ]


def _module_names(summary: BuildSummary) -> str:
    """The YAML names of the inserted layers, for the KeyError plain `yolo` would raise."""
    names = sorted({layer.module for layer in summary.model.layers if layer.index in set(summary.inserted)})
    return ", ".join(repr(name) for name in names) or "our module names"


def footer_lines(summary: BuildSummary, output: str | None) -> tuple[list[str], list[str]]:
    """(notes, warnings) of the footer: where the file went, the scale its name implies, what next."""
    notes, warnings = [], []
    built = summary.model.scale
    if output in (None, "-"):
        notes.append("YAML written to stdout: keep a scale letter in the file name you save it as")
        name = summary.output_path or "model.yaml"
    else:
        notes.append(f"written: {output}")
        name = output
        file_scale = guess_scale(Path(output).name)
        if file_scale:
            notes.append(f"ultralytics will build scale {file_scale} (from the file name)")
        will_build = summary.scale_built_from(output)
        if built and will_build and will_build != built:
            picked = file_scale or f"{will_build}, the first of `scales:` (no scale letter in the name)"
            fix = f"rename it (e.g. yolo11{built}-...yaml)"
            if not summary.scale_requested:
                fix += f" or pass --scale {will_build}"
            warnings.append(
                f"the summary is for scale {built}, but ultralytics will build {picked} from the file "
                f"name {Path(output).name!r}; {fix}"
            )
    notes.append("next:")
    notes.extend(f"  {command}" for command in next_commands(name))
    names = _module_names(summary)
    notes.append(f"  (plain `yolo` has no yolo_compose modules: KeyError {names})")
    return notes, warnings


# --- renderers ------------------------------------------------------------------------------------


def render_summary_rich(
    summary: BuildSummary, *, output: str | None = None, console: Console | None = None
) -> None:
    """Print the table, totals and footer on stderr."""
    console = console or stderr_console()
    output = summary.output_path if output is None else output
    table = layer_table(summary)
    narrow = not fits(console, table)
    print_table(console, layer_table(summary, with_args=False) if narrow else table, table_title(summary))
    console.print(legend_line(), soft_wrap=True)
    extra = inserted_args_lines(summary) if narrow else []
    for line in extra + filled_lines(summary) + totals_lines(summary) + scale_lines(summary):
        console.print(line, soft_wrap=True)
    notes, warnings = footer_lines(summary, output)
    unreported = [] if summary.warnings_reported else summary.warnings
    for line in unreported + warnings:
        console.print(Text(f"warning: {line}", style="" if no_color() else "yellow"), soft_wrap=True)
    for line in notes:
        console.print(line, soft_wrap=True)  # commands stay on one line for copy and paste


def model_dict(model: ModelMeasure) -> dict[str, Any]:
    """A measured model as JSON: its fields in order, each layer's ``from_`` written ``from`` (last)."""
    data = asdict(model)
    data["sizes"] = [list(size) for size in model.sizes]
    for layer in data["layers"]:
        layer["from"] = layer.pop("from_")
    return data


def summary_dict(summary: BuildSummary) -> dict[str, Any]:
    """The build summary as JSON (alone with `--json`, or the edit report's "build")."""
    return {
        "model": model_dict(summary.model),
        "inserted": list(summary.inserted),
        "replaced": list(summary.replaced),
        "rewired": {str(k): v for k, v in sorted(summary.rewired.items())},
        "base": {
            "name": summary.base_name,
            "params": summary.base_params,
            "gflops": summary.base_gflops,
            "derived": summary.base_derived,
        },
        "delta": {
            "params": summary.delta_params,
            "params_pct": _percent(summary.delta_params, summary.base_params),
            "gflops": summary.delta_gflops,
            "gflops_pct": _percent(summary.delta_gflops, summary.base_gflops),
        },
        "filled": [asdict(item) for item in summary.filled],
        "scales": [asdict(item) for item in summary.scales],
        "warnings": list(summary.warnings),
        "output_path": summary.output_path,
        "file_scale": summary.file_scale,
    }


def _percent(delta: float, base: float) -> float | None:
    return None if not base else 100.0 * delta / base


