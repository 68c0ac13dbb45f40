"""Inserting layers: one target or several as one edit, each new row written like its neighbours."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import EditError, Hint
from ..address import resolve_layers
from ..layout import apply_patches
from ..spec import INPUT, Layer, ModelSpec
from .args import catalogue_entry, checked_args
from .checks import check_editable, check_insert_after
from .output import output_name, source_name
from .refs import renumber_comments, rewrite_refs, written_ref
from .result import REASON_READS_NEW, EditResult, EditStep, InsertPlacement
from .rows import new_row_patches

if TYPE_CHECKING:
    from ...modules.registry import ModuleSpec

def insert_layer(
    spec: ModelSpec,
    module: ModuleSpec | str,
    *,
    after: str | int | None = None,
    before: str | int | None = None,
    args: list[Any] | None = None,
) -> EditResult:
    """Insert `module` after or before the layer a SPEC names; edits `spec` in place.

    `args` replaces the module's default YAML args. Raises EditError, LayerSpecError or
    UnknownModuleError with a message that names the values.
    """
    if (after is None) == (before is None):
        raise EditError("give exactly one of after or before (a SPEC each)")
    afters = [] if after is None else [after]
    return insert_layers(spec, module, after=afters, before=[] if before is None else [before], args=args)


def insert_layers(
    spec: ModelSpec,
    module: ModuleSpec | str,
    *,
    after: Sequence[str | int] = (),
    before: Sequence[str | int] = (),
    args: list[Any] | None = None,
) -> EditResult:
    """Insert `module` at every layer the SPECs select, in one set of patches; edits `spec` in place.

    Every SPEC addresses the input's layers, so the order of the targets does not change the
    result, except that two inserts at the same point chain in the order given. ``--before`` a
    multi-input layer (Detect, Concat, ...) adds one new layer per input, read only by it.
    """
    module_spec = catalogue_entry(module)
    row_args = checked_args(module_spec, args)
    sides: tuple[tuple[InsertPlacement, Sequence[str | int]], ...] = (("after", after), ("before", before))
    planned = [
        Insertion(module_spec, row_args, placement, layer)
        for placement, specs in sides
        for text in specs
        for layer in resolve_layers(spec, str(text))
    ]
    if not planned:
        raise EditError("an insert needs a place", hint=Hint.give_place)
    return insert_many(spec, planned)


@dataclass(frozen=True)
class Insertion:
    """One planned insert: a module and its row args, put after or before a layer of the input."""

    module: ModuleSpec
    args: list[Any]
    placement: InsertPlacement
    target: Layer


@dataclass
class _NewRow:
    """A row an insert writes: which insert, which input of the target it sits on, where it lands."""

    insertion: Insertion
    ref_position: int  # for --before: which `from` entry of the target it takes over
    index: int = -1
    reads: int = -1
    style_ref: int = -1  # the ref whose style (absolute or relative) its `from` follows


def insert_many(spec: ModelSpec, insertions: list[Insertion]) -> EditResult:
    """Apply several inserts (addressing `spec`'s current layers) as one edit of the text."""
    check_editable(spec)
    after_rows: dict[int, list[_NewRow]] = {}
    before_rows: dict[int, list[_NewRow]] = {}
    for insertion in insertions:
        target = insertion.target
        if insertion.placement == "after":
            check_insert_after(spec, target)
            after_rows.setdefault(target.index, []).append(_NewRow(insertion, 0))
        else:
            before_rows.setdefault(target.index, []).extend(
                _NewRow(insertion, position) for position in range(len(target.refs))
            )
    new_of = _place_rows(spec, after_rows, before_rows)
    after_end = {old: rows[-1].index for old, rows in after_rows.items()}
    before_end = {(old, row.ref_position): row.index for old, rows in before_rows.items() for row in rows}
    _link_rows(spec, new_of, after_rows, before_rows, after_end)

    def shift(i: int) -> int:
        return i if i == INPUT else new_of[i]

    def rewire(layer: Layer, position: int, source: int) -> int | None:
        if (layer.index, position) in before_end:
            return before_end[(layer.index, position)]
        return after_end.get(source)

    rewired, patches = rewrite_refs(spec, shift, rewire, reason=REASON_READS_NEW)
    rows_of: dict[int, list[_NewRow]] = {}
    for placement, groups in (("after", after_rows), ("before", before_rows)):
        for old, group in groups.items():
            texts = [(_row_data(row), _row_comment(row)) for row in group]
            patches += new_row_patches(spec, spec.layers[old], texts, after=placement == "after")
            for row in group:
                rows_of.setdefault(id(row.insertion), []).append(row)
    renumbered = renumber_comments(spec, new_of)
    source_text = spec.text
    spec.replace_text(apply_patches(spec.text, patches + renumbered))
    steps = [_insert_step(insertion, rows_of[id(insertion)]) for insertion in insertions]
    first = insertions[0]
    return EditResult(
        spec=spec,
        source_text=source_text,
        action="insert",
        target=first.target.index,
        target_module=first.target.module,
        placement=first.placement,
        module=first.module,
        new_index=steps[0].new_indices[0],
        row=list(steps[0].rows[0]),
        index_map=new_of,
        rewired=rewired,
        inserted=sorted(i for step in steps for i in step.new_indices),
        comments_renumbered=len(renumbered),
        default_output_name=output_name(source_name(spec), first.module.name),
        steps=steps,
        modules_at={row.index: row.insertion.module for rows in rows_of.values() for row in rows},
    )


def _place_rows(
    spec: ModelSpec, after_rows: dict[int, list[_NewRow]], before_rows: dict[int, list[_NewRow]]
) -> dict[int, int]:
    """Give every new row its index (rows before a layer, the layer, rows after it); old -> new."""
    new_of: dict[int, int] = {}
    index = 0
    for layer in spec.layers:
        for row in before_rows.get(layer.index, []):
            row.index, index = index, index + 1
        new_of[layer.index], index = index, index + 1
        for row in after_rows.get(layer.index, []):
            row.index, index = index, index + 1
    return new_of


def _link_rows(
    spec: ModelSpec,
    new_of: dict[int, int],
    after_rows: dict[int, list[_NewRow]],
    before_rows: dict[int, list[_NewRow]],
    after_end: dict[int, int],
) -> None:
    """What each new row reads: a chain after its target, or the target's input (through any
    chain after that input) for the first row before it, then the previous row on that input."""
    for old, rows in after_rows.items():
        previous = new_of[old]
        for row in rows:
            row.reads, previous = previous, row.index
    for old, rows in before_rows.items():
        target = spec.layers[old]
        last: dict[int, int] = {}
        for row in rows:
            position = row.ref_position
            if position in last:
                row.reads = last[position]
            else:
                source = target.sources[position]
                row.reads = INPUT if source == INPUT else after_end.get(source, new_of[source])
                row.style_ref = target.refs[position]
            last[position] = row.index


def _row_data(row: _NewRow) -> list[Any]:
    """A new row as plain data, its `from` written in the style of the ref it takes over."""
    insertion = row.insertion
    from_ = written_ref(row.style_ref, row.reads, row.index)
    return [from_, 1, insertion.module.yaml_name, list(insertion.args)]


def _row_comment(row: _NewRow) -> str:
    """The index comment of a new row: ``# 9 HaloAttention (halo)``."""
    module = row.insertion.module
    return f"# {row.index} {module.yaml_name} ({module.name})"


def _insert_step(insertion: Insertion, rows: list[_NewRow]) -> EditStep:
    """The report of one insert: its target and the rows it wrote."""
    return EditStep(
        action="insert",
        module=insertion.module.name,
        placement=insertion.placement,
        target=insertion.target.index,
        target_module=insertion.target.module,
        new_indices=tuple(row.index for row in rows),
        rows=tuple(_row_data(row) for row in rows),
    )
