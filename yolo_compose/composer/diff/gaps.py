"""The DP (Needleman-Wunsch, banded past a size) that aligns each gap between anchors."""

from __future__ import annotations

from typing import Any

from .problem import Gap, Pairs, Problem, partner_lists, row_tokens, row_wiring

# Costs in tenths, kept integral so that equal costs tie exactly (ties are broken on purpose).
GAP_COST = 10  # a row inserted or removed
_MODULE_CHANGE_EXTRA = 5  # a changed module costs this more than changed args
_GAP_CELLS = 100_000  # a gap with more DP cells is aligned in a band around its diagonal
_MIN_BAND = 16  # the band's least half-width, in rows


_INSERT, _REMOVE, _MATCH = 0, 1, 2  # DP moves


def _band(n: int, m: int) -> list[tuple[int, int]]:
    """The B columns (lo, hi, inclusive) the DP computes on each of its rows 0..n.

    All of them while the gap has at most _GAP_CELLS cells; beyond, a band around the diagonal
    wide enough to hold the path (each row's band reaches the next row's), so one huge gap costs
    O(n + m) cells, not O(n * m).
    """
    if n * m <= _GAP_CELLS:
        return [(0, m)] * (n + 1)
    width = max(_MIN_BAND, (_GAP_CELLS - m) // (2 * n))
    return [(max(0, i * m // n - width), min(m, -(-(i + 1) * m // n) + width)) for i in range(n + 1)]


def _needleman_wunsch(
    problem: Problem, gap: Gap, wiring_a: list[int], wiring_b: list[int], wiring_cost: int, change_cost: int
) -> Pairs:
    """Minimum-cost monotone alignment of one gap; returns the matched (i, j) pairs.

    A gap row costs GAP_COST; a pair costs 0 for equal content, ``change_cost`` when only
    repeats/args differ, _MODULE_CHANGE_EXTRA more when the module differs (no pair where the
    module and the input kind both differ), plus ``wiring_cost`` where the two rows' wiring
    integers differ.
    """
    a0, a1, b0, b1 = gap
    n, m = a1 - a0, b1 - b0
    band = _band(n, m)
    content_a, module_a, multi_a = problem.a.content, problem.a.module, problem.a.multi
    content_b, module_b, multi_b = problem.b.content, problem.b.module, problem.b.multi
    module_cost = change_cost + _MODULE_CHANGE_EXTRA
    outside = 1 << 62
    previous = [j * GAP_COST for j in range(band[0][1] + 1)]
    moves = [bytearray(len(previous))]  # row 0: inserts only
    for i in range(1, n + 1):
        lo, hi = band[i]
        prev_lo, prev_hi = band[i - 1]
        row = a0 + i - 1
        content, module, multi, wiring = content_a[row], module_a[row], multi_a[row], wiring_a[row]
        current = [0] * (hi - lo + 1)
        move = bytearray(hi - lo + 1)
        for j in range(lo, hi + 1):
            # On equal cost a gap wins over a match: read back from the end, this puts inserted
            # and removed rows as late as possible, after the rows they duplicate (as diff(1) does).
            best, step = (current[j - 1 - lo] + GAP_COST if j > lo else outside), _INSERT
            if prev_lo <= j <= prev_hi and previous[j - prev_lo] + GAP_COST < best:
                best, step = previous[j - prev_lo] + GAP_COST, _REMOVE
            if prev_lo < j <= prev_hi + 1:
                col = b0 + j - 1
                if content == content_b[col]:
                    pair = 0
                elif module == module_b[col]:
                    pair = change_cost
                elif multi == multi_b[col]:
                    pair = module_cost
                else:
                    pair = -1
                if pair >= 0:
                    pair += previous[j - 1 - prev_lo] + (wiring_cost if wiring != wiring_b[col] else 0)
                    if pair < best:
                        best, step = pair, _MATCH
            current[j - lo] = best
            move[j - lo] = step
        previous = current
        moves.append(move)
    pairs: Pairs = []
    i, j = n, m
    while i > 0 or j > 0:
        step = moves[i][j - band[i][0]]
        if step == _MATCH:
            pairs.append((a0 + i - 1, b0 + j - 1))
            i, j = i - 1, j - 1
        elif step == _REMOVE:
            i -= 1
        else:
            j -= 1
    return pairs[::-1]


def wiring_ids(problem: Problem, pairs: Pairs) -> tuple[list[int], list[int]]:
    """Each row's inputs under an alignment, as integers equal exactly where an A and a B row agree."""
    a_part, b_part = partner_lists(problem, pairs)
    tokens_a, tokens_b = row_tokens(problem.a, a_part), row_tokens(problem.b, b_part)
    return (
        [problem.intern(("wiring", row_wiring(problem.a, tokens_a, i))) for i in range(problem.n)],
        [problem.intern(("wiring", row_wiring(problem.b, tokens_b, j))) for j in range(problem.m)],
    )


def align_gaps(
    problem: Problem,
    anchors: Pairs,
    gaps: list[Gap],
    wiring: tuple[list[int], list[int], int],
    change_cost: int,
    cache: dict[Any, Pairs],
) -> Pairs:
    """The anchors plus each gap's DP alignment. A gap whose rows' wiring did not change since an
    earlier round gets that round's answer back (the DP would find the same)."""
    wiring_a, wiring_b, wiring_cost = wiring
    pairs = list(anchors)
    for gap in gaps:
        a0, a1, b0, b1 = gap
        if a0 == a1 or b0 == b1:
            continue
        key = (gap, wiring_cost, change_cost, tuple(wiring_a[a0:a1]), tuple(wiring_b[b0:b1]))
        if key not in cache:
            cache[key] = _needleman_wunsch(problem, gap, wiring_a, wiring_b, wiring_cost, change_cost)
        pairs.extend(cache[key])
    pairs.sort()
    return pairs


