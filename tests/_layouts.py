"""Model YAMLs laid out the way community files are, made from ultralytics' bundled ones.

Ultralytics writes block lists (``  - [-1, 1, Conv, [64, 3, 2]] # 0-P1/2``); most community files
(the yolov3/v5/v7 lineage) write each section as one flow list, and carry CRLF endings, a BOM,
Chinese comments, tabs, whitespace-only lines or no final newline. Each function here rewrites a
bundled text into one such layout without changing the model it describes.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_BLOCK_ROW = re.compile(r"^(?P<indent>[ \t]*)- (?P<row>\[.*\])(?P<gap>[ \t]*)(?P<comment>#.*)?$")
_SECTION = re.compile(r"^(backbone|head):[ \t]*(#.*)?$")


def _sections(lines: list[str]) -> list[tuple[int, int]]:
    """(first, last) line numbers of each section's row lines (block rows only)."""
    spans = []
    for number, line in enumerate(lines):
        if _SECTION.match(line):
            rows = []
            for inner in range(number + 1, len(lines)):
                if lines[inner] and not lines[inner][0].isspace() and not lines[inner].startswith("#"):
                    break
                if _BLOCK_ROW.match(lines[inner]):
                    rows.append(inner)
            if rows:
                spans.append((rows[0], rows[-1]))
    return spans


def _spaced(row: str) -> str:
    """``[ -1, 1, Conv, [ 64, 3, 2 ] ]``: a blank inside every bracket."""
    return re.sub(r"\[(?!\])", "[ ", re.sub(r"(?<!\[)\]", " ]", row))


def to_flow(text: str, *, closing: str = "own-line", spaced: bool = False, header: bool = True) -> str:
    """Each section as one flow list, yolov5 style: ``  [[-1, 1, Conv, [64, 6, 2, 2]],  # 0-P1/2``.

    `closing`: "own-line" puts the list's ``]`` on a line of its own, "last-row" closes it on the
    last row (``[-1, 4, Bottleneck, [1024]]]  # 10``). `header` adds a ``# [from, ...]`` comment.
    """
    lines = text.split("\n")
    for first, last in reversed(_sections(lines)):
        rows = [k for k in range(first, last + 1) if _BLOCK_ROW.match(lines[k])]
        for position, k in enumerate(rows):
            match = _BLOCK_ROW.match(lines[k])
            assert match is not None
            row = _spaced(match["row"]) if spaced else match["row"]
            opener = ("[ " if spaced else "[") if position == 0 else " "
            end = "]" if closing == "last-row" and k == rows[-1] else ","
            comment = f"  {match['comment']}" if match["comment"] else ""
            lines[k] = f"  {opener}{row}{end}{comment}"
        if closing == "own-line":
            lines.insert(last + 1, "  ]")
        if header:
            lines.insert(first, "  # [from, number, module, args]")
    return "\n".join(lines)


def crlf(text: str) -> str:
    """Every line break as CRLF."""
    return text.replace("\n", "\r\n")


def bom(text: str) -> str:
    """A UTF-8 byte-order mark first."""
    return "\ufeff" + text


def no_final_newline(text: str) -> str:
    """The last line without its line break."""
    return text.rstrip("\n")


def tabs_in_comments(text: str) -> str:
    """A tab after each trailing comment's ``#``: ``#\\t0-P1/2``."""
    return re.sub(r"(\S[ \t]+)# ", "\\1#\t", text)


def chinese_comments(text: str) -> str:
    """A Chinese comment line before each section, and one after the first row of each."""
    text = re.sub(r"^(backbone|head):", "# 主干网络与检测头（中文注释）\n\\1:", text, flags=re.M)
    return re.sub(r"^(  - \[.*)$", "\\1  # 注意力", text, count=2, flags=re.M)


def whitespace_lines(text: str) -> str:
    """Whitespace-only lines and trailing blanks: after every third row a line of three spaces."""
    lines = text.split("\n")
    out = []
    for number, line in enumerate(lines):
        out.append(line + ("  " if number % 5 == 1 and line.strip() else ""))
        if number % 3 == 0 and _BLOCK_ROW.match(line):
            out.append("   ")
    return "\n".join(out)


#: Every layout, by name; each takes a bundled (block-style) text.
LAYOUTS: dict[str, Callable[[str], str]] = {
    "flow": to_flow,
    "flow-closed-on-last-row": lambda t: to_flow(t, closing="last-row"),
    "flow-spaced-brackets": lambda t: to_flow(t, spaced=True),
    "flow-no-header": lambda t: to_flow(t, header=False),
    "crlf": crlf,
    "flow-crlf": lambda t: crlf(to_flow(t)),
    "bom": bom,
    "tabs-in-comments": tabs_in_comments,
    "chinese-comments": chinese_comments,
    "whitespace-lines": whitespace_lines,
    "flow-whitespace-lines": lambda t: to_flow(whitespace_lines(t)),
    "no-final-newline": no_final_newline,
    "flow-no-final-newline": lambda t: no_final_newline(to_flow(t, closing="last-row")),
}
