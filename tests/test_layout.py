"""Terminal layout: tables fit 80, 100 and 140 columns, no cell wraps, no line ends in padding.

The summary and diff tables are rendered from summaries built of real yolo11n rows (the numbers
are made up: layout does not depend on them); `modules` and the insert report run as real CLI
processes with COLUMNS set, and one real build checks the whole insert output at 80 columns.
"""

from __future__ import annotations

import io

import pytest
from conftest import run_cli
from rich.console import Console

from yolo_compose.build import BuildSummary, LayerMeasure, ModelMeasure
from yolo_compose.composer import compose_insert
from yolo_compose.composer.diff import LayerCost, ScaleCost, diff_specs, load_model
from yolo_compose.render.diff import report as render_diff
from yolo_compose.render.summary import render_summary_rich

WIDTHS = (80, 100, 140)


def synthetic_summary() -> BuildSummary:
    """A summary of yolo11n with HaloAttention after layer 8, real rows and made-up costs."""
    edit = compose_insert("yolo11n", "halo", after=8)
    layers = [
        LayerMeasure(index=layer.index, from_=layer.from_, repeats=layer.repeats, module=layer.module,
                     type=layer.module, args=list(layer.args), in_channels=256 if layer.index == 9 else None,
                     params=1_050_368, gflops=1.234, out_shape=[256, 20, 20], in_shape=[256, 20, 20],
                     stride=32)
        for layer in edit.spec.layers
    ]
    model = ModelMeasure("yolo11n-halo.yaml", "n", "detect", 640, [(640, 640)], layers, 2_887_120, 6.762, 6.8)
    rewired = {r.layer: [f"{r.old_ref} -> {r.new_ref}: {r.reason}"] for r in edit.rewired}
    return BuildSummary(model, [9], rewired, "yolo11n", 2_624_080, 6.542, True,
                        output_path="yolo11n-halo.yaml", first_scale="n")


def rendered(width: int, render) -> list[str]:
    """The lines a renderer prints on a console of `width` columns."""
    stream = io.StringIO()
    render(Console(file=stream, width=width, markup=False, highlight=False, color_system=None))
    return stream.getvalue().splitlines()


def assert_tidy(lines: list[str], width: int) -> None:
    for line in lines:
        assert line == line.rstrip(), f"trailing padding: {line!r}"
    table = [line for line in lines if not line.startswith(("warning:", "  python -c", "GFLOPs as", "layers ",
                                                            "vs ", "next:", "written:", "ultralytics will"))]
    too_wide = [line for line in table if len(line) > width]
    assert not too_wide, too_wide


@pytest.mark.parametrize("width", WIDTHS)
def test_the_summary_table_fits_without_wrapping(width: int):
    summary = synthetic_summary()
    lines = rendered(width, lambda console: render_summary_rich(summary, console=console))
    assert_tidy(lines, width)
    assert lines[0] == "yolo11n-halo.yaml: scale n, output C x H x W at imgsz 640"
    rows = [line for line in lines[1:] if line.split() and line.split()[0].rstrip("+*").isdigit()]
    assert len(rows) == len(summary.model.layers), "a layer took more than one line"
    detect = next(line for line in rows if "Detect" in line)
    assert "[17, 20, 23]" in detect, detect  # the from cell never wraps
    has_args = "c1=256 | [2, 1, 4, 0]" in next(line for line in rows if "HaloAttention" in line)
    if not has_args:  # folded: the args column left out, the inserted layer's args on their own line
        assert "args of 9+ HaloAttention: c1=256 | [2, 1, 4, 0]" in lines
    assert has_args or width < 100


@pytest.mark.parametrize("width", WIDTHS)
def test_the_diff_build_table_fits(width: int):
    a = load_model("yolo11n", read_stdin=str)
    result = diff_specs(a.spec, a.spec, a_name="yolo11n", b_name="yolo11n-halo.yaml")
    layers = (LayerCost("inserted", None, 9, "HaloAttention", None, 263_040, None, 0.22),
              LayerCost("changed", 22, 23, "CascadedGroupAttention", 1_234_567, 2_345_678, 10.123, 11.234))
    cost = ScaleCost("n", 640, 2_624_080, 2_887_120, 6.542, 6.762, layers)
    lines = rendered(width, lambda console: print_costs(console, result, cost))
    assert_tidy(lines, width)
    assert any(line.startswith("23 CascadedGroupAttention") for line in lines)


def print_costs(console: Console, result, cost: ScaleCost) -> None:
    """render_rich's --build tables on a given console (stdout_console is patched for the call)."""
    original = render_diff.stdout_console
    render_diff.stdout_console = lambda: console
    try:
        render_diff.render_rich(result, costs=[cost])
    finally:
        render_diff.stdout_console = original


@pytest.mark.parametrize("width", WIDTHS)
def test_modules_shows_whole_class_names(width: int):
    result = run_cli("modules", env={"COLUMNS": str(width)})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert_tidy(lines, width)
    for name in ("HaloAttention", "CascadedGroupAttention", "LocalWindowAttention", "FocusedLinearAttention"):
        assert name in result.stdout
    assert "…" not in result.stdout


def test_the_insert_report_fits_80_columns(tmp_path):
    result = run_cli("insert", "halo", "--after", "8", "--base", "yolo11n", "--no-build", "-o", "-",
                     cwd=tmp_path, env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert all(line == line.rstrip() for line in lines), lines
    assert_tidy([line for line in lines if not line.startswith("inserted layer")], 80)


@pytest.mark.slow
def test_a_real_insert_summary_at_80_columns(tmp_path):
    result = run_cli("insert", "halo", "--after", "8", "--base", "yolo11n", "--imgsz", "320", cwd=tmp_path,
                     env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    start = lines.index("yolo11n-halo.yaml: scale n, output C x H x W at imgsz 320")
    table = lines[start + 1 : start + 4 + 25]
    assert all(len(line) <= 80 and line == line.rstrip() for line in table), table
    assert sum(1 for line in table if "HaloAttention" in line) == 1
