"""Library errors name no command-line option; the CLI words their parameter and remedy with its own."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from yolo_compose.composer.edit import output_target
from yolo_compose.errors import ComposeError, EditError, Hint, OutputExistsError, Param, exception_line
from yolo_compose.render.errors import CLI_HINTS, CLI_PARAMS, cli_error_line

PACKAGE = Path(__file__).resolve().parent.parent / "yolo_compose"
#: `--after`, `--force`, `-o`: an option as a user types it.
CLI_OPTION = re.compile(r"(?<![\w-])(--[a-z][\w-]*|-o\b)")


def _library_files() -> list[Path]:
    """Every module below the CLI and the renderers (those two word options on purpose)."""
    return [
        path for path in sorted(PACKAGE.rglob("*.py"))
        if not {"cli", "render"} & set(path.relative_to(PACKAGE).parts)
    ]


def _raised_strings(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, text) of every string literal, f-string parts included, in a `raise` statement."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            for part in ast.walk(node.exc):
                if isinstance(part, ast.Constant) and isinstance(part.value, str):
                    found.append((part.lineno, part.value))
    return found


def test_no_library_error_names_a_cli_option() -> None:
    offending = [
        f"{path.relative_to(PACKAGE)}:{line}: {text!r}"
        for path in _library_files()
        for line, text in _raised_strings(ast.parse(path.read_text(encoding="utf-8")))
        if CLI_OPTION.search(text)
    ]
    assert _library_files() and not offending, offending


def test_the_cli_words_every_parameter_and_remedy() -> None:
    assert set(CLI_PARAMS) == set(Param)
    assert set(CLI_HINTS) == set(Hint)
    for hint in Hint:  # the same fields in both wordings, so every hint_values fills both
        assert _fields(hint.value) == _fields(CLI_HINTS[hint]), hint


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_an_existing_output_reads_in_library_words_and_in_cli_words(tmp_path: Path) -> None:
    existing = tmp_path / "out.yaml"
    existing.write_text("x", encoding="utf-8")
    with pytest.raises(OutputExistsError) as caught:
        output_target(str(existing), "d.yaml", source=None, force=False)
    assert str(caught.value) == f"output {str(existing)!r} exists; overwrite it (force), or choose another output"
    assert cli_error_line(caught.value) == (
        f"output {str(existing)!r} exists; pass --force to overwrite it or -o another name"
    )


def test_parameter_and_filled_remedy_keep_the_location_first() -> None:
    error = ComposeError(
        "HaloAttention keeps its input's shape", path="m.yaml", line=3, layer=2, param=Param.scale,
        hint=Hint.insert_instead, hint_values={"module": "halo", "index": 2, "base": "yolo11n"},
    )
    assert str(error) == (
        "m.yaml:3: layer 2: scale: HaloAttention keeps its input's shape; "
        "insert it instead: halo after layer 2 of yolo11n"
    )
    assert cli_error_line(error) == (
        "m.yaml:3: layer 2: --scale: HaloAttention keeps its input's shape; "
        "insert it instead: yolo-compose insert halo --after 2 --base yolo11n"
    )
    assert cli_error_line(EditError("plain")) == str(EditError("plain")) == "plain"


def test_a_foreign_exception_is_one_line_type_first_and_cut_where_asked() -> None:
    error = ValueError("channels 256\n  not divisible\tby heads 3")
    assert exception_line(error) == "ValueError: channels 256 not divisible by heads 3"
    assert exception_line(KeyError()) == "KeyError: (no message)"
    assert exception_line(error, limit=10) == "ValueError"
