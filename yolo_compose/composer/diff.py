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
:func:`apply_diff` rebuilds B's graph from A and a result, which is how the tests check that a
result is complete.

This module never imports torch or ultralytics.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .spec import INPUT, SECTIONS, ModelSpec

#: JSON schema identifier of :meth:`DiffResult.to_dict`; bumped on any incompatible change.
SCHEMA = "yolo-compose/diff/1"

# Costs in tenths, kept integral so that equal costs tie exactly (ties are broken on purpose).
_REFINE_ROUNDS = 4
_GAP_COST = 10
_ARGS_CHANGE_COST = 10
_MODULE_CHANGE_EXTRA = 5
_REWIRE_COST = 10
_FIRST_ROUND_OFFSET_COST = 1  # weak hint before any alignment exists: relative offsets differ
_SLIDE = 6  # how far the local search moves one row's partner


# --- the graph view ------------------------------------------------------------------------------


def to_plain(value: Any) -> Any:
    """A ruamel value as plain Python (list, dict, str, int, float, bool, None), for JSON and equality."""
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
    is a list (the module then receives a list of tensors).
    """

    module: str
    repeats: Any
    args: Any
    sources: tuple[int, ...]
    multi: bool

    @property
    def content(self) -> tuple[Any, ...]:
        """Module, repeats and args in a comparable form (the wiring left out)."""
        return (self.module, freeze(self.repeats), freeze(self.args))

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

    field: str
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
    kind: str  # "added" | "removed" | "changed"
    old: Any
    new: Any
    line: int | None  # in B, or in A for a removed key


@dataclass(frozen=True)
class CommentChange:
    """A comment added, removed or edited; ``layer`` is the B layer of a row comment."""

    kind: str  # "added" | "removed" | "changed"
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


# --- rebuilding B from A and a result (the completeness check) -----------------------------------


def _applied_source(a: Sequence[Node], a_to_b: dict[int, int], source: int) -> int:
    """Where an A reference lands in B, looking through removed single-input layers."""
    while source != INPUT and source not in a_to_b:
        node = a[source]
        if len(node.sources) != 1:
            raise ValueError(f"layer {source} was removed with several inputs; its readers must be rewired")
        source = node.sources[0]
    return INPUT if source == INPUT else a_to_b[source]


def apply_diff(a: Sequence[Node], result: DiffResult) -> list[Node]:
    """Rebuild B's graph from A and a result, using only what the result records.

    Aligned rows follow from the removed and inserted index sets (the alignment is monotone);
    an aligned row keeps A's content with the recorded field changes, and A's inputs followed
    through removed layers and re-routed through the inserted layers that ``feeds`` names,
    unless it is recorded as rewired.
    """
    removed = {x.index for x in result.removed}
    inserted = {x.index: x for x in result.inserted}
    b_len = len(a) - len(removed) + len(inserted)
    kept = [i for i in range(len(a)) if i not in removed]
    slots = [j for j in range(b_len) if j not in inserted]
    a_to_b = dict(zip(kept, slots, strict=True))
    changes = {x.b_index: x.changes for x in result.changed}
    rewired = {x.b_index: x for x in result.rewired}
    routed = {(consumer, pos): x.index for x in result.inserted for consumer, pos in x.feeds}
    rows: list[Node] = []
    for j in range(b_len):
        if j in inserted:
            rows.append(inserted[j].node)
            continue
        i = kept[slots.index(j)]
        base = a[i]
        values = {"module": base.module, "repeats": base.repeats, "args": base.args}
        values.update({c.field: c.new for c in changes.get(j, ())})
        if j in rewired:
            sources = tuple(s.index for s in rewired[j].new_sources)
            multi = rewired[j].new_multi
        else:
            sources = tuple(
                routed.get((j, pos), _applied_source(a, a_to_b, s)) for pos, s in enumerate(base.sources)
            )
            multi = base.multi
        rows.append(Node(sources=sources, multi=multi, **values))
    return rows


# --- files: top-level keys and comments ----------------------------------------------------------


def _key_line(mapping: Any, key: Any) -> int | None:
    try:
        return mapping.lc.key(key)[0] + 1
    except (AttributeError, KeyError, TypeError):
        return None


def top_level_changes(a: ModelSpec, b: ModelSpec) -> list[TopLevelChange]:
    """Top-level keys other than the layer lists that differ; mappings are compared one level down."""
    changes: list[TopLevelChange] = []
    keys = [k for k in a.doc if k not in SECTIONS]
    keys += [k for k in b.doc if k not in SECTIONS and k not in a.doc]
    for key in keys:
        old, new = a.doc.get(key), b.doc.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            changes.extend(_mapping_changes(str(key), old, new))
            continue
        change = _value_change(str(key), key in a.doc, key in b.doc, old, new)
        if change is not None:
            line = _key_line(b.doc, key) if key in b.doc else _key_line(a.doc, key)
            changes.append(TopLevelChange(change[0], change[1], change[2], change[3], line))
    return changes


def _value_change(name: str, in_a: bool, in_b: bool, old: Any, new: Any) -> tuple[str, str, Any, Any] | None:
    """(key, kind, old, new) when a value was added, removed or changed; None when equal."""
    if in_a and not in_b:
        return (name, "removed", to_plain(old), None)
    if in_b and not in_a:
        return (name, "added", None, to_plain(new))
    if freeze(to_plain(old)) != freeze(to_plain(new)):
        return (name, "changed", to_plain(old), to_plain(new))
    return None


def _mapping_changes(name: str, old: Any, new: Any) -> list[TopLevelChange]:
    changes = []
    for key in [*old, *(k for k in new if k not in old)]:
        change = _value_change(f"{name}.{key}", key in old, key in new, old.get(key), new.get(key))
        if change is not None:
            line = _key_line(new, key) if key in new else _key_line(old, key)
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
            kind = "changed" if old and new else ("added" if new else "removed")
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
    from .bases import guess_scale, resolve_base
    from .files import read_input

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

    kind: str  # "inserted" | "removed" | "changed" | "rewired"
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

    def cost(kind: str, i: int | None, j: int | None, module: str) -> LayerCost:
        la = a_layers.get(i) if i is not None else None
        lb = b_layers.get(j) if j is not None else None
        params = (la.params if la else None, lb.params if lb else None)
        gflops = (la.gflops if la else None, lb.gflops if lb else None)
        return LayerCost(kind, i, j, module, *params, *gflops)

    ordered: list[tuple[float, LayerCost]] = []
    ordered += [(x.index, cost("inserted", None, x.index, x.node.module)) for x in result.inserted]
    ordered += [(x.before_b - 0.5, cost("removed", x.index, None, x.node.module)) for x in result.removed]
    kinds = {(x.a_index, x.b_index): "rewired" for x in result.rewired}
    kinds.update({(x.a_index, x.b_index): "changed" for x in result.changed})
    for (i, j), kind in kinds.items():
        ordered.append((j, cost(kind, i, j, b_layers[j].module if j in b_layers else "")))
    rows = tuple(row for _, row in sorted(ordered, key=lambda item: item[0]))
    totals = (measure_a.params, measure_b.params, measure_a.gflops, measure_b.gflops)
    return ScaleCost(scale, measure_b.imgsz, *totals, rows)
