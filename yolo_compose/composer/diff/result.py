"""What `diff` reports: the result types, and their JSON form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..spec import INPUT
from .graph import Node

#: JSON schema identifier of :meth:`DiffResult.to_dict`; bumped on any incompatible change.
SCHEMA = "yolo-compose/diff/1"
#: How an aligned layer pair, or a layer on one side only, differs (a LayerCost's kind).
LayerChangeKind = Literal["inserted", "removed", "changed", "rewired"]
#: How a top-level key or a comment differs between the two files.
EntryChangeKind = Literal["added", "removed", "changed"]
#: The fields of a row that a ChangedLayer compares (`from` is the wiring: a RewiredLayer).
RowField = Literal["module", "repeats", "args"]



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


