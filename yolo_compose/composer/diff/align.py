"""The alignment put together: anchors, DP rounds refined by the wiring, local search."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .anchors import find_anchors
from .gaps import GAP_COST, align_gaps, wiring_ids
from .graph import Node
from .problem import Alignment, Gap, Pairs, Problem, pairs_script_size
from .search import Search

# Costs in tenths, as gaps.GAP_COST is.
_REFINE_ROUNDS = 4  # DP rounds re-scored by the previous round's wiring
_ARGS_CHANGE_COST = 10  # the first cost setting: a changed row as cheap as one gap
_REWIRE_COST = 10  # a pair whose inputs disagree under the previous round
_FIRST_ROUND_OFFSET_COST = 1  # weak hint before any alignment exists: relative offsets differ



def _refined_alignment(
    problem: Problem, anchors: Pairs, gaps: list[Gap], change_cost: int, cache: dict[Any, Pairs]
) -> tuple[Pairs, int]:
    """DP rounds for one cost setting, then local search; returns the alignment and its script size."""
    first_round = (problem.a.offsets, problem.b.offsets, _FIRST_ROUND_OFFSET_COST)
    best = align_gaps(problem, anchors, gaps, first_round, change_cost, cache)
    best_size = pairs_script_size(problem, best)
    current = best
    for _ in range(_REFINE_ROUNDS if best_size > problem.lower_bound else 0):
        wiring = (*wiring_ids(problem, current), _REWIRE_COST)
        refined = align_gaps(problem, anchors, gaps, wiring, change_cost, cache)
        if refined == current:
            break
        size = pairs_script_size(problem, refined)
        if size <= best_size:  # on a tie, the later round: it has seen more of the wiring
            best, best_size = refined, size
        current = refined
    search = Search(problem, best)
    search.run()
    return search.pairs, search.size


def align_nodes(a: Sequence[Node], b: Sequence[Node]) -> Alignment:
    """Align two layer lists: anchors, then the gaps by content refined by the dataflow graph,
    then a local search (see module doc).

    Two cost settings are tried — a changed row as cheap as one gap, and as dear as two (then a
    remove plus an insert is never worse) — unless the first already reaches the lower bound
    ``|len(a) - len(b)|``; the shorter edit script wins, the first on a tie.
    """
    problem = Problem(a, b)
    anchors, gaps = find_anchors(problem)
    cache: dict[Any, Pairs] = {}
    best, best_size = _refined_alignment(problem, anchors, gaps, _ARGS_CHANGE_COST, cache)
    if best_size > problem.lower_bound:
        other, other_size = _refined_alignment(problem, anchors, gaps, 2 * GAP_COST, cache)
        if other_size < best_size:
            best = other
    return Alignment.from_pairs(best)


