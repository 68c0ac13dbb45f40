"""`yolo-compose validate`: one table of (YAML, flags, exit code, output lines) drives both the pure
lint function and the CLI, then the fixer, the formats and the build tier."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT, invoke_cli, run_cli

from yolo_compose.composer.lint import CODES, Severity, lint_file, lint_text
from yolo_compose.integration.installed import bundled_models
from yolo_compose.render.validate import finding_line, github_line
from yolo_compose.validate_build import ValidationResult

GOOD = """\
nc: 2
scales:
  n: [0.50, 0.25, 1024]
backbone:
  - [-1, 1, Conv, [64, 3, 2]] # 0-P1/2
  - [-1, 1, Conv, [128, 3, 2]] # 1-P2/4
  - [-1, 1, Conv, [256, 3, 2]] # 2-P3/8
head:
  - [[1, 2], 1, Detect, [nc]] # 3
"""


def edited(old: str, new: str) -> str:
    """GOOD with one substring replaced (the replacement must happen)."""
    assert old in GOOD, old
    return GOOD.replace(old, new, 1)


# (case id, file text, extra CLI flags, expected exit, expected stdout lines after "model.yaml:")
CASES = [
    ("clean", GOOD, (), 0, []),
    (
        "unknown module with did-you-mean",
        edited("[-1, 1, Conv, [128, 3, 2]]", "[-1, 1, Cnv, [128, 3, 2]]"),
        (),
        1,
        ["6:13: error: layer 1: unknown module 'Cnv' (did you mean Conv, Conv2, AConv?); "
         "if it is yours, import the package that registers it [YC030]"],
    ),
    (
        "case typo of a torch.nn module",
        edited("[-1, 1, Conv, [128, 3, 2]]", "[-1, 1, nn.Silu, []]"),
        (),
        1,
        ["6:13: error: layer 1: nn.Silu is not a torch.nn module class (did you mean SiLU?) [YC030]"],
    ),
    (
        "registry short name instead of the class name",
        edited("[-1, 1, Conv, [128, 3, 2]]", "[-1, 1, halo, []]"),
        (),
        1,
        ["6:13: error: layer 1: unknown module 'halo' (did you mean HaloAttention? the YAML uses the "
         "class name); if it is yours, import the package that registers it [YC030]"],
    ),
    (
        "forward reference",
        edited("[[1, 2], 1, Detect", "[[1, 4], 1, Detect"),
        (),
        1,
        ["7:5: warning: layer 2 (Conv): output is never used [YC050]",
         "9:6: error: layer 3: `from` 4 points forward: a layer can read only earlier layers [YC021]"],
    ),
    (
        "Concat given a single ref",
        edited("[-1, 1, Conv, [256, 3, 2]]", "[-1, 1, Concat, [1]]"),
        (),
        1,
        ["7:6: error: layer 2: Concat reads several inputs; `from` must be a list, got -1 [YC022]"],
    ),
    (
        "single-input module given a list",
        edited("[-1, 1, Conv, [256, 3, 2]]", "[[0, 1], 1, Conv, [256, 3, 2]]"),
        (),
        1,
        ["7:6: error: layer 2: Conv takes one input, but `from` is a list [0, 1] [YC022]"],
    ),
    (
        "last layer not a head",
        edited("[[1, 2], 1, Detect, [nc]]", "[[1, 2], 1, Concat, [1]]"),
        (),
        1,
        ["9:17: error: layer 3: the last layer is Concat, not a head such as Detect, Segment, Pose, OBB "
         "or Classify [YC023]"],
    ),
    (
        "non-layer global of ultralytics.nn.tasks",
        edited("[-1, 1, Conv, [128, 3, 2]]", "[-1, 1, yaml_model_load, [x.yaml]]"),
        (),
        1,
        ["6:13: error: layer 1: module 'yaml_model_load' is a function of ultralytics.nn.tasks, not a layer; "
         "ultralytics would call it with the row's args [YC031]"],
    ),
    (
        "our module with args that break its schema",
        edited("[-1, 1, Conv, [256, 3, 2]]", "[-1, 1, HaloAttention, [two, 1, 4, 0, false, 9]]"),
        (),
        1,
        ["7:28: error: layer 2: HaloAttention takes at most 5 args "
         "(block, halo, heads, dim_head, zero_init), got 6: ['two', 1, 4, 0, False, 9] [YC032]",
         "7:29: error: layer 2: HaloAttention arg 'block' must be int, got 'two' [YC032]"],
    ),
    (
        "huge repeats and channels",
        edited("[-1, 1, Conv, [256, 3, 2]]", "[-1, 1000000000, C3k2, [100000000]]"),
        (),
        1,
        ["7:10: error: layer 2: repeats 1,000,000,000 is above the limit 100 [YC033]",
         "7:29: error: layer 2: C3k2 output channels 100,000,000 are outside 1..8,192 [YC033]"],
    ),
    (
        "activation that would be eval()ed",
        edited("nc: 2\n", "nc: 2\nactivation: __import__('os').getpid()\n"),
        (),
        1,
        ["2:13: error: activation \"__import__('os').getpid()\" would be passed to eval() by ultralytics; "
         "write a torch.nn activation such as 'nn.SiLU()' or 'nn.LeakyReLU(0.1)' [YC040]"],
    ),
    ("plain activation", edited("nc: 2\n", "nc: 2\nactivation: nn.LeakyReLU(0.1)\n"), (), 0, []),
    (
        "malformed scales and nc",
        edited("nc: 2\nscales:\n  n: [0.50, 0.25, 1024]", "nc: -3\nscales:\n  n: [0.50, 1024]"),
        (),
        1,
        ["1:5: error: nc must be an integer from 1 to 100,000, got -3 [YC011]",
         "3:6: error: scale 'n' must be [depth, width, max_channels] positive numbers, "
         "got [0.5, 1024] [YC011]"],
    ),
    (
        "unused output is a warning",
        edited("[[1, 2], 1, Detect", "[[0, 2], 1, Detect").replace("[-1, 1, Conv, [256", "[0, 1, Conv, [256"),
        (),
        0,
        ["6:5: warning: layer 1 (Conv): output is never used [YC050]"],
    ),
    (
        "stale index comment is a warning, fatal under --strict",
        edited("# 2-P3/8", "# 7-P3/8"),
        ("--strict",),
        1,
        ["7:34: warning: comment says layer 7, but this row is layer 2 [YC051]"],
    ),
    (
        "python tag",
        edited("nc: 2", "nc: !!python/object/apply:os.getpid []"),
        (),
        1,
        ["1:5: error: tag !!python/object/apply:os.getpid refused: it asks a YAML loader to construct "
         "Python objects (run code) [YC003]"],
    ),
    (
        "syntax error with line and column",
        edited("[-1, 1, Conv, [128, 3, 2]]", "[-1, 1, Conv, [128, 3, 2]"),
        (),
        1,
        ["7:3: error: invalid YAML: did not find expected ',' or ']' [YC002]"],
    ),
    (
        "duplicate top-level key",
        GOOD + "head:\n  - [[1, 2], 1, Detect, [nc]]\n",
        (),
        1,
        ["10:1: error: key 'head' appears again; ultralytics keeps only this last one [YC012]"],
    ),
    ("another YAML file passes silently", "path: data\nnames: {0: cat}\n", (), 0, []),
    ("empty file", "", (), 1, ["1:1: error: empty file: not a model YAML [YC010]"]),
    (
        "missing head",
        "backbone:\n  - [-1, 1, Conv, [64, 3, 2]]\n",
        (),
        1,
        ["1:1: error: not a model YAML: missing `head` [YC010]"],
    ),
]
IDS = [case[0] for case in CASES]


def expected_exit(report_exit: int, flags: tuple[str, ...], warnings: int) -> int:
    """Exit code the pure result gives under the case's flags (only --strict changes it)."""
    return 1 if report_exit or ("--strict" in flags and warnings) else 0


@pytest.mark.parametrize(("name", "text", "flags", "exit_code", "lines"), CASES, ids=IDS)
def test_lint_function(name, text, flags, exit_code, lines):
    report = lint_text(text, "model.yaml")
    result = ValidationResult([report], strict="--strict" in flags)
    got = [finding_line(f).removeprefix("model.yaml:") for f in report.findings]
    assert got == lines, "\n".join(got)
    assert result.exit_code == exit_code


@pytest.mark.parametrize(("name", "text", "flags", "exit_code", "lines"), CASES, ids=IDS)
def test_cli(name, text, flags, exit_code, lines, tmp_path):
    (tmp_path / "model.yaml").write_text(text, encoding="utf-8")
    result = invoke_cli("validate", "model.yaml", *flags, cwd=tmp_path)
    assert result.returncode == exit_code, result.stdout + result.stderr
    assert result.stdout.splitlines() == [f"model.yaml:{line}" for line in lines]
    assert "Traceback" not in result.stderr
    summary = result.stderr.strip().splitlines()[-1]
    assert re.match(r"^\d+ errors?, \d+ warnings? in \d model files?", summary), summary


def test_every_bundled_ultralytics_model_is_clean():
    """No false errors on the models ultralytics ships; the one warning is a real download."""
    reports = [lint_file(path) for path in bundled_models().values()]
    assert len(reports) > 50
    problems = [(Path(f.path).name, f.line, f.code) for r in reports for f in r.findings]
    assert problems == [("yolo11-cls-resnet18.yaml", 13, "YC034")]
    assert all(r.is_model for r in reports)


def test_fix_rewrites_only_the_stale_comments(tmp_path):
    text = edited("# 2-P3/8", "# 7-P3/8").replace("# 3\n", "# 30 (P3, P4)\n")
    path = tmp_path / "model.yaml"
    path.write_text(text, encoding="utf-8")
    result = invoke_cli("validate", "model.yaml", "--fix", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "2 comments fixed" in result.stderr
    assert path.read_text(encoding="utf-8") == edited("# 3\n", "# 3 (P3, P4)\n")
    assert [p.name for p in tmp_path.iterdir()] == ["model.yaml"], "a temp file was left behind"
    again = invoke_cli("validate", "model.yaml", "--strict", cwd=tmp_path)
    assert again.returncode == 0, again.stdout


def test_json_output_is_only_json(tmp_path):
    (tmp_path / "model.yaml").write_text(edited("# 2-P3/8", "# 7-P3/8"), encoding="utf-8")
    (tmp_path / "data.yaml").write_text("names: [a]\n", encoding="utf-8")
    result = run_cli("validate", "model.yaml", "data.yaml", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [f["path"] for f in data["files"]] == ["model.yaml", "data.yaml"]
    assert [f["model"] for f in data["files"]] == [True, False]
    finding = data["files"][0]["findings"][0]
    assert finding == {
        "line": 7,
        "col": 34,
        "severity": "warning",
        "code": "YC051",
        "title": CODES["YC051"].title,
        "message": "comment says layer 7, but this row is layer 2",
        "fixable": True,
    }
    assert data["summary"]["warnings"] == 1 and data["summary"]["exit_code"] == 0


def test_github_annotations(tmp_path):
    (tmp_path / "model.yaml").write_text(edited("Conv, [128", "Cnv, [128"), encoding="utf-8")
    result = invoke_cli("validate", "model.yaml", "--format", "github", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("::error file=model.yaml,line=6,col=13,title=YC030::layer 1: unknown")


def test_github_escaping():
    report = lint_text("nc: 2\nbackbone: []\nhead: []\n", "a,b:c.yaml")
    line = github_line(report.findings[0])
    assert line.startswith("::error file=a%2Cb%3Ac.yaml,line=2,col=11,title=YC010::")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--scale", "n", "--all-scales"), "give --scale or --all-scales, not both"),
        (("--imgsz", "100"), "must be a positive multiple of 32, got 100"),
        (("--format", "xml"), "must be rich, json or github"),
        (("--import", "no_such_package_xyz"), "--import: cannot import 'no_such_package_xyz': No module named"),
    ],
)
def test_usage_errors_exit_2(args, message, tmp_path):
    (tmp_path / "model.yaml").write_text(GOOD, encoding="utf-8")
    result = invoke_cli("validate", "model.yaml", *args, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_every_code_is_documented_in_the_readme():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- section: validate -->")[1].split("<!-- end: validate -->")[0]
    for code, info in CODES.items():
        assert f"| {code} | {info.severity.value} |" in section, code
    assert "yolo-compose-lint" in section and "yolo-compose-build" in section


def test_lint_imports_neither_torch_nor_ultralytics(tmp_path):
    (tmp_path / "model.yaml").write_text(GOOD, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "yolo_compose", "validate", "model.yaml"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    imported = [line.split("|")[-1].strip() for line in result.stderr.splitlines() if "import time" in line]
    assert "yolo_compose.composer.lint" in imported
    assert [m for m in imported if m.split(".")[0] in {"torch", "ultralytics", "torchvision"}] == []


def test_warnings_and_errors_have_documented_severities():
    assert {c.severity for c in CODES.values()} == {Severity.error, Severity.warning}
    assert all(re.fullmatch(r"YC\d{3}", code) for code in CODES)


# --- build tier (real ultralytics builds in a child process) -----------------------------------


@pytest.mark.slow
def test_build_good_and_broken_models(tmp_path):
    broken = edited("[-1, 1, Conv, [256, 3, 2]]", "[-1, 1, Conv, [256, 3, 2, 1, 7]]")
    (tmp_path / "yolo11n-good.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "yolo11n-broken.yaml").write_text(broken, encoding="utf-8")
    result = run_cli("validate", "yolo11n-good.yaml", "yolo11n-broken.yaml", "--build", "--imgsz", "320",
                     cwd=tmp_path, timeout=240)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("yolo11n-broken.yaml:7:1: error: layer 2: cannot build (scale n): ")
    assert "groups" in lines[0] and lines[0].endswith("[YC060]")
    assert "2 builds run" in result.stderr


@pytest.mark.parametrize(
    ("name", "scales", "flags", "expected"),
    [
        ("yolo11s-halo.yaml", ["n", "s", "m"], {}, ["s"]),  # the letter in the name, as ultralytics takes it
        ("my_model.yaml", ["n", "s", "m"], {}, ["n"]),  # no letter: the first scale
        ("yolo11x-halo.yaml", ["n", "s"], {}, ["x"]),  # as ultralytics would: its build fails (YC060)
        ("yolo11s-halo.yaml", ["n", "s", "m"], {"scale": "m"}, ["m"]),
        ("yolo11s-halo.yaml", ["n", "s", "m"], {"all_scales": True}, ["n", "s", "m"]),
        ("yolo11s-halo.yaml", ["n", "s"], {"scale": "x"}, []),  # reported as YC060
        ("plain.yaml", [], {"all_scales": True}, [None]),  # depth/width multiples: one build
    ],
)
def test_scales_to_build(name, scales, flags, expected):
    from yolo_compose.composer.lint import FileReport
    from yolo_compose.validate_build import BuildOptions, scales_to_build

    assert scales_to_build(FileReport(name, scales=scales), BuildOptions(**flags)) == expected


def test_forward_sizes_cover_probe_square_and_rect():
    from yolo_compose.integration import probe_sizes as forward_sizes

    assert forward_sizes(640) == [(256, 256), (640, 640), (384, 640)]
    assert forward_sizes(256) == [(256, 256), (160, 256)]


def test_import_registers_user_modules_for_lint(tmp_path):
    """A module registered by an --import package is known, with its arg schema checked."""
    (tmp_path / "my_blocks.py").write_text(
        "from yolo_compose.modules.registry import ArgSpec, ModuleSpec, register\n"
        "register(ModuleSpec(name='gate', yaml_name='MyGate', target='my_blocks:MyGate', summary='demo',\n"
        "                    args=(ArgSpec('k', 'int', 3, 'kernel'),)))\n",
        encoding="utf-8",
    )
    (tmp_path / "model.yaml").write_text(
        edited("[-1, 1, Conv, [256, 3, 2]]", "[-1, 1, MyGate, [3.5]]"), encoding="utf-8"
    )
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    without = run_cli("validate", "model.yaml", cwd=tmp_path, env=env)
    assert "unknown module 'MyGate'" in without.stdout and without.returncode == 1
    result = run_cli("validate", "model.yaml", "--import", "my_blocks", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert result.stdout == "model.yaml:7:22: error: layer 2: MyGate arg 'k' must be int, got 3.5 [YC032]\n"


def test_folders_stand_for_their_yaml_files(tmp_path):
    from yolo_compose.composer.lint import lint_paths

    (tmp_path / "models" / "v2").mkdir(parents=True)
    (tmp_path / "models" / "a.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "models" / "v2" / "b.yml").write_text("names: [x]\n", encoding="utf-8")
    (tmp_path / "models" / "notes.txt").write_text("not yaml", encoding="utf-8")
    reports = lint_paths([tmp_path / "models"])
    found = [Path(r.path).relative_to(tmp_path).as_posix() for r in reports]
    assert found == ["models/a.yaml", "models/v2/b.yml"]
    assert [r.is_model for r in reports] == [True, False]
