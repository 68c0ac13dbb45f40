"""Every CLI command teaches: it has help with an example, and the README shows it in use."""

from __future__ import annotations

import typer.main
from conftest import PROJECT_ROOT, run_cli

from yolo_compose.cli import app

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
