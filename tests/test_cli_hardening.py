"""What a new user trips over on the command line: each case through the CLI's entry point.

Negative SPECs, --version, one argument check before anything is built or written, --imgsz
checked first, messages that name what the user typed and what is written, escapes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import invoke_cli, one_error_line, run_cli

from yolo_compose.composer.bases import resolve_base
from yolo_compose.composer.diff import LayerCost, ScaleCost

YOLO11N = resolve_base("yolo11n").path.read_text(encoding="utf-8")
EVIL = "\x1b[2J\x1b[31mEvil"
EVIL_MODEL = (
    "nc: 1\nbackbone:\n  - [-1, 1, Conv, [16, 3, 2]]\n  - [-1, 1, \"\\e[2J\\e[31mEvil\", [16]]\n"
    "  - [-1, 1, Conv, [16, 3, 1]]\nhead:\n  - [[2], 1, Detect, [nc]]\n"
)


# --- negative SPECs, --version, usage errors ------------------------------------------------------


def test_remove_takes_a_negative_spec_as_its_positional_argument(tmp_path: Path):
    result = invoke_cli("remove", "-2", "--base", "yolo11n.yaml", "-o", "-", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("removed layer 22 [-1, 2, C3k2, [1024, True]] from yolo11n\n")
    after_options = invoke_cli("remove", "--base", "yolo11n", "-o", "-", "-2", cwd=tmp_path)
    assert after_options.stdout == result.stdout


def test_negative_specs_as_option_values(tmp_path: Path):
    result = invoke_cli("insert", "halo", "--after", "-2", "--base", "yolo11n", "--no-build", "-o", "-",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "after layer 22 (C3k2)" in result.stderr
    before = invoke_cli("insert", "halo", "--before", "-2", "--base", "yolo11n", "--no-build", "-o", "-",
                     cwd=tmp_path)
    assert before.returncode == 0, before.stderr
    assert "before layer 22 (C3k2)" in before.stderr


def test_a_negative_spec_that_names_no_layer_is_one_line(tmp_path: Path):
    one_error_line(invoke_cli("remove", "-99", "--base", "yolo11n", "-o", "-", cwd=tmp_path), "-99")


def test_usage_errors_are_one_line(tmp_path: Path):
    one_error_line(invoke_cli("remove", "--bogus", "3", "--base", "yolo11n", cwd=tmp_path), "--bogus")
    one_error_line(invoke_cli("insert", "halo", "--base", "yolo11n", "--after", cwd=tmp_path), "--after")


def test_version():
    from yolo_compose import __version__

    result = run_cli("--version")
    assert (result.returncode, result.stdout) == (0, f"yolo-compose {__version__}\n")


# --- one argument check, before anything is built or written ----------------------------------------


@pytest.mark.parametrize(
    ("args", "why"),
    [
        ("[NaN]", "arg 'block' must be int, got nan"),
        ("[true]", "arg 'block' must be int, got True"),
        ('["x"]', "arg 'block' must be int, got 'x'"),
        ("[2.5]", "arg 'block' must be int, got 2.5"),
        ("[null]", "arg 'block' must be int, got None"),
        ("[0, 0]", "arg 'block' must be at least 1, got 0"),
        ("[2, -1]", "arg 'halo' must be at least 0, got -1"),
    ],
)
def test_bad_args_are_refused_before_any_file_is_written(tmp_path: Path, args: str, why: str):
    result = invoke_cli("insert", "halo", "--after", "8", "--base", "yolo11n", "--no-build", "--args", args,
                     cwd=tmp_path)
    one_error_line(result, why)
    assert list(tmp_path.iterdir()) == []


def test_validate_uses_the_same_check(tmp_path: Path):
    text = YOLO11N.replace("  - [-1, 2, C2PSA, [1024]] # 10\n",
                           "  - [-1, 1, HaloAttention, [0, 0]]\n  - [-1, 2, C2PSA, [1024]] # 10\n")
    (tmp_path / "yolo11n-bad.yaml").write_text(text)
    result = invoke_cli("validate", "yolo11n-bad.yaml", cwd=tmp_path)
    assert "HaloAttention arg 'block' must be at least 1, got 0 [YC032]" in result.stdout


def test_odd_kernels_are_checked_in_lists_too(tmp_path: Path):
    result = invoke_cli("insert", "cga", "--after", "8", "--base", "yolo11n", "--no-build",
                     "--args", "[16, 8, 20, 20, [3, 4]]", cwd=tmp_path)
    one_error_line(result, "arg 'kernels' must be odd, got 4")


def test_imgsz_is_checked_before_torch_is_imported(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "yolo_compose", "insert", "halo", "--after", "8",
         "--base", "yolo11n", "--imgsz", "100"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if not line.startswith("import time:")]
    assert errors == ["error: Invalid value for '--imgsz': must be a positive multiple of 32, got 100 "
                      "(see yolo-compose insert --help)"]
    imported = [line.split("|")[-1].strip() for line in result.stderr.splitlines() if "import time" in line]
    assert not [m for m in imported if m.split(".")[0] in {"torch", "ultralytics"}]
    assert "multiple of 32" in invoke_cli("insert", "--help").stdout


# --- messages name what the user typed and what is written ------------------------------------------


def test_errors_for_a_bundled_base_name_it_as_typed(tmp_path: Path):
    line = one_error_line(invoke_cli("remove", "Detect", "--base", "yolo11n", cwd=tmp_path), "error: yolo11n:")
    assert "site-packages" not in line and "cfg/models" not in line
    report = invoke_cli("insert", "halo", "--after", "8", "--base", "yolo11n", "--no-build", "--json",
                     "-o", "x.yaml", cwd=tmp_path)
    data = json.loads(report.stdout)
    assert data["base"]["name"] == "yolo11n" and data["base"]["path"].endswith("yolo11.yaml")


def test_escape_sequences_in_module_names_are_escaped_in_reports(tmp_path: Path):
    (tmp_path / "evil.yaml").write_text(EVIL_MODEL)
    inserted = invoke_cli("insert", "halo", "--after", "1", "--base", "evil.yaml", "--no-build", "-o", "-",
                       cwd=tmp_path)
    assert inserted.returncode == 0, inserted.stderr
    assert "\x1b" not in inserted.stderr and "(\\x1b[2J\\x1b[31mEvil)" in inserted.stderr
    removed = invoke_cli("remove", "1", "--base", "evil.yaml", "-o", "-", cwd=tmp_path)
    assert removed.returncode == 0, removed.stderr
    assert "\x1b" not in removed.stderr and "\\x1b[2J\\x1b[31mEvil" in removed.stderr


def test_diff_json_rounds_gflops_as_the_table_does(capsys):
    from yolo_compose.composer.diff import diff_specs, load_model
    from yolo_compose.render.diff import render_json

    a = load_model("yolo11n", read_stdin=str)
    result = diff_specs(a.spec, a.spec, a_name="a", b_name="b")
    layer = LayerCost("changed", 1, 1, "Conv", 10, 12, 0.8585216000000031, 0.1 + 0.2)
    render_json(result, costs=[ScaleCost("n", 640, 10, 12, 6.5000000001, 6.7085216000000031, (layer,))])
    build = json.loads(capsys.readouterr().out)["build"][0]
    assert build["a"]["gflops"] == 6.5 and build["b"]["gflops"] == 6.709
    assert build["delta"]["gflops"] == 0.209
    assert (build["layers"][0]["a_gflops"], build["layers"][0]["gflops"]) == (0.859, 0.3)


# --- with a build (real ultralytics) ---------------------------------------------------------------


@pytest.mark.slow
def test_a_build_error_names_the_output_file_and_stays_one_line(tmp_path: Path):
    """A fresh YOLO_CONFIG_DIR: ultralytics' settings banner must not add lines to the error."""
    result = run_cli("insert", "halo", "--after", "8", "--base", "yolo11n", "--args", "[2, 1, 3]",
                     "--imgsz", "320", "-o", "first.yaml", cwd=tmp_path,
                     env={"YOLO_CONFIG_DIR": str(tmp_path / "fresh-config")})
    line = one_error_line(result, "error: first.yaml: layer 9: ")
    assert "yolo11n-halo.yaml" not in line
    assert not (tmp_path / "first.yaml").exists()


@pytest.mark.slow
def test_the_summary_names_the_file_written_and_the_scale_built(tmp_path: Path):
    result = run_cli("insert", "halo", "--after", "8", "--base", "yolo11n", "--scale", "s", "--imgsz", "320",
                     "-o", "mymodel-s.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "mymodel-s.yaml: scale s, output C x H x W at imgsz 320" in result.stderr
    assert "yolo11s-halo.yaml" not in result.stderr
    assert "vs yolo11s (inserted layers subtracted)" in result.stderr
    [warning] = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert "ultralytics will build n" in warning and "--scale" not in warning


@pytest.mark.slow
def test_no_scale_warning_when_the_first_scale_is_built_and_the_filled_args_are_shown(tmp_path: Path):
    result = run_cli("insert", "mhsa", "--after", "8", "--base", "yolo11", "--imgsz", "320",
                     "-o", "mymodel.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr
    assert result.stderr.splitlines()[0].startswith("inserted layer 9 [-1, 1, MHSA, [10, 10, 4]]")
    assert "[-1, 1, MHSA, [10, 10, 4]]" in (tmp_path / "mymodel.yaml").read_text()
