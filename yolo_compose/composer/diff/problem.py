"""The alignment's integer view of both sides, and the edit-script size it is scored by."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..spec import INPUT
from .graph import Node

EXACT_ROWS = 48  # both sides this short: no anchors, one whole-table search (every bundled model)



@dataclass(frozen=True)
class Alignment:
    """A monotone matching of A rows to B rows; unmatched A rows are removed, unmatched B rows inserted."""

    a_to_b: dict[int, int]
    b_to_a: dict[int, int]

    @classmethod
    def from_pairs(cls, pairs: Sequence[tuple[int, int]]) -> Alignment:
        return cls(dict(pairs), {j: i for i, j in pairs})


#: A reference after following inserted/removed single-input layers: ("input",), ("b", j) for
#: an aligned layer (named by its B index), or ("a-only", i) / ("b-only", j) where it stops at an
#: unaligned layer with several inputs.
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


def inputs_agree(a: Sequence[Node], b: Sequence[Node], align: Alignment, i: int, j: int) -> bool:
    """True when aligned layers i (A) and j (B) read the same layers, up to inserts and removes."""
    na, nb = a[i], b[j]
    if na.multi != nb.multi or len(na.sources) != len(nb.sources):
        return False
    return all(
        _collapse_a(a, align, s) == _collapse_b(b, align, t)
        for s, t in zip(na.sources, nb.sources, strict=True)
    )


# The alignment's own view of the rows is integers: the DP and the local search compare millions
# of contents and references, and an integer comparison is what they can afford. A *token* is
# where a reference lands, as :func:`_collapse_a` / :func:`_collapse_b` say, written as an int:
# an aligned layer's B index (>= 0), the image (IMAGE), or an unaligned layer with several
# inputs, ``-2 - 2*i`` for A layer i and ``-3 - 2*j`` for B layer j (never equal across sides).
IMAGE = -1

Pairs = list[tuple[int, int]]
#: A stretch the DP aligns: A rows a0..a1-1 against B rows b0..b1-1, between two anchors.
Gap = tuple[int, int, int, int]


@dataclass(frozen=True)
class SideRows:
    """One side's layers as integers, computed once per alignment (nothing re-freezes after this)."""

    content: list[int]  # interned Node.content
    module: list[int]  # interned module name
    multi: list[bool]
    sources: list[tuple[int, ...]]
    single: list[int | None]  # the one input of a single-input layer (INPUT for the image)
    consumers: list[list[int]]  # the layers that read each layer
    offsets: list[int]  # interned (how far back each input sits, multi): the first round's wiring hint
    b_side: bool  # B tokens name the layer itself; A tokens name its B partner


def _offsets(node: Node, index: int) -> tuple[int, ...]:
    """How far back each input of a layer sits (a chain layer reads 1 back)."""
    return tuple(index - s if s != INPUT else -1 for s in node.sources)


class Problem:
    """Both sides of one alignment as integers, with the table that interns them.

    One table serves both sides and every round, so equal keys get equal integers everywhere.
    """

    def __init__(self, a: Sequence[Node], b: Sequence[Node]) -> None:
        self._ids: dict[Any, int] = {}
        self.a = self._rows(a, b_side=False)
        self.b = self._rows(b, b_side=True)
        self.n, self.m = len(a), len(b)
        self.lower_bound = abs(self.n - self.m)  # every length difference is an insert or a remove
        self.exact = max(self.n, self.m) <= EXACT_ROWS

    def intern(self, key: Any) -> int:
        return self._ids.setdefault(key, len(self._ids))

    def _rows(self, nodes: Sequence[Node], *, b_side: bool) -> SideRows:
        consumers: list[list[int]] = [[] for _ in nodes]
        for index, node in enumerate(nodes):
            for source in dict.fromkeys(node.sources):
                if source != INPUT:
                    consumers[source].append(index)
        return SideRows(
            content=[self.intern(("content", node.content)) for node in nodes],
            module=[self.intern(("module", node.module)) for node in nodes],
            multi=[node.multi for node in nodes],
            sources=[node.sources for node in nodes],
            single=[node.sources[0] if len(node.sources) == 1 else None for node in nodes],
            consumers=consumers,
            offsets=[self.intern(("offsets", _offsets(node, i), node.multi)) for i, node in enumerate(nodes)],
            b_side=b_side,
        )

    def compatible(self, i: int, j: int) -> bool:
        """False where a remove plus an insert is the honest story: module and input kind both differ."""
        return self.a.module[i] == self.b.module[j] or self.a.multi[i] == self.b.multi[j]


def partner_lists(problem: Problem, pairs: Pairs) -> tuple[list[int], list[int]]:
    """Each A row's B partner and each B row's A partner (-1: unaligned)."""
    a_part, b_part = [-1] * problem.n, [-1] * problem.m
    for i, j in pairs:
        a_part[i], b_part[j] = j, i
    return a_part, b_part


def unaligned_token(rows: SideRows, index: int) -> int:
    """The token of an unaligned layer with several inputs (or none)."""
    return -3 - 2 * index if rows.b_side else -2 - 2 * index


def row_tokens(rows: SideRows, partner: list[int]) -> list[int]:
    """Every row's token: where a reference to it lands under an alignment (each walk done once)."""
    tokens: list[Any] = [None] * len(partner)
    for start in range(len(partner)):
        path, source = [], start
        while True:
            if source == INPUT:
                token = IMAGE
                break
            if tokens[source] is not None:
                token = tokens[source]
                break
            path.append(source)
            if partner[source] >= 0:
                token = source if rows.b_side else partner[source]
                break
            following = rows.single[source]
            if following is None:
                token = unaligned_token(rows, source)
                break
            source = following
        for row in path:
            tokens[row] = token
    return tokens


def row_wiring(rows: SideRows, tokens: list[int], index: int) -> tuple[Any, ...]:
    """A row's inputs in tokens: equal for an A and a B row exactly where their inputs agree."""
    return (rows.multi[index], tuple(IMAGE if s == INPUT else tokens[s] for s in rows.sources[index]))


_UNMOVED: dict[int, int] = {}


def pair_cost(
    problem: Problem,
    tokens_a: list[int],
    tokens_b: list[int],
    i: int,
    j: int,
    moved_a: dict[int, int] = _UNMOVED,
    moved_b: dict[int, int] = _UNMOVED,
) -> int:
    """Edit operations one aligned pair stands for: its content changed, its inputs changed.

    ``moved_a`` / ``moved_b`` override some rows' tokens (a local-search candidate's).
    """
    a, b = problem.a, problem.b
    cost = a.content[i] != b.content[j]
    sources_a, sources_b = a.sources[i], b.sources[j]
    if a.multi[i] != b.multi[j] or len(sources_a) != len(sources_b):
        return cost + 1
    for s, t in zip(sources_a, sources_b, strict=True):
        token_a = IMAGE if s == INPUT else moved_a.get(s, tokens_a[s])
        token_b = IMAGE if t == INPUT else moved_b.get(t, tokens_b[t])
        if token_a != token_b:
            return cost + 1
    return cost


def pairs_script_size(problem: Problem, pairs: Pairs) -> int:
    """Edit operations an alignment implies (see :func:`script_size`), in one pass."""
    a_part, b_part = partner_lists(problem, pairs)
    tokens_a, tokens_b = row_tokens(problem.a, a_part), row_tokens(problem.b, b_part)
    size = problem.n + problem.m - 2 * len(pairs)
    return size + sum(pair_cost(problem, tokens_a, tokens_b, i, j) for i, j in pairs)


def script_size(a: Sequence[Node], b: Sequence[Node], align: Alignment) -> int:
    """Edit operations an alignment implies: inserts + removes + changed pairs + rewired pairs."""
    return pairs_script_size(Problem(a, b), sorted(align.a_to_b.items()))


