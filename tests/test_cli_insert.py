"""`yolo-compose insert` / `remove` through the CLI (real processes for the output rules): one test per error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import invoke_cli, run_cli

from yolo_compose.composer import ModelSpec
from yolo_compose.composer.provenance import text_hash

NO_BUILD = ("--no-build",)
BAD_FILES = {
    "malformed": (
        "backbone: [\n  - [-1, 1, Conv]\n",
        "error: bad.yaml:2:3: invalid YAML: did not find expected node content",
    ),
    "bad row": (
        "backbone:\n  - [-1, 1, Conv, [8]]\n  - [-1, Conv, [8]]\nhead:\n  - [[0, 1], 1, Detect, [1]]\n",
        "error: bad.yaml:3: layer 1: row must be [from, repeats, module, args], got 3 items",
    ),
    "forward ref": (
        "backbone:\n  - [-1, 1, Conv, [8]]\n  - [5, 1, Conv, [8]]\nhead:\n  - [[0, 1], 1, Detect, [1]]\n",
        "error: bad.yaml:3: layer 1: `from` 5 points forward: a layer can read only earlier layers",
    ),
    "out-of-range ref": (
        "backbone:\n  - [-1, 1, Conv, [8]]\n  - [-7, 1, Conv, [8]]\nhead:\n  - [[0, 1], 1, Detect, [1]]\n",
        "error: bad.yaml:3: layer 1: `from` -7 reaches before the first layer",
    ),
    "detect without inputs": (
        "backbone:\n  - [-1, 1, Conv, [8]]\n  - [-1, 1, Conv, [8]]\nhead:\n  - [[], 1, Detect, [1]]\n",
        "error: bad.yaml:5: layer 2: `from` is an empty list: the layer has no inputs",
    ),
}


def files_in(folder: Path) -> list[str]:
    """Every entry of a folder, hidden temp files included."""
    return sorted(p.name for p in folder.iterdir())


def assert_one_error_line(result: subprocess.CompletedProcess, expected: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr == expected + "\n"
    assert "Traceback" not in result.stderr


def test_insert_writes_the_default_file(tmp_path: Path) -> None:
    result = run_cli(
        "insert", "halo", "--after", "8", "--base", "yolo11n", "--args", "[2, 1]", *NO_BUILD, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "yolo11n-halo.yaml\n"
    assert files_in(tmp_path) == ["yolo11n-halo.yaml"]
    spec = ModelSpec.load(tmp_path / "yolo11n-halo.yaml")
    assert spec.layers[9].row == [-1, 1, "HaloAttention", [2, 1]]
    assert spec.layers[-1].from_ == [17, 20, 23]
    assert (
        "inserted layer 9 [-1, 1, HaloAttention, [2, 1]] into yolo11n, after layer 8 (C3k2)" in result.stderr
    )
    assert "9..23 -> 10..24" in result.stderr
    assert "wrote yolo11n-halo.yaml" in result.stderr


def test_dash_output_writes_yaml_to_stdout_only(tmp_path: Path) -> None:
    result = run_cli(
        "insert", "halo", "--after", "SPPF", "--base", "yolo11n", "-o", "-", *NO_BUILD, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    spec = ModelSpec.from_text(result.stdout)
    assert spec.layers[10].module == "HaloAttention"
    assert "inserted layer 10" in result.stderr
    assert files_in(tmp_path) == []


def test_json_is_one_document_on_stdout(tmp_path: Path) -> None:
    result = invoke_cli(
        "insert",
        "halo",
        "--before",
        "SPPF",
        "--base",
        "yolo11n",
        "--scale",
        "s",
        "--json",
        *NO_BUILD,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["new_index"] == 9
    assert report["placement"] == "before"
    assert report["output"] == "yolo11s-halo.yaml"
    assert report["index_map"]["23"] == 24
    assert "build" not in report
    assert report["warnings"] == []
    assert files_in(tmp_path) == ["yolo11s-halo.yaml"]


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    (tmp_path / "yolo11n-halo.yaml").write_text("mine\n")
    result = invoke_cli("insert", "halo", "--after", "8", "--base", "yolo11n", *NO_BUILD, cwd=tmp_path)
    assert_one_error_line(
        result, "error: output 'yolo11n-halo.yaml' exists; pass --force to overwrite it or -o another name"
    )
    assert (tmp_path / "yolo11n-halo.yaml").read_text() == "mine\n"
    forced = invoke_cli(
        "insert", "halo", "--after", "8", "--base", "yolo11n", "--force", *NO_BUILD, cwd=tmp_path
    )
    assert forced.returncode == 0, forced.stderr
    assert "HaloAttention" in (tmp_path / "yolo11n-halo.yaml").read_text()


def test_never_touches_the_input(tmp_path: Path) -> None:
    source = tmp_path / "yolo11n-mine.yaml"
    text = _bundled("yolo11n").read_text()
    source.write_text(text)
    before = source.stat().st_mtime_ns
    same = invoke_cli(
        "insert",
        "halo",
        "--after",
        "8",
        "--base",
        source.name,
        "-o",
        source.name,
        "--force",
        *NO_BUILD,
        cwd=tmp_path,
    )
    assert_one_error_line(
        same, "error: output 'yolo11n-mine.yaml' is the input file; choose another name with -o"
    )
    ok = invoke_cli("insert", "halo", "--after", "8", "--base", source.name, *NO_BUILD, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert files_in(tmp_path) == ["yolo11n-mine-halo.yaml", "yolo11n-mine.yaml"]
    assert source.read_text() == text
    assert source.stat().st_mtime_ns == before


def _bundled(name: str) -> Path:
    from yolo_compose.composer import resolve_base

    return resolve_base(name).path


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_each_bad_file_gets_its_own_message_and_no_output(tmp_path: Path, case: str) -> None:
    text, expected = BAD_FILES[case]
    (tmp_path / "bad.yaml").write_text(text)
    result = invoke_cli("insert", "halo", "--after", "0", "--base", "bad.yaml", *NO_BUILD, cwd=tmp_path)
    assert_one_error_line(result, expected)
    assert files_in(tmp_path) == ["bad.yaml"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("insert", "halo", "--after", "C3k2", "--base", "yolo11n"),
            "layer spec 'C3k2': C3k2 occurs 8 times (layers 2, 4, 6, 8, 13, 16, 19, 22); "
            "say which: C3k2:1..C3k2:8 or C3k2:last; valid: an index (8, -1), a module name (SPPF), "
            "Module:k (C3k2:2, C3k2:last) or `backbone`, optionally in one section (head:C3k2:2); "
            "several layers: Module:all (C3k2:all, head:C3k2:all); indices 0..23 (or -24..-1)",
        ),
        (
            ("insert", "halo", "--after", "8", "--base", "yolo11q"),
            "error: base 'yolo11q': not a bundled ultralytics model nor a file; "
            "did you mean: yolo11, yolo11x, yolo11s, yolo11n, yolo11m?",
        ),
        (
            ("insert", "hallo", "--after", "8", "--base", "yolo11n"),
            "error: unknown module 'hallo' (did you mean halo?); valid: ",
        ),
        (
            ("insert", "halo", "--after", "8", "--base", "yolo11n", "--args", "2, 1"),
            "error: --args: '2, 1' is not valid JSON: Extra data (a list such as '[2, 1]')",
        ),
        (
            ("remove", "Concat:1", "--base", "yolo11n"),
            "layer 12: cannot remove Concat: it reads several layers",
        ),
    ],
)
def test_usage_errors_are_one_line(tmp_path: Path, args: tuple[str, ...], expected: str) -> None:
    result = invoke_cli(*args, *(NO_BUILD if args[0] == "insert" else ()), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("error: ")
    assert expected in result.stderr
    assert files_in(tmp_path) == []


def test_remove_undoes_an_insert(tmp_path: Path) -> None:
    first = invoke_cli("insert", "halo", "--after", "8", "--base", "yolo11n", *NO_BUILD, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    back = invoke_cli("remove", "HaloAttention", "--base", "yolo11n-halo.yaml", "-o", "-", cwd=tmp_path)
    assert back.returncode == 0, back.stderr
    header, body = back.stdout.split("\n", 1)  # the provenance line names the last edit only
    assert header.endswith(" from yolo11n-halo.yaml (sha256:" + text_hash((tmp_path / "yolo11n-halo.yaml").read_text())
                           + ") by remove HaloAttention")
    assert body == _bundled("yolo11n").read_text()
    assert "removed layer 9 [-1, 1, HaloAttention" in back.stderr


def test_no_build_imports_neither_torch_nor_ultralytics(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-X",
        "importtime",
        "-m",
        "yolo_compose",
        "insert",
        "halo",
        "--after",
        "8",
        "--base",
        "yolo11n",
        "--no-build",
        "-o",
        "-",
    ]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    imported = {
        line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines() if "|" in line
    }
    assert "yolo_compose" in imported
    assert not imported & {"torch", "ultralytics", "torchvision", "numpy"}
    assert "rich" not in imported  # the static edit report is plain columns (render/insert.py)


@pytest.mark.parametrize(
    ("command", "teaches"),
    [
        (
            "insert",
            [
                "SPEC:",
                "Module:k",
                "C3k2:last",
                "backbone",
                "yolo11n-halo.yaml",
                "Example: yolo-compose insert",
            ],
        ),
        ("remove", ["SPEC:", "Module:k", "Example: yolo-compose remove", "<base>-no<N>.yaml"]),
    ],
)
def test_help_teaches_spec_forms_and_where_the_file_goes(command: str, teaches: list[str]) -> None:
    result = invoke_cli(command, "--help", env={"COLUMNS": "300"})
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    for phrase in teaches:
        assert phrase in text, phrase


def test_no_build_says_which_trained_size_args_kept_their_defaults(tmp_path: Path) -> None:
    mhsa = invoke_cli("insert", "mhsa", "--after", "SPPF", "--base", "yolo11n", "--no-build", "--json",
                   cwd=tmp_path)
    assert mhsa.returncode == 0, mhsa.stderr
    warnings = json.loads(mhsa.stdout)["warnings"]
    assert any("width=20, height=20" in w and "a build fills them" in w for w in warnings), warnings

    halo = invoke_cli("insert", "halo", "--after", "SPPF", "--base", "yolo11n", "--no-build", "--json",
                   cwd=tmp_path)
    assert halo.returncode == 0, halo.stderr
    assert json.loads(halo.stdout)["warnings"] == []  # halo has no trained-size args
