"""Start-up of the command line: only the command being run is turned into Click parameters.

`cli.app_for` hands Typer a group holding just the invoked command; what a user sees (usage,
the command's help, --version, unknown names) must be what the whole app shows.
"""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from yolo_compose.cli import app, app_for
from yolo_compose.render.console import plain_columns


def command_names(application: typer.Typer) -> list[str]:
    return sorted(typer.main.get_command(application).commands)


def test_a_named_command_gets_a_group_with_that_command_only():
    assert command_names(app_for(["insert", "halo", "--after", "8"])) == ["insert"]
    assert len(command_names(app)) > 5


def test_help_options_and_unknown_names_get_the_whole_app():
    for args in ([], ["--help"], ["--version"], ["-h", "insert"], ["inser"]):
        assert app_for(args) is app


def test_a_command_help_is_the_same_from_the_single_command_group():
    runner = CliRunner()
    for name in ("insert", "diff", "validate", "transfer"):
        whole = runner.invoke(app, [name, "--help"], prog_name="yolo-compose")
        single = runner.invoke(app_for([name]), [name, "--help"], prog_name="yolo-compose")
        assert whole.exit_code == single.exit_code == 0
        assert single.output == whole.output


def test_usage_errors_read_the_same_from_the_single_command_group():
    runner = CliRunner()
    args = ["insert", "halo", "--base", "yolo11n", "--nope"]
    whole = runner.invoke(app, args, prog_name="yolo-compose")
    single = runner.invoke(app_for(args), args, prog_name="yolo-compose")
    assert whole.exit_code == single.exit_code == 2
    assert single.output == whole.output


def test_plain_columns_align_each_column_and_pad_no_line_end():
    lines = plain_columns(("layer", "from"), [("10", "-1 (same text)"), ("124", "13 -> 14")])
    assert lines == [
        "layer  from",
        "-----  --------------",
        "10     -1 (same text)",
        "124    13 -> 14",
    ]
