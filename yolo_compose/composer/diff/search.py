"""The local search that shortens the DP's edit script (see :class:`Search`)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from ..spec import INPUT
from .problem import IMAGE, Pairs, Problem, SideRows, pair_cost, partner_lists, row_tokens, unaligned_token

_SLIDE = 6  # how far the local search moves one row's partner
_WINDOW = 8  # the local search looks this many pairs either side of a defect
_MAX_WINDOW = 64  # longer stretches of defects are searched in windows of this many pairs
_MAX_RUN = 16  # the longest run of pairs one block shift moves, outside the exact case



def _reach(rows: SideRows, partner: list[int], moved: dict[int, int]) -> set[int]:
    """The moved rows and every row whose walk back through unaligned single-input layers meets
    one: exactly the rows whose token a move can change."""
    reach, stack = set(moved), list(moved)
    while stack:
        row = stack.pop()
        for reader in rows.consumers[row]:
            if reader not in reach and partner[reader] < 0 and rows.single[reader] == row:
                reach.add(reader)
                stack.append(reader)
    return reach


def _moved_tokens(
    rows: SideRows, partner: list[int], moved: dict[int, int], reach: set[int], tokens: list[int]
) -> dict[int, int]:
    """The tokens of the rows in ``reach`` once ``moved`` rows take their new partners."""
    new: dict[int, int] = {}
    for start in sorted(reach):
        path, source = [], start
        while True:
            if source == INPUT:
                token = IMAGE
                break
            if source not in reach:
                token = tokens[source]
                break
            if source in new:
                token = new[source]
                break
            path.append(source)
            mate = moved.get(source, partner[source])
            if mate >= 0:
                token = source if rows.b_side else mate
                break
            following = rows.single[source]
            if following is None:
                token = unaligned_token(rows, source)
                break
            source = following
        for row in path:
            new[row] = token
    return new


@dataclass
class _Move:
    """A scored candidate: what changes if it is taken, and by how much the script shrinks."""

    delta: int
    moved_a: dict[int, int]  # A row -> new B partner (-1: unaligned)
    moved_b: dict[int, int]
    tokens_a: dict[int, int]  # new tokens of the rows they reach
    tokens_b: dict[int, int]
    rescored: set[int]  # A rows of the pairs scored before the move
    costs: dict[int, int]  # A row -> cost of its pair after the move


class Search:
    """A hill-climb on the exact edit-script size from the DP's alignment (whose input term only
    estimates it): take the first candidate that shortens the script, then look again.

    The candidates are those of the whole-table search this replaces: a pair slid to another
    free partner, split, added in a gap, or a run of pairs shifted by one or two rows. A
    candidate is scored by what it changes — the pairs whose rows move and the pairs that read
    those rows, through unaligned single-input layers — never by re-scoring the table. Small
    inputs are searched whole, exactly as before; larger ones only in windows around the
    defects (unaligned rows, changed or rewired pairs), with shifted runs of at most _MAX_RUN
    pairs, so the search costs about as much as the defects it can fix.
    """

    def __init__(self, problem: Problem, pairs: Pairs) -> None:
        self.problem = problem
        self.pairs = list(pairs)
        self.a_part, self.b_part = partner_lists(problem, self.pairs)
        self.tokens_a = row_tokens(problem.a, self.a_part)
        self.tokens_b = row_tokens(problem.b, self.b_part)
        self.cost = [0] * problem.n  # the cost of each A row's pair
        for i, j in self.pairs:
            self.cost[i] = pair_cost(problem, self.tokens_a, self.tokens_b, i, j)
        self.size = problem.n + problem.m - 2 * len(self.pairs) + sum(self.cost)

    def run(self) -> None:
        if self.problem.exact:
            self._climb(0, None, None)
            return
        for lo, hi in reversed(self._windows()):  # from the end: earlier windows keep their indices
            self._climb(lo, hi, _MAX_RUN)

    def _climb(self, lo: int, hi: int | None, max_run: int | None) -> None:
        """Improve pairs[lo:hi] (all of them for None) until no candidate there shortens the script.

        The one-step candidates come first; only where none of them helps are the two-step ones
        tried (see _slides_with_fill), so every alignment the one-step climb already left at its
        shortest is left exactly as it was.
        """
        while self.size > self.problem.lower_bound:
            end = len(self.pairs) if hi is None else hi
            grown = self._take_first(self._candidates(lo, end, max_run))
            if grown is None:
                grown = self._take_first(self._slides_with_fill(lo, end))
            if grown is None:
                return
            if hi is not None:
                hi += grown

    def _take_first(self, candidates: Iterator[tuple[int, int, Pairs]]) -> int | None:
        """Take the first candidate that shortens the script; the change in the number of pairs."""
        for k0, k1, block in candidates:
            move = self._score(k0, k1, block)
            if move is not None and move.delta < 0:
                self._take(k0, k1, block, move)
                return len(block) - (k1 - k0)
        return None

    def _slides_with_fill(self, lo: int, hi: int) -> Iterator[tuple[int, int, Pairs]]:
        """A pair slid by one row on one side, with the row it frees paired at once.

        Sliding a pair onto the next row often costs nothing by itself (the same change, now
        to the other row) while the pair it makes possible, the rows just past it, is what
        shortens the script: two steps through a plateau that a climb of single steps never
        crosses. Pair ``(i, j)`` becomes ``(i + 1, j)`` and ``(i + 2, j + 1)``, or mirrored, on
        either side and in either direction, wherever those rows are free and compatible.
        """
        pairs, compatible = self.pairs, self.problem.compatible
        n, m = self.problem.n, self.problem.m
        for k in range(lo, hi):
            i, j = pairs[k]
            low = pairs[k - 1] if k else (-1, -1)
            high = pairs[k + 1] if k + 1 < len(pairs) else (n, m)
            for di, dj in ((1, 0), (0, 1)):  # slide forward on A or on B, fill behind the new pair
                slid, fill = (i + di, j + dj), (i + di + 1, j + dj + 1)
                if fill[0] < high[0] and fill[1] < high[1] and compatible(*slid) and compatible(*fill):
                    yield k, k + 1, [slid, fill]
            for di, dj in ((1, 0), (0, 1)):  # slide back on A or on B, fill before the new pair
                slid, fill = (i - di, j - dj), (i - di - 1, j - dj - 1)
                if fill[0] > low[0] and fill[1] > low[1] and compatible(*slid) and compatible(*fill):
                    yield k, k + 1, [fill, slid]

    def _windows(self) -> list[tuple[int, int]]:
        """Ranges of pair indices within _WINDOW of a defect, merged, cut to _MAX_WINDOW pairs."""
        pairs, n, m = self.pairs, self.problem.n, self.problem.m
        bounds = [(-1, -1), *pairs, (n, m)]
        defects = [k for k, (i, _) in enumerate(pairs) if self.cost[i]]
        gaps = enumerate(itertools.pairwise(bounds))
        defects += [k for k, ((i0, j0), (i1, j1)) in gaps if i1 - i0 > 1 or j1 - j0 > 1]
        merged: list[tuple[int, int]] = []
        for k in sorted(defects):
            lo, hi = max(0, k - _WINDOW), min(len(pairs), k + _WINDOW + 1)
            if merged and lo <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
            else:
                merged.append((lo, hi))
        windows = []
        for lo, hi in merged:
            starts = range(lo, max(hi, lo + 1), _MAX_WINDOW)
            windows += [(start, min(start + _MAX_WINDOW, hi)) for start in starts]
        return windows

    def _candidates(self, lo: int, hi: int, max_run: int | None) -> Iterator[tuple[int, int, Pairs]]:
        """Alignments one step away, as ``pairs[k0:k1]`` replaced by a block, in the old search's order:
        each pair in [lo, hi) slid to another free partner on either side or split, then a pair added
        in each gap next to them, then runs of pairs shifted."""
        pairs, compatible = self.pairs, self.problem.compatible
        n, m = self.problem.n, self.problem.m
        for k in range(lo, hi):
            i, j = pairs[k]
            low_i, low_j = pairs[k - 1] if k else (-1, -1)
            high_i, high_j = pairs[k + 1] if k + 1 < len(pairs) else (n, m)
            for j2 in range(max(low_j + 1, j - _SLIDE), min(high_j, j + _SLIDE + 1)):
                if j2 != j and compatible(i, j2):
                    yield k, k + 1, [(i, j2)]
            for i2 in range(max(low_i + 1, i - _SLIDE), min(high_i, i + _SLIDE + 1)):
                if i2 != i and compatible(i2, j):
                    yield k, k + 1, [(i2, j)]
            yield k, k + 1, []
        for k in range(lo, hi + 1):  # the gap before pairs[k]
            low_i, low_j = pairs[k - 1] if k else (-1, -1)
            high_i, high_j = pairs[k] if k < len(pairs) else (n, m)
            for i in range(low_i + 1, min(high_i, low_i + 1 + _SLIDE)):
                for j in range(low_j + 1, min(high_j, low_j + 1 + _SLIDE)):
                    if compatible(i, j):
                        yield k, k, [(i, j)]
        yield from self._block_shifts(lo, hi, max_run)

    def _block_shifts(self, lo: int, hi: int, max_run: int | None) -> Iterator[tuple[int, int, Pairs]]:
        """Runs of consecutive pairs moved together by a few rows on one side.

        Moving one pair at a time cannot leave a local minimum where a whole run sits one row off
        (equal-content rows make that common); shifting the run does. A shift needs free rows on
        the side it moves to, so only runs next to a gap ever qualify; runs are grown one pair at
        a time, and a run whose shifted pairs stop being compatible ends the growth.
        """
        pairs, compatible = self.pairs, self.problem.compatible
        limits = (self.problem.n, self.problem.m)
        shifts = [(delta, side) for delta in (-2, -1, 1, 2) for side in (0, 1)]
        for start in range(lo, hi):
            before, first = (pairs[start - 1] if start else (-1, -1)), pairs[start]
            fits_left = [delta > 0 or before[side] < first[side] + delta for delta, side in shifts]
            growing = [True] * len(shifts)
            last_end = hi if max_run is None else min(hi, start + max_run)
            for end in range(start + 1, last_end + 1):
                last = pairs[end - 1]
                after = pairs[end] if end < len(pairs) else limits
                for index, (delta, side) in enumerate(shifts):
                    if not growing[index]:
                        continue
                    moved = last[side] + delta
                    shifted = (moved, last[1]) if side == 0 else (last[0], moved)
                    if not (0 <= moved < limits[side] and compatible(*shifted)):
                        growing[index] = False
                    elif fits_left[index] and (delta < 0 or moved < after[side]):
                        yield start, end, [
                            (i + delta, j) if side == 0 else (i, j + delta) for i, j in pairs[start:end]
                        ]
                if not any(growing):
                    break

    def _score(self, k0: int, k1: int, block: Pairs) -> _Move | None:
        """What replacing pairs[k0:k1] by ``block`` changes; None when it cannot shorten the script.

        The cheap part first: the rows it moves, the rows whose tokens that may change, and the
        pairs to re-score. When their present cost cannot pay for the rows it unaligns and the
        content changes of its own pairs, no re-scoring can make it shorter.
        """
        problem = self.problem
        moved_a: dict[int, int] = {}
        moved_b: dict[int, int] = {}
        for i, j in self.pairs[k0:k1]:
            moved_a[i], moved_b[j] = -1, -1
        for i, j in block:
            moved_a[i], moved_b[j] = j, i
        moved_a = {i: mate for i, mate in moved_a.items() if self.a_part[i] != mate}
        moved_b = {j: mate for j, mate in moved_b.items() if self.b_part[j] != mate}
        if not moved_a and not moved_b:
            return None
        reach_a = _reach(problem.a, self.a_part, moved_a)
        reach_b = _reach(problem.b, self.b_part, moved_b)
        rows_a = set(moved_a).union(*(problem.a.consumers[r] for r in reach_a))
        rows_b = set(moved_b).union(*(problem.b.consumers[r] for r in reach_b))
        rescored = {i for i in rows_a if self.a_part[i] >= 0}
        rescored.update(self.b_part[j] for j in rows_b if self.b_part[j] >= 0)
        unaligned = 2 * (k1 - k0 - len(block))
        content = problem.a.content, problem.b.content
        least = unaligned + sum(content[0][i] != content[1][j] for i, j in block)
        old_cost = sum(self.cost[i] for i in rescored)
        if least >= old_cost:
            return None
        tokens_a = _moved_tokens(problem.a, self.a_part, moved_a, reach_a, self.tokens_a)
        tokens_b = _moved_tokens(problem.b, self.b_part, moved_b, reach_b, self.tokens_b)

        new_pairs = {(i, moved_a.get(i, self.a_part[i])) for i in rows_a}
        new_pairs.update((moved_b.get(j, self.b_part[j]), j) for j in rows_b)
        costs = {
            i: pair_cost(problem, self.tokens_a, self.tokens_b, i, j, tokens_a, tokens_b)
            for i, j in new_pairs
            if i >= 0 and j >= 0
        }
        delta = sum(costs.values()) - old_cost + unaligned
        return _Move(delta, moved_a, moved_b, tokens_a, tokens_b, rescored, costs)

    def _take(self, k0: int, k1: int, block: Pairs, move: _Move) -> None:
        self.pairs[k0:k1] = block
        for i, mate in move.moved_a.items():
            self.a_part[i] = mate
        for j, mate in move.moved_b.items():
            self.b_part[j] = mate
        for row, token in move.tokens_a.items():
            self.tokens_a[row] = token
        for row, token in move.tokens_b.items():
            self.tokens_b[row] = token
        for i in move.rescored:
            self.cost[i] = 0
        for i, cost in move.costs.items():
            self.cost[i] = cost
        self.size += move.delta


