"""What `diff` reports: the result types, typed fields only.

Their JSON form is built by :mod:`yolo_compose.render.diff.document`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..spec import INPUT
from .graph import Node

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
    """Every difference between two model YAMLs, in layer terms (JSON: ``render.diff.diff_dict``)."""

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
