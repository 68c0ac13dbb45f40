"""Anchors of the alignment, found as patience diff finds them (see the package docstring)."""

from __future__ import annotations

import bisect
import itertools
from collections import Counter
from typing import Any

from ..spec import INPUT
from .problem import Gap, Pairs, Problem, SideRows

_ANCHOR_PAD = 3  # anchors next to a gap handed back to the DP, so it places the gap itself
_SETTLED_GAP_CELLS = 256  # a gap this small is not searched for further anchors
_DIFF_CELLS = 40_000  # a region this large without unique rows is anchored by a bounded diff
_DIFF_EDITS = 64  # ... that gives up beyond this many row inserts and removes



def _same_row(problem: Problem, found: dict[int, int], i: int, j: int) -> bool:
    """True when A row i and B row j are one layer left alone: same content, and each input the
    same distance back or an already anchored pair (a long skip across an edit)."""
    a, b = problem.a, problem.b
    if a.content[i] != b.content[j] or a.multi[i] != b.multi[j] or len(a.sources[i]) != len(b.sources[j]):
        return False
    for s, t in zip(a.sources[i], b.sources[j], strict=True):
        if s == INPUT or t == INPUT:
            if s != t:
                return False
        elif found.get(s) != t and i - s != j - t:
            return False
    return True


def _longest_increasing(candidates: Pairs) -> Pairs:
    """The longest run of candidates (sorted by A row) whose B rows increase too (patience sorting)."""
    tails: list[int] = []  # the smallest B row that ends a run of each length
    tail_at: list[int] = []  # the candidate that does
    back = [-1] * len(candidates)
    for index, (_, j) in enumerate(candidates):
        length = bisect.bisect_left(tails, j)
        if length == len(tails):
            tails.append(j)
            tail_at.append(index)
        else:
            tails[length], tail_at[length] = j, index
        back[index] = tail_at[length - 1] if length else -1
    run, index = [], tail_at[-1] if tail_at else -1
    while index >= 0:
        run.append(candidates[index])
        index = back[index]
    return run[::-1]


def _unique_pairs(problem: Problem, a0: int, a1: int, b0: int, b1: int) -> Pairs:
    """Rows unique on both sides of a region, paired, in increasing order on both (patience diff).

    A row is keyed by its content where that content is unique on both sides, else by its
    content and how far back its inputs sit (``Concat [1]`` reading -1 and 6 back is often
    unique where ``Concat [1]`` is not).
    """
    a, b = problem.a, problem.b
    count_a, count_b = Counter(a.content[a0:a1]), Counter(b.content[b0:b1])

    def key(rows: SideRows, index: int) -> Any:
        content = rows.content[index]
        return content if count_a[content] == count_b[content] == 1 else (content, rows.offsets[index])

    keys_a = [key(a, i) for i in range(a0, a1)]
    keys_b = [key(b, j) for j in range(b0, b1)]
    once_a, once_b = Counter(keys_a), Counter(keys_b)
    where_b = {k: b0 + t for t, k in enumerate(keys_b) if once_b[k] == 1}
    candidates = [(a0 + t, where_b[k]) for t, k in enumerate(keys_a) if once_a[k] == 1 and k in where_b]
    return _longest_increasing(candidates)


def _bounded_diff(problem: Problem, found: dict[int, int], a0: int, a1: int, b0: int, b1: int) -> Pairs:
    """The rows a shortest line diff of a region keeps, where one exists within _DIFF_EDITS edits.

    Rows are equal as :func:`_same_row` says (an arg change is a remove and an insert here: the
    DP sorts those out). Myers' greedy O((n + m) * D) diff: near-linear for near-identical
    regions, which is what is left when repeated content hides every row from the unique-row
    anchoring. Empty where the region needs more edits (the DP, banded if need be, gets it whole).
    """
    n, m = a1 - a0, b1 - b0
    furthest = [0] * (2 * _DIFF_EDITS + 3)  # by diagonal k = x - y (negative k from the end)
    trace = []
    for edits in range(_DIFF_EDITS + 1):
        trace.append(list(furthest))
        for k in range(-edits, edits + 1, 2):
            down = k == -edits or (k != edits and furthest[k - 1] < furthest[k + 1])
            x = furthest[k + 1] if down else furthest[k - 1] + 1
            y = x - k
            while x < n and y < m and _same_row(problem, found, a0 + x, b0 + y):
                x, y = x + 1, y + 1
            furthest[k] = x
            if x >= n and y >= m:
                return _diff_pairs(trace, n, m, a0, b0)
    return []


def _diff_pairs(trace: list[list[int]], n: int, m: int, a0: int, b0: int) -> Pairs:
    """The kept rows of a finished Myers diff, read back from its end."""
    pairs: Pairs = []
    x, y = n, m
    for edits in range(len(trace) - 1, -1, -1):
        furthest, k = trace[edits], x - y
        down = k == -edits or (k != edits and furthest[k - 1] < furthest[k + 1])
        before_k = k + 1 if down else k - 1
        before_x = furthest[before_k]
        before_y = before_x - before_k
        while x > before_x and y > before_y:
            x, y = x - 1, y - 1
            pairs.append((a0 + x, b0 + y))
        x, y = before_x, before_y
    return pairs[::-1]


def _hand_back(anchors: Pairs, n: int, m: int) -> Pairs:
    """The anchors less the _ANCHOR_PAD next to each gap on either side: among equal neighbours
    the DP, not the anchoring, decides where a gap's rows go (as late as possible, as before)."""
    bounds = [(-1, -1), *anchors, (n, m)]
    dropped: set[int] = set()
    for k in range(1, len(bounds)):
        (i0, j0), (i1, j1) = bounds[k - 1], bounds[k]
        if i1 - i0 > 1 or j1 - j0 > 1:
            dropped.update(range(k - 1 - _ANCHOR_PAD, k - 1 + _ANCHOR_PAD))
    return [pair for index, pair in enumerate(anchors) if index not in dropped]


def _gaps_between(anchors: Pairs, n: int, m: int) -> list[Gap]:
    """The stretches of rows between consecutive anchors that hold a row on either side."""
    bounds = [(-1, -1), *anchors, (n, m)]
    return [
        (i0 + 1, i1, j0 + 1, j1)
        for (i0, j0), (i1, j1) in itertools.pairwise(bounds)
        if i1 - i0 > 1 or j1 - j0 > 1
    ]


def find_anchors(problem: Problem) -> tuple[Pairs, list[Gap]]:
    """Pairs fixed before the DP, and the gaps between them that the DP aligns (see module doc).

    Recursive, as patience diff is: in each region the equal prefix and suffix are trimmed, then
    rows unique in the region anchor it, and the stretches between them are regions again, where
    rows repeated elsewhere may be unique. Small inputs get no anchors: one whole-table DP.
    """
    n, m = problem.n, problem.m
    if problem.exact:
        return [], [(0, n, 0, m)]
    found: dict[int, int] = {}
    regions = [(0, n, 0, m)]
    while regions:
        a0, a1, b0, b1 = regions.pop()
        while a0 < a1 and b0 < b1 and _same_row(problem, found, a0, b0):
            found[a0] = b0
            a0, b0 = a0 + 1, b0 + 1
        while a0 < a1 and b0 < b1 and _same_row(problem, found, a1 - 1, b1 - 1):
            a1, b1 = a1 - 1, b1 - 1
            found[a1] = b1
        if (a1 - a0) * (b1 - b0) <= _SETTLED_GAP_CELLS:
            continue
        unique = _unique_pairs(problem, a0, a1, b0, b1)
        if not unique:
            if (a1 - a0) * (b1 - b0) > _DIFF_CELLS:
                found.update(_bounded_diff(problem, found, a0, a1, b0, b1))
            continue
        found.update(unique)
        bounds = [(a0 - 1, b0 - 1), *unique, (a1, b1)]
        stretches = [(i0 + 1, i1, j0 + 1, j1) for (i0, j0), (i1, j1) in itertools.pairwise(bounds)]
        regions.extend(reversed(stretches))  # the leftmost first: its anchors serve later long skips
    anchors = _hand_back(sorted(found.items()), n, m)
    return anchors, _gaps_between(anchors, n, m)


