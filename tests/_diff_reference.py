"""The layer alignment as it was before anchoring: whole-table rounds and a global hill-climb.

Kept as a test oracle only: the property tests hold :func:`yolo_compose.composer.diff.align_nodes`
to it (identical on small inputs, an edit script no longer on larger ones). It re-scores the
whole table for every local-search candidate, so it is only usable on small graphs.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from yolo_compose.composer.diff import Alignment, Node
from yolo_compose.composer.spec import INPUT

_REFINE_ROUNDS = 4
_GAP_COST = 10
_ARGS_CHANGE_COST = 10
_MODULE_CHANGE_EXTRA = 5
_REWIRE_COST = 10
_FIRST_ROUND_OFFSET_COST = 1
_SLIDE = 6

Token = tuple[Any, ...]

def _collapse_a(a: Sequence[Node], align: Alignment, source: int) -> Token:
    """Where an A reference lands in B terms, looking through removed single-input layers."""
    while True:
        if source == INPUT:
            return ("input",)
        if source in align.a_to_b:
            return ("b", align.a_to_b[source])
        node = a[source]
        if len(node.sources) != 1:
            return ("a-only", source)
        source = node.sources[0]


def _collapse_b(b: Sequence[Node], align: Alignment, source: int) -> Token:
    """Where a B reference lands, looking through inserted single-input layers."""
    while True:
        if source == INPUT:
            return ("input",)
        if source in align.b_to_a:
            return ("b", source)
        node = b[source]
        if len(node.sources) != 1:
            return ("b-only", source)
        source = node.sources[0]


def _inputs_agree(a: Sequence[Node], b: Sequence[Node], align: Alignment, i: int, j: int) -> bool:
    """True when aligned layers i (A) and j (B) read the same layers, up to inserts and removes."""
    na, nb = a[i], b[j]
    if na.multi != nb.multi or len(na.sources) != len(nb.sources):
        return False
    return all(
        _collapse_a(a, align, s) == _collapse_b(b, align, t)
        for s, t in zip(na.sources, nb.sources, strict=True)
    )


def _content_cost(na: Node, nb: Node, change_cost: int = _ARGS_CHANGE_COST) -> int | None:
    """Cost of aligning two rows by content alone; None where a remove plus an insert is the honest story."""
    if na.content == nb.content:
        return 0
    if na.module == nb.module:
        return change_cost
    if na.multi == nb.multi:
        return change_cost + _MODULE_CHANGE_EXTRA
    return None


def _needleman_wunsch(n: int, m: int, pair_cost: Callable[[int, int], int | None]) -> list[tuple[int, int]]:
    """Minimum-cost monotone alignment of n A rows with m B rows; returns the matched (i, j) pairs."""
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    move = [[""] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        for j in range(m + 1):
            if i == 0 and j == 0:
                continue
            # On equal cost a gap wins over a match: read back from the end, this puts inserted
            # and removed rows as late as possible, after the rows they duplicate (as diff(1) does).
            candidates: list[tuple[int, int, str]] = []
            if j > 0:
                candidates.append((cost[i][j - 1] + _GAP_COST, 0, "insert"))
            if i > 0:
                candidates.append((cost[i - 1][j] + _GAP_COST, 1, "remove"))
            if i > 0 and j > 0:
                pc = pair_cost(i - 1, j - 1)
                if pc is not None:
                    candidates.append((cost[i - 1][j - 1] + pc, 2, "match"))
            best = min(candidates)
            cost[i][j], move[i][j] = best[0], best[2]
    pairs: list[tuple[int, int]] = []
    i, j = n, m
    while i > 0 or j > 0:
        step = move[i][j]
        if step == "match":
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif step == "remove":
            i -= 1
        else:
            j -= 1
    return pairs[::-1]


def _offsets(node: Node, index: int) -> tuple[int, ...]:
    """How far back each input of a layer sits (a chain layer reads 1 back)."""
    return tuple(index - s if s != INPUT else -1 for s in node.sources)


def _first_round_cost(
    a: Sequence[Node], b: Sequence[Node], change_cost: int
) -> Callable[[int, int], int | None]:
    """Pair cost before any alignment exists: content, plus a hint when input offsets differ."""

    def cost(i: int, j: int) -> int | None:
        base = _content_cost(a[i], b[j], change_cost)
        if base is None:
            return None
        differs = _offsets(a[i], i) != _offsets(b[j], j) or a[i].multi != b[j].multi
        return base + (_FIRST_ROUND_OFFSET_COST if differs else 0)

    return cost


def _refined_cost(
    a: Sequence[Node], b: Sequence[Node], previous: Alignment, change_cost: int
) -> Callable[[int, int], int | None]:
    """Pair cost scored against the previous round's alignment: content plus disagreeing inputs."""

    def cost(i: int, j: int) -> int | None:
        base = _content_cost(a[i], b[j], change_cost)
        if base is None:
            return None
        return base + (0 if _inputs_agree(a, b, previous, i, j) else _REWIRE_COST)

    return cost


def script_size(a: Sequence[Node], b: Sequence[Node], align: Alignment) -> int:
    """Edit operations an alignment implies: inserts + removes + changed pairs + rewired pairs."""
    size = (len(a) - len(align.a_to_b)) + (len(b) - len(align.b_to_a))
    for i, j in align.a_to_b.items():
        size += a[i].content != b[j].content
        size += not _inputs_agree(a, b, align, i, j)
    return size


def _neighbours(
    a: Sequence[Node], b: Sequence[Node], pairs: list[tuple[int, int]]
) -> Iterator[list[tuple[int, int]]]:
    """Alignments one step away: a matched row slid to another free partner, a pair split or added,
    or a run of pairs shifted."""
    n, m = len(a), len(b)
    for k, (i, j) in enumerate(pairs):
        low_i, low_j = pairs[k - 1] if k else (-1, -1)
        high_i, high_j = pairs[k + 1] if k + 1 < len(pairs) else (n, m)
        for j2 in range(max(low_j + 1, j - _SLIDE), min(high_j, j + _SLIDE + 1)):
            if j2 != j and _content_cost(a[i], b[j2]) is not None:
                yield [*pairs[:k], (i, j2), *pairs[k + 1 :]]
        for i2 in range(max(low_i + 1, i - _SLIDE), min(high_i, i + _SLIDE + 1)):
            if i2 != i and _content_cost(a[i2], b[j]) is not None:
                yield [*pairs[:k], (i2, j), *pairs[k + 1 :]]
        yield [*pairs[:k], *pairs[k + 1 :]]
    yield from _new_pairs(a, b, pairs)
    yield from _block_shifts(a, b, pairs)


def _new_pairs(
    a: Sequence[Node], b: Sequence[Node], pairs: list[tuple[int, int]]
) -> Iterator[list[tuple[int, int]]]:
    """Alignments with one more pair: an unmatched A row matched to an unmatched B row in the same gap."""
    bounds = [(-1, -1), *pairs, (len(a), len(b))]
    for k, ((low_i, low_j), (high_i, high_j)) in enumerate(itertools.pairwise(bounds)):
        for i in range(low_i + 1, min(high_i, low_i + 1 + _SLIDE)):
            for j in range(low_j + 1, min(high_j, low_j + 1 + _SLIDE)):
                if _content_cost(a[i], b[j]) is not None:
                    yield [*pairs[:k], (i, j), *pairs[k:]]


def _block_shifts(
    a: Sequence[Node], b: Sequence[Node], pairs: list[tuple[int, int]]
) -> Iterator[list[tuple[int, int]]]:
    """Alignments with a run of consecutive pairs moved together by a few rows on one side.

    Moving one pair at a time cannot leave a local minimum where a whole run sits one row off
    (equal-content rows make that common); shifting the run does.
    """
    n, m = len(a), len(b)
    for start in range(len(pairs)):
        for end in range(start + 1, len(pairs) + 1):
            for delta in (-2, -1, 1, 2):
                for side in (0, 1):
                    block = [(i + delta, j) if side == 0 else (i, j + delta) for i, j in pairs[start:end]]
                    shifted = [*pairs[:start], *block, *pairs[end:]]
                    if _valid(shifted, n, m) and all(_content_cost(a[i], b[j]) is not None for i, j in block):
                        yield shifted


def _valid(pairs: list[tuple[int, int]], n: int, m: int) -> bool:
    """True for a strictly increasing matching inside both lists."""
    if pairs and not (min(pairs[0]) >= 0 and pairs[-1][0] < n and pairs[-1][1] < m):
        return False
    return all(i1 < i2 and j1 < j2 for (i1, j1), (i2, j2) in itertools.pairwise(pairs))


def _local_search(a: Sequence[Node], b: Sequence[Node], start: Alignment) -> Alignment:
    """Hill-climb on the exact edit-script size; the DP's input term only estimates it."""
    pairs = sorted(start.a_to_b.items())
    size = script_size(a, b, start)
    lower_bound = abs(len(a) - len(b))  # every length difference is an insert or a remove
    improved = True
    while improved and size > lower_bound:
        improved = False
        for candidate in _neighbours(a, b, pairs):
            candidate_size = script_size(a, b, Alignment.from_pairs(candidate))
            if candidate_size < size:
                pairs, size, improved = candidate, candidate_size, True
                break
    return Alignment.from_pairs(pairs)


def _refined_alignment(a: Sequence[Node], b: Sequence[Node], change_cost: int) -> tuple[Alignment, int]:
    """DP rounds for one cost setting, then local search; returns the alignment and its script size."""
    best = Alignment.from_pairs(_needleman_wunsch(len(a), len(b), _first_round_cost(a, b, change_cost)))
    best_size = script_size(a, b, best)
    current = best
    for _ in range(_REFINE_ROUNDS if best_size > abs(len(a) - len(b)) else 0):
        refined = Alignment.from_pairs(
            _needleman_wunsch(len(a), len(b), _refined_cost(a, b, current, change_cost))
        )
        if refined == current:
            break
        size = script_size(a, b, refined)
        if size <= best_size:  # on a tie, the later round: it has seen more of the wiring
            best, best_size = refined, size
        current = refined
    best = _local_search(a, b, best)
    return best, script_size(a, b, best)


def align_nodes(a: Sequence[Node], b: Sequence[Node]) -> Alignment:
    """Align two layer lists: content first, then refined by the dataflow graph (see module doc).

    Two cost settings are tried — a changed row as cheap as one gap, and as dear as two (then a
    remove plus an insert is never worse) — unless the first already reaches the lower bound
    ``|len(a) - len(b)|``; the shorter edit script wins, the first on a tie.
    """
    best, best_size = _refined_alignment(a, b, _ARGS_CHANGE_COST)
    if best_size > abs(len(a) - len(b)):
        other, other_size = _refined_alignment(a, b, 2 * _GAP_COST)
        if other_size < best_size:
            best = other
    return best
