"""A YOLO-aware diff of two model YAMLs: layers aligned, not lines.

Generic YAML diffs compare list items by position, so one inserted layer shifts every later row
and every absolute ``from`` reference, and the report drowns in renamed rows. Here the two layer
lists are *aligned* first (a monotone matching, as in ``diff(1)``), then every difference is said
in layer terms:

- **inserted** / **removed** layers: B rows without an A partner, and A rows without a B partner;
- **changed** layers: an aligned pair whose module, repeats or args differ;
- **rewired** layers: an aligned pair whose inputs now come from a different layer;
- **renumbered** references: a ``from`` number that changed only because rows moved;
- **top-level** changes: ``nc``, ``scales``, ``activation``, ``kpt_shape``, any other key;
- **comments**: only when asked, since they never change the network.

How inputs are compared. A reference is followed through inserted or removed single-input
layers until it reaches an aligned layer (or the image): inserting ``HaloAttention`` between
layer 8 and the SPPF that read it is one insert, not an insert plus a rewire, and removing a
layer hands its readers to its own input. Only what is left after that is a rewire.

How layers are aligned. A Needleman-Wunsch alignment with unit gap cost, where matching two rows
costs 0 when they are equal, 1 when only repeats/args differ, 1.5 when the module differs (a
replaced layer: cheaper than a remove plus an insert), and +1 when the pair's inputs disagree
(a second setting makes changes cost 2 and 2.5, see :func:`align_nodes`).
The input term needs an alignment to be computed, so the alignment is refined a few times,
each round scoring inputs against the previous round; the round whose result is the shortest
edit script wins, and a local search (slide, split, add or shift pairs) then shortens it
further where it can. On equal cost, inserted and removed rows go as late as possible.
The tests rebuild B's graph from A and a result alone (``tests/_diff_checks.py``), which is how
they check that a result is complete.

How that stays near-linear. Run over the whole table, the DP costs O(n*m) time and memory per
round and the local search re-scored the whole table for every candidate (a 262- against a
163-layer model took 28 s; 5,000 layers against themselves plus one insert, 247 s and 1.25 GB).
So, unless both sides have at most ``_EXACT_ROWS`` rows (every bundled model; that case runs
exactly as described above), the DP only sees the *gaps* between anchors, found as patience
diff finds them, region by region:

1. the region's equal prefix and suffix are trimmed (a row equal when its content is, and each
   input sits as far back or is an already anchored pair);
2. rows unique to the region on both sides — by content, else by content and input offsets —
   that also come in the same order (a longest increasing subsequence) anchor it, and the
   stretches between them are regions again, where rows repeated elsewhere may be unique;
3. a large region with no unique row at all (repeated blocks) is anchored by a Myers line diff
   of the rows, given up beyond ``_DIFF_EDITS`` edits.

The ``_ANCHOR_PAD`` anchors next to each gap are handed back to the DP, so that it, not the
anchoring, places the gap among equal neighbours. Each gap gets the DP rounds above (a gap
whose wiring did not change since the last round keeps its answer); a gap over ``_GAP_CELLS``
cells is aligned in a band around its diagonal, so a huge gap costs O(n + m) cells, not O(n*m). The
local search then scores a candidate by what it changes — the pairs whose rows move and the
pairs reading those rows — never by re-scoring the table, and, past the exact size, looks only
in windows around the defects (unaligned rows, changed or rewired pairs). Contents are frozen
once per node, and the inner loops compare interned integers. Near-identical models then cost
time and memory linear in their length (the README's "diff alignment" benchmark).

This module never imports torch or ultralytics.
"""

from __future__ import annotations

import bisect
import difflib
import itertools
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .spec import INPUT, SECTIONS, ModelSpec

#: JSON schema identifier of :meth:`DiffResult.to_dict`; bumped on any incompatible change.
SCHEMA = "yolo-compose/diff/1"
#: How an aligned layer pair, or a layer on one side only, differs (a LayerCost's kind).
LayerChangeKind = Literal["inserted", "removed", "changed", "rewired"]
#: How a top-level key or a comment differs between the two files.
EntryChangeKind = Literal["added", "removed", "changed"]
#: The fields of a row that a ChangedLayer compares (`from` is the wiring: a RewiredLayer).
RowField = Literal["module", "repeats", "args"]

# Costs in tenths, kept integral so that equal costs tie exactly (ties are broken on purpose).
_REFINE_ROUNDS = 4
_GAP_COST = 10
_ARGS_CHANGE_COST = 10
_MODULE_CHANGE_EXTRA = 5
_REWIRE_COST = 10
_FIRST_ROUND_OFFSET_COST = 1  # weak hint before any alignment exists: relative offsets differ
_SLIDE = 6  # how far the local search moves one row's partner

# Sizes that keep the alignment near-linear (see the module docstring, "How layers are aligned").
_EXACT_ROWS = 48  # both sides this short: no anchors, one whole-table search (every bundled model)
_ANCHOR_PAD = 3  # anchors next to a gap handed back to the DP, so it places the gap itself
_SETTLED_GAP_CELLS = 256  # a gap this small is not searched for further anchors
_DIFF_CELLS = 40_000  # a region this large without unique rows is anchored by a bounded diff
_DIFF_EDITS = 64  # ... that gives up beyond this many row inserts and removes
_GAP_CELLS = 100_000  # a gap with more DP cells is aligned in a band around its diagonal
_MIN_BAND = 16  # the band's least half-width, in rows
_WINDOW = 8  # the local search looks this many pairs either side of a defect
_MAX_WINDOW = 64  # longer stretches of defects are searched in windows of this many pairs
_MAX_RUN = 16  # the longest run of pairs one block shift moves, outside the exact case


# --- the graph view ------------------------------------------------------------------------------


def to_plain(value: Any) -> Any:
    """A read value as plain Python for JSON and equality: mapping keys as strings, tuples as lists."""
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


def freeze(value: Any) -> Any:
    """A hashable, type-tagged form of a plain value: ``True``, ``1`` and ``1.0`` stay distinct."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return ("float", value)
    if isinstance(value, str):
        return ("str", value)
    if value is None:
        return ("none",)
    if isinstance(value, dict):
        return ("map", tuple(sorted((str(k), freeze(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return ("seq", tuple(freeze(v) for v in value))
    return ("other", repr(value))


@dataclass(frozen=True)
class Node:
    """One layer as the network sees it: what it computes and which layers it reads.

    ``sources`` are absolute indices (:data:`~yolo_compose.composer.spec.INPUT` for the image),
    so a ``-1`` and the equivalent absolute number compare equal. ``multi`` is whether ``from``
    is a list (the module then receives a list of tensors). ``content`` is module, repeats and
    args in a comparable form (the wiring left out), frozen once when the node is made: the
    alignment compares contents millions of times on a large model, and re-freezing the args on
    every comparison was most of its time. A node's values are therefore never mutated.
    """

    module: str
    repeats: Any
    args: Any
    sources: tuple[int, ...]
    multi: bool
    content: tuple[Any, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "content", (self.module, freeze(self.repeats), freeze(self.args)))

    @property
    def key(self) -> tuple[Any, ...]:
        """Everything that defines the node, comparable and hashable."""
        return (*self.content, self.sources, self.multi)


def spec_nodes(spec: ModelSpec) -> list[Node]:
    """The layers of a spec as graph nodes."""
    return [
        Node(
            module=layer.module,
            repeats=to_plain(layer.repeats),
            args=to_plain(layer.args),
            sources=tuple(layer.sources),
            multi=layer.is_multi_input,
        )
        for layer in spec.layers
    ]


def same_graph(a: Sequence[Node], b: Sequence[Node]) -> bool:
    """True when two node lists describe the same network."""
    return [n.key for n in a] == [n.key for n in b]


# --- alignment -----------------------------------------------------------------------------------


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


def _inputs_agree(a: Sequence[Node], b: Sequence[Node], align: Alignment, i: int, j: int) -> bool:
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
# an aligned layer's B index (>= 0), the image (_IMAGE), or an unaligned layer with several
# inputs, ``-2 - 2*i`` for A layer i and ``-3 - 2*j`` for B layer j (never equal across sides).
_IMAGE = -1
_INSERT, _REMOVE, _MATCH = 0, 1, 2  # DP moves

Pairs = list[tuple[int, int]]
#: A stretch the DP aligns: A rows a0..a1-1 against B rows b0..b1-1, between two anchors.
Gap = tuple[int, int, int, int]


@dataclass(frozen=True)
class _Rows:
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


class _Problem:
    """Both sides of one alignment as integers, with the table that interns them.

    One table serves both sides and every round, so equal keys get equal integers everywhere.
    """

    def __init__(self, a: Sequence[Node], b: Sequence[Node]) -> None:
        self._ids: dict[Any, int] = {}
        self.a = self._rows(a, b_side=False)
        self.b = self._rows(b, b_side=True)
        self.n, self.m = len(a), len(b)
        self.lower_bound = abs(self.n - self.m)  # every length difference is an insert or a remove
        self.exact = max(self.n, self.m) <= _EXACT_ROWS

    def intern(self, key: Any) -> int:
        return self._ids.setdefault(key, len(self._ids))

    def _rows(self, nodes: Sequence[Node], *, b_side: bool) -> _Rows:
        consumers: list[list[int]] = [[] for _ in nodes]
        for index, node in enumerate(nodes):
            for source in dict.fromkeys(node.sources):
                if source != INPUT:
                    consumers[source].append(index)
        return _Rows(
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


def _partners(problem: _Problem, pairs: Pairs) -> tuple[list[int], list[int]]:
    """Each A row's B partner and each B row's A partner (-1: unaligned)."""
    a_part, b_part = [-1] * problem.n, [-1] * problem.m
    for i, j in pairs:
        a_part[i], b_part[j] = j, i
    return a_part, b_part


def _only(rows: _Rows, index: int) -> int:
    """The token of an unaligned layer with several inputs (or none)."""
    return -3 - 2 * index if rows.b_side else -2 - 2 * index


def _tokens(rows: _Rows, partner: list[int]) -> list[int]:
    """Every row's token: where a reference to it lands under an alignment (each walk done once)."""
    tokens: list[Any] = [None] * len(partner)
    for start in range(len(partner)):
        path, source = [], start
        while True:
            if source == INPUT:
                token = _IMAGE
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
                token = _only(rows, source)
                break
            source = following
        for row in path:
            tokens[row] = token
    return tokens


def _wiring(rows: _Rows, tokens: list[int], index: int) -> tuple[Any, ...]:
    """A row's inputs in tokens: equal for an A and a B row exactly where their inputs agree."""
    return (rows.multi[index], tuple(_IMAGE if s == INPUT else tokens[s] for s in rows.sources[index]))


_UNMOVED: dict[int, int] = {}


def _pair_cost(
    problem: _Problem,
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
        token_a = _IMAGE if s == INPUT else moved_a.get(s, tokens_a[s])
        token_b = _IMAGE if t == INPUT else moved_b.get(t, tokens_b[t])
        if token_a != token_b:
            return cost + 1
    return cost


def _script_size(problem: _Problem, pairs: Pairs) -> int:
    """Edit operations an alignment implies (see :func:`script_size`), in one pass."""
    a_part, b_part = _partners(problem, pairs)
    tokens_a, tokens_b = _tokens(problem.a, a_part), _tokens(problem.b, b_part)
    size = problem.n + problem.m - 2 * len(pairs)
    return size + sum(_pair_cost(problem, tokens_a, tokens_b, i, j) for i, j in pairs)


def script_size(a: Sequence[Node], b: Sequence[Node], align: Alignment) -> int:
    """Edit operations an alignment implies: inserts + removes + changed pairs + rewired pairs."""
    return _script_size(_Problem(a, b), sorted(align.a_to_b.items()))


# --- alignment: anchors --------------------------------------------------------------------------


def _same_row(problem: _Problem, found: dict[int, int], i: int, j: int) -> bool:
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


def _unique_pairs(problem: _Problem, a0: int, a1: int, b0: int, b1: int) -> Pairs:
    """Rows unique on both sides of a region, paired, in increasing order on both (patience diff).

    A row is keyed by its content where that content is unique on both sides, else by its
    content and how far back its inputs sit (``Concat [1]`` reading -1 and 6 back is often
    unique where ``Concat [1]`` is not).
    """
    a, b = problem.a, problem.b
    count_a, count_b = Counter(a.content[a0:a1]), Counter(b.content[b0:b1])

    def key(rows: _Rows, index: int) -> Any:
        content = rows.content[index]
        return content if count_a[content] == count_b[content] == 1 else (content, rows.offsets[index])

    keys_a = [key(a, i) for i in range(a0, a1)]
    keys_b = [key(b, j) for j in range(b0, b1)]
    once_a, once_b = Counter(keys_a), Counter(keys_b)
    where_b = {k: b0 + t for t, k in enumerate(keys_b) if once_b[k] == 1}
    candidates = [(a0 + t, where_b[k]) for t, k in enumerate(keys_a) if once_a[k] == 1 and k in where_b]
    return _longest_increasing(candidates)


def _bounded_diff(problem: _Problem, found: dict[int, int], a0: int, a1: int, b0: int, b1: int) -> Pairs:
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


def _anchors(problem: _Problem) -> tuple[Pairs, list[Gap]]:
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


# --- alignment: the DP on each gap ---------------------------------------------------------------


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
    problem: _Problem, gap: Gap, wiring_a: list[int], wiring_b: list[int], wiring_cost: int, change_cost: int
) -> Pairs:
    """Minimum-cost monotone alignment of one gap; returns the matched (i, j) pairs.

    A gap row costs _GAP_COST; a pair costs 0 for equal content, ``change_cost`` when only
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
    previous = [j * _GAP_COST for j in range(band[0][1] + 1)]
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
            best, step = (current[j - 1 - lo] + _GAP_COST if j > lo else outside), _INSERT
            if prev_lo <= j <= prev_hi and previous[j - prev_lo] + _GAP_COST < best:
                best, step = previous[j - prev_lo] + _GAP_COST, _REMOVE
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


def _wiring_ids(problem: _Problem, pairs: Pairs) -> tuple[list[int], list[int]]:
    """Each row's inputs under an alignment, as integers equal exactly where an A and a B row agree."""
    a_part, b_part = _partners(problem, pairs)
    tokens_a, tokens_b = _tokens(problem.a, a_part), _tokens(problem.b, b_part)
    return (
        [problem.intern(("wiring", _wiring(problem.a, tokens_a, i))) for i in range(problem.n)],
        [problem.intern(("wiring", _wiring(problem.b, tokens_b, j))) for j in range(problem.m)],
    )


def _align_gaps(
    problem: _Problem,
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


# --- alignment: the local search -----------------------------------------------------------------


def _reach(rows: _Rows, partner: list[int], moved: dict[int, int]) -> set[int]:
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
    rows: _Rows, partner: list[int], moved: dict[int, int], reach: set[int], tokens: list[int]
) -> dict[int, int]:
    """The tokens of the rows in ``reach`` once ``moved`` rows take their new partners."""
    new: dict[int, int] = {}
    for start in sorted(reach):
        path, source = [], start
        while True:
            if source == INPUT:
                token = _IMAGE
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
                token = _only(rows, source)
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


class _Search:
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

    def __init__(self, problem: _Problem, pairs: Pairs) -> None:
        self.problem = problem
        self.pairs = list(pairs)
        self.a_part, self.b_part = _partners(problem, self.pairs)
        self.tokens_a = _tokens(problem.a, self.a_part)
        self.tokens_b = _tokens(problem.b, self.b_part)
        self.cost = [0] * problem.n  # the cost of each A row's pair
        for i, j in self.pairs:
            self.cost[i] = _pair_cost(problem, self.tokens_a, self.tokens_b, i, j)
        self.size = problem.n + problem.m - 2 * len(self.pairs) + sum(self.cost)

    def run(self) -> None:
        if self.problem.exact:
            self._climb(0, None, None)
            return
        for lo, hi in reversed(self._windows()):  # from the end: earlier windows keep their indices
            self._climb(lo, hi, _MAX_RUN)

    def _climb(self, lo: int, hi: int | None, max_run: int | None) -> None:
        """Improve pairs[lo:hi] (all of them for None) until no candidate there shortens the script."""
        improved = True
        while improved and self.size > self.problem.lower_bound:
            improved = False
            end = len(self.pairs) if hi is None else hi
            for k0, k1, block in self._candidates(lo, end, max_run):
                move = self._score(k0, k1, block)
                if move is not None and move.delta < 0:
                    self._take(k0, k1, block, move)
                    if hi is not None:
                        hi += len(block) - (k1 - k0)
                    improved = True
                    break

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
            i: _pair_cost(problem, self.tokens_a, self.tokens_b, i, j, tokens_a, tokens_b)
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


# --- alignment: putting it together --------------------------------------------------------------


def _refined_alignment(
    problem: _Problem, anchors: Pairs, gaps: list[Gap], change_cost: int, cache: dict[Any, Pairs]
) -> tuple[Pairs, int]:
    """DP rounds for one cost setting, then local search; returns the alignment and its script size."""
    first_round = (problem.a.offsets, problem.b.offsets, _FIRST_ROUND_OFFSET_COST)
    best = _align_gaps(problem, anchors, gaps, first_round, change_cost, cache)
    best_size = _script_size(problem, best)
    current = best
    for _ in range(_REFINE_ROUNDS if best_size > problem.lower_bound else 0):
        wiring = (*_wiring_ids(problem, current), _REWIRE_COST)
        refined = _align_gaps(problem, anchors, gaps, wiring, change_cost, cache)
        if refined == current:
            break
        size = _script_size(problem, refined)
        if size <= best_size:  # on a tie, the later round: it has seen more of the wiring
            best, best_size = refined, size
        current = refined
    search = _Search(problem, best)
    search.run()
    return search.pairs, search.size


def align_nodes(a: Sequence[Node], b: Sequence[Node]) -> Alignment:
    """Align two layer lists: anchors, then the gaps by content refined by the dataflow graph,
    then a local search (see module doc).

    Two cost settings are tried — a changed row as cheap as one gap, and as dear as two (then a
    remove plus an insert is never worse) — unless the first already reaches the lower bound
    ``|len(a) - len(b)|``; the shorter edit script wins, the first on a tie.
    """
    problem = _Problem(a, b)
    anchors, gaps = _anchors(problem)
    cache: dict[Any, Pairs] = {}
    best, best_size = _refined_alignment(problem, anchors, gaps, _ARGS_CHANGE_COST, cache)
    if best_size > problem.lower_bound:
        other, other_size = _refined_alignment(problem, anchors, gaps, 2 * _GAP_COST, cache)
        if other_size < best_size:
            best = other
    return Alignment.from_pairs(best)


# --- the result ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerLabel:
    """A layer named in a report: its index on its side, module, and line in that side's file."""

    index: int
    module: str
    line: int | None

    def __str__(self) -> str:
        return "input" if self.index == INPUT else f"{self.index} {self.module}"

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "module": self.module, "line": self.line}


@dataclass(frozen=True)
class InsertedLayer:
    """A B layer with no A partner. ``feeds`` are aligned B layers whose input now passes through it."""

    index: int
    line: int | None
    section: str
    from_: Any
    node: Node
    after_a: LayerLabel | None  # the A layer it follows (None: before the first layer)
    sources: tuple[LayerLabel, ...]
    feeds: tuple[tuple[int, int], ...]  # (B consumer index, input position)
    readers: tuple[LayerLabel, ...]  # the B layers named in feeds


@dataclass(frozen=True)
class RemovedLayer:
    """An A layer with no B partner."""

    index: int
    line: int | None
    section: str
    from_: Any
    node: Node
    before_b: int  # the B layer now at its place (len(B) when it was at the end)
    sources: tuple[LayerLabel, ...]


@dataclass(frozen=True)
class FieldChange:
    """One field (module, repeats or args) of an aligned layer that differs."""

    field: RowField
    old: Any
    new: Any


@dataclass(frozen=True)
class ChangedLayer:
    """An aligned pair whose module, repeats or args differ."""

    a_index: int
    b_index: int
    a_line: int | None
    b_line: int | None
    changes: tuple[FieldChange, ...]


@dataclass(frozen=True)
class RewiredLayer:
    """An aligned pair whose inputs come from different layers (a real change of the graph)."""

    a_index: int
    b_index: int
    b_line: int | None
    module: str
    old_from: Any
    new_from: Any
    old_sources: tuple[LayerLabel, ...]  # A layers
    new_sources: tuple[LayerLabel, ...]  # B layers
    new_multi: bool


@dataclass(frozen=True)
class RenumberedRef:
    """A ``from`` entry whose number changed only because rows moved; it reads the same layer."""

    a_index: int
    b_index: int
    b_line: int | None
    module: str
    position: int
    old: int
    new: int
    source: LayerLabel  # the layer it reads, in B


@dataclass(frozen=True)
class TopLevelChange:
    """A top-level key (or one entry of a top-level mapping, e.g. ``scales.n``) added, removed or changed."""

    key: str
    kind: EntryChangeKind
    old: Any
    new: Any
    line: int | None  # in B, or in A for a removed key


@dataclass(frozen=True)
class CommentChange:
    """A comment added, removed or edited; ``layer`` is the B layer of a row comment."""

    kind: EntryChangeKind
    old: str | None
    new: str | None
    line: int | None  # in B, or in A for a removed comment
    layer: int | None


@dataclass(frozen=True)
class DiffSide:
    """One compared file: the name to show and its layer count."""

    name: str
    layers: int


@dataclass
class DiffResult:
    """Every difference between two model YAMLs, in layer terms. See :meth:`to_dict` for the schema."""

    a: DiffSide
    b: DiffSide
    pairs: tuple[tuple[int, int], ...]
    inserted: list[InsertedLayer] = field(default_factory=list)
    removed: list[RemovedLayer] = field(default_factory=list)
    changed: list[ChangedLayer] = field(default_factory=list)
    rewired: list[RewiredLayer] = field(default_factory=list)
    renumbered: list[RenumberedRef] = field(default_factory=list)
    top_level: list[TopLevelChange] = field(default_factory=list)
    comments: list[CommentChange] = field(default_factory=list)
    comments_shown: bool = False

    @property
    def same_graph(self) -> bool:
        """True when both files build the same model: renumbering, formatting and comments don't count."""
        return not (self.inserted or self.removed or self.changed or self.rewired or self.top_level)

    @property
    def edit_count(self) -> int:
        """Size of the edit script this result describes (inserts, removes, changes, rewires)."""
        return len(self.inserted) + len(self.removed) + len(self.changed) + len(self.rewired)

    def summary(self) -> dict[str, int]:
        """How many differences of each kind."""
        return {
            "inserted": len(self.inserted),
            "removed": len(self.removed),
            "changed": len(self.changed),
            "rewired": len(self.rewired),
            "renumbered": len(self.renumbered),
            "top_level": len(self.top_level),
            "comments": len(self.comments),
        }

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data; the schema is documented in the README (``diff`` section).

        Indices are global layer indices (backbone then head); ``a_index`` is in file A, every
        other index in file B unless its name says otherwise. Lines are 1-based. Values (``args``,
        ``from``, top-level values) are plain JSON. ``comments`` is null unless asked for.
        """
        return {
            "schema": SCHEMA,
            "a": {"name": self.a.name, "layers": self.a.layers},
            "b": {"name": self.b.name, "layers": self.b.layers},
            "same_graph": self.same_graph,
            "summary": self.summary(),
            "inserted": [_inserted_dict(x) for x in self.inserted],
            "removed": [_removed_dict(x) for x in self.removed],
            "changed": [_changed_dict(x) for x in self.changed],
            "rewired": [_rewired_dict(x) for x in self.rewired],
            "renumbered": [_renumbered_dict(x) for x in self.renumbered],
            "top_level": [
                {"key": t.key, "kind": t.kind, "old": t.old, "new": t.new, "line": t.line}
                for t in self.top_level
            ],
            "comments": [
                {"kind": c.kind, "old": c.old, "new": c.new, "line": c.line, "layer": c.layer}
                for c in self.comments
            ]
            if self.comments_shown
            else None,
        }


def _node_dict(node: Node, from_: Any) -> dict[str, Any]:
    return {"from": from_, "repeats": node.repeats, "module": node.module, "args": node.args}


def _inserted_dict(x: InsertedLayer) -> dict[str, Any]:
    return {
        "index": x.index,
        "line": x.line,
        "section": x.section,
        **_node_dict(x.node, x.from_),
        "after_a": x.after_a.to_dict() if x.after_a else None,
        "sources": [s.to_dict() for s in x.sources],
        "feeds": [r.to_dict() for r in x.readers],
    }


def _removed_dict(x: RemovedLayer) -> dict[str, Any]:
    return {
        "a_index": x.index,
        "a_line": x.line,
        "section": x.section,
        **_node_dict(x.node, x.from_),
        "before": x.before_b,
        "sources": [s.to_dict() for s in x.sources],
    }


def _changed_dict(x: ChangedLayer) -> dict[str, Any]:
    return {
        "a_index": x.a_index,
        "index": x.b_index,
        "a_line": x.a_line,
        "line": x.b_line,
        "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in x.changes],
    }


def _rewired_dict(x: RewiredLayer) -> dict[str, Any]:
    return {
        "a_index": x.a_index,
        "index": x.b_index,
        "line": x.b_line,
        "module": x.module,
        "old_from": x.old_from,
        "new_from": x.new_from,
        "old_sources": [s.to_dict() for s in x.old_sources],
        "new_sources": [s.to_dict() for s in x.new_sources],
    }


def _renumbered_dict(x: RenumberedRef) -> dict[str, Any]:
    return {
        "a_index": x.a_index,
        "index": x.b_index,
        "line": x.b_line,
        "module": x.module,
        "position": x.position,
        "old": x.old,
        "new": x.new,
        "source": x.source.to_dict(),
    }


# --- building a result from two graphs -----------------------------------------------------------


@dataclass(frozen=True)
class _Side:
    """What the result builder needs of one file: nodes, written refs, lines, sections."""

    name: str
    nodes: list[Node]
    refs: list[list[int]]  # `from` entries as written
    from_: list[Any]  # `from` as written (int or list)
    lines: list[int | None]
    sections: list[str]

    @classmethod
    def from_nodes(cls, name: str, nodes: Sequence[Node]) -> _Side:
        """A side made of bare nodes: refs written absolute, no lines (used by tests and tools)."""
        nodes = list(nodes)
        refs = [list(n.sources) for n in nodes]
        from_ = [list(n.sources) if n.multi else n.sources[0] for n in nodes]
        return cls(name, nodes, refs, from_, [None] * len(nodes), ["backbone"] * len(nodes))

    @classmethod
    def from_spec(cls, name: str, spec: ModelSpec) -> _Side:
        layers = spec.layers
        return cls(
            name,
            spec_nodes(spec),
            [layer.refs for layer in layers],
            [to_plain(layer.from_) for layer in layers],
            [layer.line for layer in layers],
            [layer.section for layer in layers],
        )

    def label(self, index: int) -> LayerLabel:
        if index == INPUT:
            return LayerLabel(INPUT, "input", None)
        return LayerLabel(index, self.nodes[index].module, self.lines[index])


def _field_changes(na: Node, nb: Node) -> tuple[FieldChange, ...]:
    changes = []
    if na.module != nb.module:
        changes.append(FieldChange("module", na.module, nb.module))
    if freeze(na.repeats) != freeze(nb.repeats):
        changes.append(FieldChange("repeats", na.repeats, nb.repeats))
    if freeze(na.args) != freeze(nb.args):
        changes.append(FieldChange("args", na.args, nb.args))
    return tuple(changes)


def _feeds(a: _Side, b: _Side, align: Alignment, rewired: set[int]) -> dict[int, list[tuple[int, int]]]:
    """For each inserted B layer, the aligned, not rewired (consumer, position) refs that read it."""
    feeds: dict[int, list[tuple[int, int]]] = {}
    for j in align.b_to_a:
        if j in rewired:
            continue
        for position, source in enumerate(b.nodes[j].sources):
            if source != INPUT and source not in align.b_to_a:
                feeds.setdefault(source, []).append((j, position))
    return feeds


def _after_a(align: Alignment, j: int) -> int:
    """The last A layer aligned before B row j (-1 when none)."""
    earlier = [align.b_to_a[k] for k in range(j) if k in align.b_to_a]
    return max(earlier, default=-1)


def _before_b(align: Alignment, i: int, b_len: int) -> int:
    """The first B layer aligned after A row i (len(B) when none)."""
    later = [align.a_to_b[k] for k in sorted(align.a_to_b) if k > i]
    return later[0] if later else b_len


def _renumbered(a: _Side, b: _Side, i: int, j: int) -> list[RenumberedRef]:
    """Refs of an aligned, not rewired pair whose written number changed."""
    found = []
    for position, (old, new) in enumerate(zip(a.refs[i], b.refs[j], strict=True)):
        if old != new:
            found.append(
                RenumberedRef(
                    a_index=i,
                    b_index=j,
                    b_line=b.lines[j],
                    module=b.nodes[j].module,
                    position=position,
                    old=old,
                    new=new,
                    source=b.label(b.nodes[j].sources[position]),
                )
            )
    return found


def _build_result(a: _Side, b: _Side, align: Alignment) -> DiffResult:
    """Turn an alignment into the report: inserts, removes, changes, rewires, renumbered refs."""
    result = DiffResult(
        a=DiffSide(a.name, len(a.nodes)),
        b=DiffSide(b.name, len(b.nodes)),
        pairs=tuple(sorted(align.a_to_b.items())),
    )
    rewired: set[int] = set()
    for i, j in sorted(align.a_to_b.items()):
        na, nb = a.nodes[i], b.nodes[j]
        changes = _field_changes(na, nb)
        if changes:
            result.changed.append(ChangedLayer(i, j, a.lines[i], b.lines[j], changes))
        if not _inputs_agree(a.nodes, b.nodes, align, i, j):
            rewired.add(j)
            result.rewired.append(
                RewiredLayer(
                    a_index=i,
                    b_index=j,
                    b_line=b.lines[j],
                    module=nb.module,
                    old_from=a.from_[i],
                    new_from=b.from_[j],
                    old_sources=tuple(a.label(s) for s in na.sources),
                    new_sources=tuple(b.label(t) for t in nb.sources),
                    new_multi=nb.multi,
                )
            )
        else:
            result.renumbered.extend(_renumbered(a, b, i, j))
    feeds = _feeds(a, b, align, rewired)
    for j, node in enumerate(b.nodes):
        if j not in align.b_to_a:
            result.inserted.append(
                InsertedLayer(
                    index=j,
                    line=b.lines[j],
                    section=b.sections[j],
                    from_=b.from_[j],
                    node=node,
                    after_a=a.label(after) if (after := _after_a(align, j)) >= 0 else None,
                    sources=tuple(b.label(t) for t in node.sources),
                    feeds=tuple(feeds.get(j, ())),
                    readers=tuple(b.label(r) for r in sorted({r for r, _ in feeds.get(j, ())})),
                )
            )
    for i, node in enumerate(a.nodes):
        if i not in align.a_to_b:
            result.removed.append(
                RemovedLayer(
                    index=i,
                    line=a.lines[i],
                    section=a.sections[i],
                    from_=a.from_[i],
                    node=node,
                    before_b=_before_b(align, i, len(b.nodes)),
                    sources=tuple(a.label(s) for s in node.sources),
                )
            )
    return result


def diff_nodes(a: Sequence[Node], b: Sequence[Node], *, a_name: str = "a", b_name: str = "b") -> DiffResult:
    """Diff two bare graphs (no files, no top-level keys)."""
    align = align_nodes(a, b)
    return _build_result(_Side.from_nodes(a_name, a), _Side.from_nodes(b_name, b), align)


# --- files: top-level keys and comments ----------------------------------------------------------


def top_level_changes(a: ModelSpec, b: ModelSpec) -> list[TopLevelChange]:
    """Top-level keys other than the layer lists that differ; mappings are compared one level down."""
    changes: list[TopLevelChange] = []
    keys = [k for k in a.doc if k not in SECTIONS]
    keys += [k for k in b.doc if k not in SECTIONS and k not in a.doc]
    for key in keys:
        old, new = a.doc.get(key), b.doc.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            changes.extend(_mapping_changes(str(key), old, new, a, b))
            continue
        change = _value_change(str(key), key in a.doc, key in b.doc, old, new)
        if change is not None:
            line = b.key_line(str(key)) if key in b.doc else a.key_line(str(key))
            changes.append(TopLevelChange(change[0], change[1], change[2], change[3], line))
    return changes


def _value_change(
    name: str, in_a: bool, in_b: bool, old: Any, new: Any
) -> tuple[str, EntryChangeKind, Any, Any] | None:
    """(key, kind, old, new) when a value was added, removed or changed; None when equal."""
    if in_a and not in_b:
        return (name, "removed", to_plain(old), None)
    if in_b and not in_a:
        return (name, "added", None, to_plain(new))
    if freeze(to_plain(old)) != freeze(to_plain(new)):
        return (name, "changed", to_plain(old), to_plain(new))
    return None


def _mapping_changes(name: str, old: Any, new: Any, a: ModelSpec, b: ModelSpec) -> list[TopLevelChange]:
    changes = []
    for key in [*old, *(k for k in new if k not in old)]:
        change = _value_change(f"{name}.{key}", key in old, key in new, old.get(key), new.get(key))
        if change is not None:
            line = b.key_line(name, str(key)) if key in new else a.key_line(name, str(key))
            changes.append(TopLevelChange(change[0], change[1], change[2], change[3], line))
    return changes


def line_comment(line: str) -> str | None:
    """The comment on one YAML line, ignoring ``#`` inside quotes; None when there is none."""
    quote: str | None = None
    for position, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#" and (position == 0 or line[position - 1] in " \t"):
            return line[position:].rstrip()
    return None


def _comments_by_line(text: str | None) -> dict[int, str]:
    if not text:
        return {}
    found = {}
    for number, line in enumerate(text.splitlines(), start=1):
        comment = line_comment(line)
        if comment is not None:
            found[number] = comment
    return found


def comment_changes(a: ModelSpec, b: ModelSpec, pairs: Sequence[tuple[int, int]]) -> list[CommentChange]:
    """Row comments that differ on aligned layers, then every other comment line added or removed."""
    a_comments, b_comments = _comments_by_line(a.text), _comments_by_line(b.text)
    changes: list[CommentChange] = []
    for i, j in pairs:
        la, lb = a.layers[i].line, b.layers[j].line
        old, new = a_comments.get(la) if la else None, b_comments.get(lb) if lb else None
        if old != new:
            kind: EntryChangeKind = "changed" if old and new else ("added" if new else "removed")
            changes.append(CommentChange(kind, old, new, lb, j))
    a_rows = {layer.line for layer in a.layers}
    b_rows = {layer.line for layer in b.layers}
    a_rest = [(n, c) for n, c in a_comments.items() if n not in a_rows]
    b_rest = [(n, c) for n, c in b_comments.items() if n not in b_rows]
    matcher = difflib.SequenceMatcher(a=[c for _, c in a_rest], b=[c for _, c in b_rest], autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal":
            continue
        changes.extend(CommentChange("removed", c, None, n, None) for n, c in a_rest[a0:a1])
        changes.extend(CommentChange("added", None, c, n, None) for n, c in b_rest[b0:b1])
    return changes


def diff_specs(a: ModelSpec, b: ModelSpec, *, a_name: str, b_name: str, comments: bool = False) -> DiffResult:
    """Diff two loaded model YAMLs: layers aligned and compared, then top-level keys and comments.

    Comments are always compared (so a report can say how many it ignored) but listed only
    when ``comments`` is true.
    """
    a_side, b_side = _Side.from_spec(a_name, a), _Side.from_spec(b_name, b)
    align = align_nodes(a_side.nodes, b_side.nodes)
    result = _build_result(a_side, b_side, align)
    result.top_level = top_level_changes(a, b)
    result.comments = comment_changes(a, b, result.pairs)
    result.comments_shown = comments
    return result


# --- loading the two sides -----------------------------------------------------------------------

STDIN = "-"


@dataclass(frozen=True)
class LoadedModel:
    """One side of a diff: the spec, the name to show, the scale its name implies, its text."""

    spec: ModelSpec
    name: str
    scale: str
    text: str


def load_model(argument: str, *, read_stdin: Callable[[], str], shown_as: str | None = None) -> LoadedModel:
    """Load a diff side: ``-`` (stdin), a file, or a bundled ultralytics name such as ``yolo11n``.

    ``shown_as`` replaces the name in reports (git passes temporary files and the real path apart).
    """
    from .bases import resolve_base
    from .files import read_input
    from .naming import guess_scale

    if argument == STDIN:
        name = shown_as or "<stdin>"
        text = read_stdin()
        return LoadedModel(ModelSpec.from_text(text, source=name), name, guess_scale(name), text)
    base = resolve_base(argument)
    text, _shown = read_input(str(base.path))
    name = shown_as or (base.name if base.bundled else argument)
    scale = guess_scale(shown_as) if shown_as else base.scale
    return LoadedModel(ModelSpec.from_text(text, source=name), name, scale, text)


# --- --build: params and GFLOPs of both sides ----------------------------------------------------


@dataclass(frozen=True)
class LayerCost:
    """Params and GFLOPs of one differing layer on each side (None on the side it is missing from)."""

    kind: LayerChangeKind
    a_index: int | None
    b_index: int | None
    module: str
    a_params: int | None
    b_params: int | None
    a_gflops: float | None
    b_gflops: float | None


@dataclass(frozen=True)
class ScaleCost:
    """Totals of both sides at one scale, and the layers that differ."""

    scale: str | None
    imgsz: int
    a_params: int
    b_params: int
    a_gflops: float
    b_gflops: float
    layers: tuple[LayerCost, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "imgsz": self.imgsz,
            "a": {"params": self.a_params, "gflops": self.a_gflops},
            "b": {"params": self.b_params, "gflops": self.b_gflops},
            "delta": {"params": self.b_params - self.a_params, "gflops": self.b_gflops - self.a_gflops},
            "layers": [
                {
                    "kind": x.kind, "a_index": x.a_index, "index": x.b_index, "module": x.module,
                    "a_params": x.a_params, "params": x.b_params,
                    "a_gflops": x.a_gflops, "gflops": x.b_gflops,
                }
                for x in self.layers
            ],
        }


def compare_costs(result: DiffResult, measure_a: Any, measure_b: Any, *, scale: str | None) -> ScaleCost:
    """Pair the per-layer measures of both sides (objects with ``params``, ``gflops``, ``layers``)
    along the diff: every inserted, removed, changed or rewired layer, in B's order, plus totals."""
    a_layers = {layer.index: layer for layer in measure_a.layers}
    b_layers = {layer.index: layer for layer in measure_b.layers}

    def cost(kind: LayerChangeKind, i: int | None, j: int | None, module: str) -> LayerCost:
        la = a_layers.get(i) if i is not None else None
        lb = b_layers.get(j) if j is not None else None
        params = (la.params if la else None, lb.params if lb else None)
        gflops = (la.gflops if la else None, lb.gflops if lb else None)
        return LayerCost(kind, i, j, module, *params, *gflops)

    ordered: list[tuple[float, LayerCost]] = []
    ordered += [(x.index, cost("inserted", None, x.index, x.node.module)) for x in result.inserted]
    ordered += [(x.before_b - 0.5, cost("removed", x.index, None, x.node.module)) for x in result.removed]
    kinds: dict[tuple[int, int], LayerChangeKind] = {
        (x.a_index, x.b_index): "rewired" for x in result.rewired
    }
    kinds.update({(x.a_index, x.b_index): "changed" for x in result.changed})
    for (i, j), kind in kinds.items():
        ordered.append((j, cost(kind, i, j, b_layers[j].module if j in b_layers else "")))
    rows = tuple(row for _, row in sorted(ordered, key=lambda item: item[0]))
    totals = (measure_a.params, measure_b.params, measure_a.gflops, measure_b.gflops)
    return ScaleCost(scale, measure_b.imgsz, *totals, rows)
