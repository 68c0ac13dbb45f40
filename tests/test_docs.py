"""Every CLI command teaches: it has help with an example, and the README shows it in use."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from conftest import PROJECT_ROOT, run_cli

from yolo_compose.cli import app
from yolo_compose.modules.registry import ENTRY_POINT_GROUP

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def command_names() -> list[str]:
    """Names of every registered top-level command."""
    group = typer.main.get_command(app)
    return sorted(group.commands)  # type: ignore[attr-defined]


def test_the_cli_has_the_main_commands() -> None:
    assert {"insert", "remove", "diff", "validate", "modules"} <= set(command_names())


def test_every_command_has_help_with_an_example() -> None:
    group = typer.main.get_command(app)
    for name in command_names():
        command = group.commands[name]  # type: ignore[attr-defined]
        assert command.help, f"command {name!r} has no help text"
        assert "Example" in command.help, f"command {name!r} help has no example"


def test_every_command_appears_in_the_readme() -> None:
    for name in command_names():
        assert f"yolo-compose {name}" in README, f"README never shows `yolo-compose {name}`"


def test_help_runs_as_a_real_process() -> None:
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    for name in command_names():
        assert name in result.stdout, f"{name!r} missing from top-level --help"


# --- the README's examples, run exactly as written ---------------------------------------------------


def readme_block(marker: str) -> str:
    """The fenced code block right after ``<!-- example: MARKER -->`` (or another marker comment)."""
    start = README.index(f"<!-- {marker} -->")
    fence = README.index("```", start)
    body = README.index("\n", fence) + 1
    return README[body : README.index("```", body)]


def console_commands(block: str) -> list[list[str]]:
    """The ``$ yolo-compose ...`` lines of a console block, split as a shell would."""
    return [shlex.split(line[2:])[1:] for line in block.splitlines() if line.startswith("$ yolo-compose ")]


@pytest.mark.slow
def test_the_own_module_example_runs_as_written(tmp_path: Path) -> None:
    (tmp_path / "my_blocks.py").write_text(readme_block("example: my_blocks.py"), encoding="utf-8")
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    commands = console_commands(readme_block("example: commands"))
    assert [c[0] for c in commands] == ["modules", "insert", "validate"]
    for command in commands:
        result = run_cli(*command, cwd=tmp_path, env=env)
        assert result.returncode == 0, (command, result.stdout, result.stderr[-3000:])
    written = (tmp_path / "yolo11n-gate.yaml").read_text(encoding="utf-8")
    assert "[-1, 1, ChannelGate, [8]]" in written
    assert 'entry-points."yolo_compose.modules"' in README and ENTRY_POINT_GROUP == "yolo_compose.modules"


def test_the_local_pre_commit_hook_runs_as_written(tmp_path: Path) -> None:
    """`repo: local` + `language: system`: the installed yolo-compose lints, nothing is installed."""
    (tmp_path / ".pre-commit-config.yaml").write_text(readme_block("precommit-local"), encoding="utf-8")
    good = "nc: 2\nbackbone:\n  - [-1, 1, Conv, [16, 3, 2]] # 0\nhead:\n  - [[0], 1, Detect, [nc]] # 1\n"
    (tmp_path / "good.yaml").write_text(good, encoding="utf-8")
    (tmp_path / "bad.yaml").write_text(good.replace("Conv", "Cnv"), encoding="utf-8")
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
           "PRE_COMMIT_HOME": str(tmp_path / ".cache"), "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path)}
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True, env=env)
    subprocess.run(["git", "add", "."], cwd=tmp_path, check=True, env=env)
    run = subprocess.run([sys.executable, "-m", "pre_commit", "run", "--all-files"], cwd=tmp_path,
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "bad.yaml:3:13: error: layer 0: unknown module 'Cnv'" in run.stdout
    assert "good.yaml" not in run.stdout
