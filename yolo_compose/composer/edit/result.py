"""What an edit reports: the rewired references, each step, and the result with its text.

Typed fields only; the JSON report is built by :mod:`yolo_compose.render.insert`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..bases import Base
from ..spec import ModelSpec

if TYPE_CHECKING:
    from ...modules.registry import ModuleSpec

#: What one edit does (a recipe's edits use the same words).
EditAction = Literal["insert", "remove", "replace"]


#: What a whole change did: its one edit's action, or "apply" for a recipe of several edits.
ChangeAction = Literal["insert", "remove", "replace", "apply"]


#: Which side of the layer its SPEC names an insert puts the new row.
InsertPlacement = Literal["after", "before"]


#: An edit's placement: an insert's side, "" for a remove or a replace (they act on the layer itself).
Placement = Literal["after", "before", ""]


REASON_READS_NEW = "reads the new layer"


REASON_READS_INPUT = "reads the removed layer's input"


REASON_SHIFTED = "its layer moved"


REASON_CROSSES = "relative ref crosses the edit"


@dataclass(frozen=True)
class Rewire:
    """One `from` entry the edit rewrote, or redirected with the same text (a `-1`), and why."""

    layer: int  # index of the layer after the edit
    old_layer: int  # its index before the edit
    module: str
    old_ref: int
    new_ref: int
    reason: str


@dataclass(frozen=True)
class EditStep:
    """One edit of a change: what it did, where (the input's index) and the rows it wrote."""

    action: EditAction
    module: str  # the module's CLI name ("" for remove)
    placement: Placement
    target: int  # old index of the layer the SPEC named
    target_module: str
    new_indices: tuple[int, ...] = ()  # indices (after the whole change) of the rows it wrote
    rows: tuple[Any, ...] = ()  # those rows (or the removed row) as plain data


@dataclass
class EditResult:
    """What an insert or remove did: the edited spec and a report of every index that moved."""

    spec: ModelSpec
    action: ChangeAction
    target: int  # old index of the layer named by the SPEC
    target_module: str
    placement: Placement
    base: Base | None = None
    module: ModuleSpec | None = None
    new_index: int | None = None  # index of the inserted layer
    removed_index: int | None = None  # old index of the removed layer
    row: list[Any] = field(default_factory=list)  # the inserted (or removed) row as plain data
    index_map: dict[int, int] = field(default_factory=dict)  # old -> new; a removed layer is absent
    rewired: list[Rewire] = field(default_factory=list)
    inserted: list[int] = field(default_factory=list)
    comments_renumbered: int = 0
    default_output_name: str = ""
    warnings: list[str] = field(default_factory=list)
    steps: list[EditStep] = field(default_factory=list)  # every edit of the change, in order
    modules_at: dict[int, ModuleSpec] = field(default_factory=dict)  # new index -> module written there
    replaced: list[int] = field(default_factory=list)  # indices whose row a replace swapped
    source_text: str = ""  # the text as read, before the edit

    def module_at(self, index: int) -> ModuleSpec | None:
        """The catalogue module of an inserted or replaced layer (None for any other layer)."""
        return self.modules_at.get(index)

    @property
    def only_inserts(self) -> bool:
        """True when the change only added layers (every old layer kept, with its own row)."""
        return all(step.action == "insert" for step in self.steps) and bool(self.inserted)

    def dump(self) -> str:
        """The edited YAML text."""
        return self.spec.dump()
