"""The text of a model YAML as its author laid it out: lines, row comments, and new rows in that style.

Edits never re-serialise a document (see :mod:`.edit`); they patch the text at the positions the
reader reports. This module holds the facts about the text that those patches need:

- where a line starts and ends, and which line break it uses (CRLF files stay CRLF);
- a row's *trailing comment*: text after the row on its last line, past nothing but blanks,
  commas and closing brackets (``- [-1, 1, SPPF, [1024, 5]] # 9``, ``[-1, 1, C3, [128]],  # 2``,
  ``[-1, 4, Bottleneck, [1024]]]  # 10``), and the *index comment* among them: one that starts with
  a layer number (``# 9``, ``# 0-P1/2``, ``# 16 (P3/8-small)``, ``# 12: concat``, ``# 9)``);
- how a value is written in flow style, the way model files write rows, with the bracket spacing
  of the neighbouring row (``[-1, 1, Conv, [64]]`` or ``[ -1, 1, CBH, [ 48, 3, 2 ] ]``).

Nothing here imports torch or ultralytics.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import yaml

#: An index comment: "# 9", "# 0-P1/2", "# 16 (P3/8-small)", "# 12: concat". Group 1 is the number.
INDEX_COMMENT = re.compile(r"#\s*(\d+)(?=$|[\s\-:,(/.)\]])")
#: What may stand between a row's end and its trailing comment: blanks, commas, closing brackets.
_TAIL = re.compile(r"^[ \t,\]}]*?[ \t](#.*)$|^[ \t,\]}]*$")
_PLAIN = re.compile(r"^[A-Za-z_][\w.]*$")
_RESOLVER = yaml.resolver.Resolver()


@dataclass(frozen=True)
class Patch:
    """Replace ``text[start:end]`` with ``new``; a zero-width patch inserts."""

    start: int
    end: int
    new: str


def apply_patches(text: str, patches: list[Patch]) -> str:
    """The text with every patch applied; patches must not overlap (inserts at one spot keep their order)."""
    pieces: list[str] = []
    position = 0
    for patch in sorted(patches, key=lambda p: (p.start, p.end)):
        if patch.start < position:
            raise ValueError(f"overlapping patches at {patch.start}")
        pieces.append(text[position : patch.start])
        pieces.append(patch.new)
        position = patch.end
    pieces.append(text[position:])
    return "".join(pieces)


# --- lines ------------------------------------------------------------------------------------


def line_start(text: str, position: int) -> int:
    """Index of the first character of the line holding `position`."""
    return text.rfind("\n", 0, position) + 1


def line_end(text: str, position: int) -> int:
    """Index of the line break ending the line holding `position` (len(text) on a last line without one)."""
    end = text.find("\n", position)
    if end < 0:
        return len(text)
    return end - 1 if end > 0 and text[end - 1] == "\r" else end


def break_before(text: str, start: int) -> str:
    """The line break that ends the line before the one starting at `start` ('' on the first line)."""
    if start >= 2 and text[start - 2 : start] == "\r\n":
        return "\r\n"
    return "\n" if start >= 1 and text[start - 1] == "\n" else ""


def break_after(text: str, end: int) -> str:
    """The line break at `end` (as returned by :func:`line_end`); the file's usual one where there is none."""
    if text.startswith("\r\n", end):
        return "\r\n"
    if text.startswith("\n", end):
        return "\n"
    return "\r\n" if "\r\n" in text else "\n"


def blank_width(prefix: str) -> str:
    """`prefix` with every character but tabs made a space: the same columns, nothing written."""
    return "".join(ch if ch == "\t" else " " for ch in prefix)


# --- trailing and index comments ------------------------------------------------------------------


def trailing_comment(text: str, row_end: int) -> int | None:
    """Position of the comment that ends the line a row ends on, or None when it has none."""
    tail = text[row_end : line_end(text, row_end)]
    match = _TAIL.match(tail)
    if match is None or match.group(1) is None:
        return None
    return row_end + match.start(1)


def index_comment_digits(text: str, row_end: int) -> tuple[int, int, int] | None:
    """(start, end, number) of the number in a row's index comment, or None when it has none."""
    start = trailing_comment(text, row_end)
    if start is None:
        return None
    match = INDEX_COMMENT.match(text, start, line_end(text, start))
    if match is None:
        return None
    return match.start(1), match.end(1), int(match.group(1))


def comment_gap(text: str, row_end: int) -> tuple[int, int] | None:
    """(column, blanks before it) of a row's trailing comment, to lay a new row's comment out alike."""
    start = trailing_comment(text, row_end)
    if start is None:
        return None
    before = text[line_start(text, start) : start]
    return len(before), len(before) - len(before.rstrip(" \t"))


def with_comment(content: str, comment: str, gap: tuple[int, int] | None) -> str:
    """A line's content and its comment, at the neighbour's comment column (or one blank after it)."""
    if gap is None:
        return f"{content} {comment}"
    column, blanks = gap
    pad = column - len(content)
    return content + " " * (pad if pad >= max(blanks, 1) else max(blanks, 1)) + comment


# --- values in flow style ---------------------------------------------------------------------------


def _plain_string_ok(value: str) -> bool:
    """True when a string can be written bare and reads back as the same string (no `no` or `1e3`)."""
    if not _PLAIN.match(value):
        return False
    tag: str = _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))
    return tag == "tag:yaml.org,2002:str"


def flow_text(value: Any, *, spaced: bool = False) -> str:
    """A plain value as a YAML flow item, the way model files write args (``True``, ``[2, 1]``).

    Strings stay bare where PyYAML reads them back as the same string, else they are quoted.
    `spaced` writes ``[ a, b ]`` as some community files do.
    """
    if isinstance(value, (list, tuple)):
        inner = ", ".join(flow_text(item, spaced=spaced) for item in value)
        return f"[ {inner} ]" if spaced and inner else f"[{inner}]"
    if isinstance(value, dict):
        inner = ", ".join(f"{flow_text(k)}: {flow_text(v, spaced=spaced)}" for k, v in value.items())
        return f"{{ {inner} }}" if spaced and inner else f"{{{inner}}}"
    if isinstance(value, bool):
        return "True" if value else "False"
    if value is None:
        return "null"
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        return repr(value) if math.isfinite(value) else ("-.inf" if value < 0 else ".inf")
    if isinstance(value, str):
        return value if _plain_string_ok(value) else json.dumps(value, ensure_ascii=False)
    return str(value)


def is_spaced(row_text: str) -> bool:
    """True when a row is written with blanks inside its brackets: ``[ -1, 1, CBH, [ 48 ] ]``."""
    return row_text.startswith("[ ")
