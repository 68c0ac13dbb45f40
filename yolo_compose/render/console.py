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
from typing import Any

from rich.console import Console


class OutputFormat(str, Enum):
    """How a command prints its result."""

    rich = "rich"
    json = "json"
    github = "github"


def stdout_console() -> Console:
    """Console for results (stdout), never interpreting markup in data."""
    return Console(file=sys.stdout, markup=False, highlight=False, soft_wrap=False, emoji=False)


def stderr_console() -> Console:
    """Console for summaries, progress and errors (stderr)."""
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


def no_color() -> bool:
    """True when NO_COLOR is set (https://no-color.org)."""
    return bool(os.environ.get("NO_COLOR"))
