"""Rows as text: where a row sits, and the patches that add one like its neighbours or take one out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from ...errors import EditError
from ..layout import (
    Patch,
    blank_width,
    break_after,
    break_before,
    comment_gap,
    flow_text,
    is_spaced,
    line_end,
    line_start,
    with_comment,
)
from ..spec import Layer, ModelSpec


@dataclass(frozen=True)
class _Place:
    """A row's node and where it sits: its span, its lines' bounds, the text before and after it."""

    start: int
    end: int
    line_start: int  # of its first line
    line_end: int  # of its last line
    prefix: str  # text of its first line before it
    tail: str  # text of its last line after it


def _place(spec: ModelSpec, node: yaml.Node) -> _Place:
    text = spec.text
    start, end = spec.span(node)
    first, last = line_start(text, start), line_end(text, end)
    return _Place(start, end, first, last, text[first:start], text[end:last])


def _section_rows(spec: ModelSpec, layer: Layer) -> list[yaml.Node]:
    """The row nodes of a layer's section, with a check that each is written as a flow list."""
    rows = list(spec.section_node(layer.section).value)
    for position, row in enumerate(rows):
        if not (isinstance(row, yaml.SequenceNode) and row.flow_style):
            raise EditError(
                "the row is written as a block list; yolo-compose edits rows written as "
                "[from, repeats, module, args]", path=spec.source, line=row.start_mark.line + 1,
                layer=layer.index - layer.position + position,
            )
    return rows


_BLOCK_ITEM = re.compile(r"[ \t]*-[ \t]+")


_CLOSERS = re.compile(r"[ \t]*[\]}]+")


_COMMA = re.compile(r"[ \t]*,")


def new_row_patches(
    spec: ModelSpec, target: Layer, rows: list[tuple[list[Any], str]], *, after: bool
) -> list[Patch]:
    """Patches that add `rows` (each with its comment) right after (or before) `target`, laid out
    like its neighbours, in the order given."""
    text = spec.text
    section_rows = _section_rows(spec, target)
    flow = bool(spec.section_node(target.section).flow_style)
    position = target.position
    anchor = _place(spec, section_rows[position])
    spaced = is_spaced(text[anchor.start : anchor.end])
    texts = [(flow_text(row, spaced=spaced), comment) for row, comment in rows]
    above = section_rows[position if after else position - 1] if after or position > 0 else None
    gap = comment_gap(text, spec.span(above)[1]) if above is not None else None
    gap = gap or comment_gap(text, anchor.end)
    following = _place(spec, section_rows[position + 1]) if position + 1 < len(section_rows) else None
    if after:
        return _patches_after(text, anchor, following, texts, gap, flow)
    previous = _place(spec, section_rows[position - 1]) if position > 0 else None
    return _patches_before(text, anchor, previous, following, texts, gap, flow)


def _indent(prefix: str, flow: bool) -> str:
    """The text a new row's line starts with, from a neighbour's first-line prefix."""
    if flow:
        return blank_width(prefix)
    match = _BLOCK_ITEM.fullmatch(prefix)
    return prefix if match else blank_width(prefix) + "- "


def _inline(texts: list[tuple[str, str]], *, leading: bool) -> str:
    """New rows on a line shared with other rows: ``, [..], [..]`` (or ``[..], [..], ``)."""
    return "".join(f", {row}" if leading else f"{row}, " for row, _comment in texts)


def _patches_after(
    text: str, t: _Place, following: _Place | None, texts: list[tuple[str, str]],
    gap: tuple[int, int] | None, flow: bool,
) -> list[Patch]:
    if following is not None and following.start < t.line_end:
        return [Patch(t.end, t.end, _inline(texts, leading=True))]  # several rows on one line
    brk = break_after(text, t.line_end)
    indent = _indent(t.prefix, flow)

    def lines(last: str) -> str:
        """Each row on its own line; in a flow list every one but the last ends in a comma."""
        ends = [","] * (len(texts) - 1) + [last] if flow else [""] * len(texts)
        return "".join(brk + with_comment(indent + row + end, comment, gap)
                       for (row, comment), end in zip(texts, ends, strict=True))

    if not flow:
        return [Patch(t.line_end, t.line_end, lines(""))]
    if _COMMA.match(t.tail):
        return [Patch(t.line_end, t.line_end, lines(","))]
    closers = _CLOSERS.match(t.tail)
    if closers:  # `[..]]  # 10`: a comma takes the bracket's place, the bracket closes the last new row
        moved = Patch(t.line_end, t.line_end, lines(closers.group()))
        return [Patch(t.end, t.end + closers.end(), ","), moved]
    if t.end == t.line_end:  # the last row, its list closed further down
        return [Patch(t.end, t.end, "," + lines(""))]
    return [Patch(t.end, t.end, ","), Patch(t.line_end, t.line_end, lines(""))]


def _patches_before(
    text: str, j: _Place, previous: _Place | None, following: _Place | None, texts: list[tuple[str, str]],
    gap: tuple[int, int] | None, flow: bool,
) -> list[Patch]:
    if previous is not None and previous.end > j.line_start:
        return [Patch(j.start, j.start, _inline(texts, leading=False))]  # several rows on one line
    comma = "," if flow else ""
    own_line = not j.prefix.strip() or (not flow and _BLOCK_ITEM.fullmatch(j.prefix))
    if own_line:
        brk = break_before(text, j.line_start) or break_after(text, j.line_end)
        lines = "".join(with_comment(j.prefix + row + comma, comment, gap) + brk for row, comment in texts)
        return [Patch(j.line_start, j.line_start, lines)]
    if flow and (following is None or following.start > j.line_end):  # `  [[..],`: take the opener's line
        brk = break_after(text, j.line_end)
        blank = blank_width(j.prefix)
        lines = "".join(with_comment((j.prefix if k == 0 else blank) + row + ",", comment, gap) + brk
                        for k, (row, comment) in enumerate(texts))
        return [Patch(j.line_start, j.start, lines + blank)]
    return [Patch(j.start, j.start, _inline(texts, leading=False))]


def removal_patches(spec: ModelSpec, target: Layer) -> list[Patch]:
    """Patches that take a row out of the text: the exact inverse of each insert layout."""
    text = spec.text
    rows = _section_rows(spec, target)
    flow = bool(spec.section_node(target.section).flow_style)
    position = target.position
    r = _place(spec, rows[position])
    previous = _place(spec, rows[position - 1]) if position > 0 else None
    following = _place(spec, rows[position + 1]) if position + 1 < len(rows) else None
    if previous is not None and previous.end > r.line_start:
        return [Patch(previous.end, r.end, "")]  # `, [..]` on a shared line
    if following is not None and following.start < r.line_end:
        return [Patch(r.start, following.start, "")]  # `[..], ` on a shared line
    whole_line = Patch(r.line_start - len(break_before(text, r.line_start)), r.line_end, "")
    if flow and r.prefix.strip() and following is not None:  # it held the opener: hand it on
        if following.line_start == r.line_end + len(break_after(text, r.line_end)):
            return [Patch(r.line_start, following.start, r.prefix)]
        return [Patch(r.line_start, r.line_end + len(break_after(text, r.line_end)), ""),
                Patch(following.line_start, following.start, r.prefix)]
    if flow and previous is not None and not _COMMA.match(r.tail):
        comma = _COMMA.match(previous.tail)
        if comma is not None:
            closers = _CLOSERS.match(r.tail)
            back = closers.group() if closers else ""
            return [Patch(previous.end, previous.end + comma.end(), back), whole_line]
    return [whole_line]
