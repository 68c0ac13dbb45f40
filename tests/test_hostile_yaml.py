"""Hostile YAML through every command that reads it: `insert`, `remove`, `diff`, `validate`.

Each input (found by fuzzing mutated community files) gets one line naming the file, exit 2 (1 for
`validate`'s findings), no traceback, nothing written, and a payload never runs: the deep
``!!python`` tag is refused, never copied into an output that a careless loader reads later.
The reader's guards are the same for every command because there is one reader.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import invoke_cli
from typer.testing import CliRunner

from yolo_compose.cli import app
from yolo_compose.composer import ModelSpec
from yolo_compose.composer.diff import diff_specs

MODEL_ROWS = "backbone:\n  - [-1, 1, Conv, [8, 3, 2]]\n  - [-1, 1, Conv, [8, 3, 2]]\nhead:\n  - [[0, 1], 1, Detect, [1]]\n"


def alias_bomb() -> str:
    """Nine levels of ten aliases each: 10^9 nodes when expanded, 500 bytes written."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    return "\n".join(lines) + "\n" + MODEL_ROWS


def deep_python_tag(marker: Path) -> str:
    """A code-running tag nested 250 levels deep in a row's args (past any shallow tag walk)."""
    args = f'!!python/object/apply:os.system ["touch {marker}"]'
    for _ in range(250):
        args = f"[{args}]"
    return MODEL_ROWS.replace("[8, 3, 2]]\nhead", f"{args}]\nhead")


def chained_aliases() -> str:
    """3,000 aliases each wrapping the one before: deep, and quadratic when expanded."""
    lines = ["a: &a [1]"] + [f"b{i}: &b{i} [*{'a' if i == 0 else f'b{i - 1}'}]" for i in range(3000)]
    return "\n".join(lines) + "\n" + MODEL_ROWS


CASES = {
    "unhashable-key": ("[[a]]: 1\n" + MODEL_ROWS, "found unhashable key"),
    "flow-key": ("[a]: 1\n" + MODEL_ROWS, "found unhashable key"),
    "alias-bomb": (alias_bomb(), "alias bomb"),
    "chained-aliases": (chained_aliases(), "alias bomb"),
    "deep-nesting": ("x: " + "[" * 10_000 + "]" * 10_000 + "\n" + MODEL_ROWS, "nesting is too deep"),
}
COMMANDS = {
    "insert": ["insert", "halo", "--after", "0", "--no-build", "--base", "{file}", "-o", "out.yaml"],
    "remove": ["remove", "0", "--base", "{file}", "-o", "out.yaml"],
    "diff": ["diff", "{file}", "{file}"],
    "validate": ["validate", "{file}"],
}


def run(command: str, path: Path) -> object:
    args = [arg.replace("{file}", path.name) for arg in COMMANDS[command]]
    return CliRunner().invoke(app, args, catch_exceptions=False)


def assert_refused(result, command: str, path: Path, text: str) -> None:
    """One line naming the file, the documented exit code, no traceback, nothing written."""
    lines = (result.stdout + result.stderr).strip().splitlines()
    if command == "validate":
        assert result.exit_code == 1, result.output
        assert len(lines) == 2 and lines[0].startswith(f"{path.name}:") and text in lines[0], lines
    else:
        assert result.exit_code == 2, result.output
        assert len(lines) == 1 and lines[0].startswith(f"error: {path.name}") and text in lines[0], lines
    assert "Traceback" not in result.output
    assert not (path.parent / "out.yaml").exists()


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_input_is_one_line_for_every_command(case, command, tmp_path, monkeypatch):
    text, message = CASES[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert_refused(run(command, path), command, path, message)
    assert path.read_text(encoding="utf-8") == text


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_deep_python_tag_is_refused_and_never_copied(command, tmp_path):
    marker = tmp_path / "PWNED"
    path = tmp_path / "deep.yaml"
    path.write_text(deep_python_tag(marker), encoding="utf-8")
    args = [arg.replace("{file}", path.name) for arg in COMMANDS[command]]
    result = invoke_cli(*args, cwd=tmp_path)
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert result.returncode == (1 if command == "validate" else 2), result.stderr
    assert "!!python/object/apply:os.system refused" in lines[0], lines
    assert not (tmp_path / "out.yaml").exists() and not marker.exists()


def test_yaml_1_1_booleans_are_read_as_ultralytics_reads_them():
    a = ModelSpec.from_text(MODEL_ROWS.replace("[8, 3, 2]]\nhead", "[8, 3, 2, no]]\nhead"), "a.yaml")
    b = ModelSpec.from_text(MODEL_ROWS.replace("[8, 3, 2]]\nhead", "[8, 3, 2, False]]\nhead"), "b.yaml")
    assert a.layers[1].args == [8, 3, 2, False]
    assert diff_specs(a, b, a_name="a", b_name="b").same_graph


def test_diff_of_no_against_false_exits_0(tmp_path):
    (tmp_path / "a.yaml").write_text(MODEL_ROWS.replace("[8, 3, 2]]\nhead", "[8, 3, 2, no]]\nhead"))
    (tmp_path / "b.yaml").write_text(MODEL_ROWS.replace("[8, 3, 2]]\nhead", "[8, 3, 2, False]]\nhead"))
    result = invoke_cli("diff", "a.yaml", "b.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "same"


def test_the_last_duplicate_key_wins_as_in_ultralytics():
    spec = ModelSpec.from_text(MODEL_ROWS + "head:\n  - [[0, 1], 1, Segment, [1]]\n")
    assert spec.layers[-1].module == "Segment"


def test_args_nested_too_deep_are_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.yaml").write_text(MODEL_ROWS)
    deep = "[" * 5000 + "]" * 5000
    result = CliRunner().invoke(app, ["insert", "halo", "--after", "0", "--no-build", "--base", "m.yaml",
                                      "--args", deep, "-o", "out.yaml"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "out.yaml").exists()
