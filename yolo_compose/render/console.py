"""Consoles and output formats shared by every renderer.

Rich markup eats YAML (``[nc, [a, b]]`` reads as markup), so every console here prints data with
``markup=False`` and ``highlight=False``; styled text is built with ``rich.text.Text``.
Results go to stdout; summaries, progress and errors go to stderr.
"""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Rich is imported by the functions that draw: an error line or JSON needs none
    from rich.console import Console
    from rich.table import Table


class OutputFormat(str, Enum):
    """How a command prints its result."""

    rich = "rich"
    json = "json"
    github = "github"


def stdout_console() -> Console:
    """Console for results (stdout), never interpreting markup in data.

    Rich is imported here, not at module level: the CLI imports this module for every command,
    and an error line or a JSON document needs no Rich.
    """
    from rich.console import Console

    return Console(file=sys.stdout, markup=False, highlight=False, soft_wrap=False, emoji=False)


def stderr_console() -> Console:
    """Console for summaries, progress and errors (stderr)."""
    from rich.console import Console

    return Console(file=sys.stderr, markup=False, highlight=False, soft_wrap=False, emoji=False)


def print_json(data: Any) -> None:
    """Print a JSON document to stdout (and nothing else), sorted keys off, 2-space indent."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


def printable(text: str) -> str:
    """Text with control characters (terminal escape sequences, newlines) written as escapes.

    Names read from a YAML file reach the terminal through this: ``\x1b[2J`` in a module name is
    shown as the six characters ``\x1b[2J``, never sent to the terminal as a command.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def print_error(message: str) -> None:
    """One error line on stderr, prefixed like every CLI error of the project."""
    sys.stderr.write(f"error: {printable(message)}\n")
    sys.stderr.flush()


def plain_columns(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """A header, a rule of dashes and the rows, each column left-aligned to its widest cell.

    For reports short enough to need no Rich: no box characters, no trailing spaces, one line
    per row whatever the terminal's width (the cells are short: indices, module names, refs).
    """
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

    return [line(headers), line(tuple("-" * width for width in widths)), *(line(row) for row in rows)]


def github_data(text: str) -> str:
    """Text escaped for the message of a GitHub Actions workflow command (``::notice ...::TEXT``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_property(text: str) -> str:
    """Text escaped for a property value of a workflow command (``file=``, ``title=``)."""
    return github_data(text).replace(":", "%3A").replace(",", "%2C")


def no_color() -> bool:
    """True when NO_COLOR is set (https://no-color.org)."""
    return bool(os.environ.get("NO_COLOR"))


def fits(console: Console, table: Table) -> bool:
    """True when the table's natural width fits the console (nothing would wrap or be cut)."""
    from rich.measure import Measurement

    unbounded = console.options.update_width(1_000_000)  # console.measure() clips to the console width
    return Measurement.get(console, unbounded, table).maximum <= console.width


def print_table(console: Console, table: Table, title: str = "") -> None:
    """A title line, then the table, with no line padded by trailing spaces.

    Rich pads a table's title and cells to the table's width; the lines are rendered first and
    their right ends stripped, so copied output and diffs of it carry no invisible padding.
    """
    from rich.text import Text

    if title:
        console.print(title, soft_wrap=True)
    for line in console.render_lines(table, console.options, pad=False, new_lines=False):
        segments = list(line)
        while segments and not segments[-1].control and not segments[-1].text.strip():
            segments.pop()
        if segments:
            last = segments[-1]
            segments[-1] = type(last)(last.text.rstrip(), last.style, last.control)
        console.print(Text.assemble(*((s.text, s.style or "") for s in segments if not s.control)),
                      soft_wrap=True)

