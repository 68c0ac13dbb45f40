"""Insert or remove one layer of a model spec and renumber every reference, losslessly.

The rules, for a new layer at global index ``g``:

- ``--after T`` puts the new layer right after T (``g = T + 1``, in T's section). It reads T
  (``from: -1``), and **every consumer of T now reads the new layer**, so ``--after 16`` in
  yolo11 feeds the attended P3 to both layer 17 and Detect.
- ``--before J`` puts it in front of a single-input layer J (``g = J``): the new layer reads what J
  read, and J reads the new layer.
- ``--before H`` where H reads several layers (Detect, Concat, ...) puts one new layer per input
  in front of H, each reading that input; only H reads them, every other consumer keeps the original.
- Several targets are one edit (:func:`insert_layers`, :func:`insert_many`): every target names a
  layer of the input, so their order does not matter; inserts at one point chain in the order
  given (after T: ``T -> A1 -> A2 -> T's consumers``; rows after T come before rows before T+1).
- ``remove R`` deletes a single-input layer; its consumers then read its input.
- ``replace R`` swaps R's row for a module's row (same index, same ``from``): nothing renumbers.

Every other reference keeps pointing at the same layer it did. A reference keeps its style:
an absolute index stays absolute (and shifts when its layer moves), a relative one stays relative
(and changes only when it crosses the edit point), so ``-1`` stays ``-1`` wherever it still means
the previous layer.

**The document is never re-serialised.** An edit is a short list of text patches at the positions
the reader reports (:class:`~.layout.Patch`): each ``from`` number that changes, the number at the
start of each moved row's index comment (``# 9``, ``# 0-P1/2``, ``# 16 (P3/8-small)``), and one
new line for the new row, written like its neighbours (block ``  - [...]`` or flow ``   [...],``,
the same indent and bracket spacing, its comment ``# 9 HaloAttention (halo)`` at their comment
column). Every other byte (comments, blank and whitespace-only lines, quotes, CRLF, a BOM, a
missing final newline) is the input's byte. In a flow list, a comma or the list's closing bracket
moves where the new row needs it (``[-1, 4, Bottleneck, [1024]]]  # 10`` gets the new row under
it, the ``]`` moving down). ``remove`` undoes each of these layouts exactly, so insert-then-remove
gives back the input byte for byte.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from ..errors import EditError, Hint, Location, OutputExistsError, Param
from .address import resolve_layer, resolve_layers
from .bases import Base, resolve_base
from .files import STDIN, output_problem, read_input
from .layout import (
    Patch,
    apply_patches,
    blank_width,
    break_after,
    break_before,
    comment_gap,
    flow_text,
    index_comment_digits,
    is_spaced,
    line_end,
    line_start,
    with_comment,
)
from .naming import scaled_name
from .spec import HEAD_MODULES, INPUT, Layer, ModelSpec

if TYPE_CHECKING:
    from ..modules.registry import ModuleSpec


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "action": self.action,
            "module": self.module or None,
            "placement": self.placement or None,
            "target": {"index": self.target, "module": self.target_module},
            "new_indices": list(self.new_indices),
            "rows": [list(row) for row in self.rows],
        }


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

    def module_at(self, index: int) -> ModuleSpec | None:
        """The catalogue module of an inserted or replaced layer (None for any other layer)."""
        return self.modules_at.get(index)

    @property
    def only_inserts(self) -> bool:
        """True when the change only added layers (every old layer kept, with its own row)."""
        return all(step.action == "insert" for step in self.steps) and bool(self.inserted)
    source_text: str = ""  # the text as read, before the edit

    def dump(self) -> str:
        """The edited YAML text."""
        return self.spec.dump()

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (index_map keys become strings, as JSON requires)."""
        return {
            "action": self.action,
            "base": _base_dict(self.base),
            "source": self.spec.source,
            "module": None
            if self.module is None
            else {"name": self.module.name, "yaml_name": self.module.yaml_name},
            "target": {"index": self.target, "module": self.target_module},
            "placement": self.placement or None,
            "new_index": self.new_index,
            "removed_index": self.removed_index,
            "row": self.row,
            "inserted": list(self.inserted),
            "replaced": list(self.replaced),
            "steps": [step.to_dict() for step in self.steps],
            "index_map": {str(old): new for old, new in sorted(self.index_map.items())},
            "rewired": [asdict(item) for item in self.rewired],
            "comments_renumbered": self.comments_renumbered,
            "layers": len(self.spec.layers),
            "default_output_name": self.default_output_name,
            "warnings": list(self.warnings),
        }


def _base_dict(base: Base | None) -> dict[str, Any] | None:
    """A Base as JSON-ready data."""
    if base is None:
        return None
    return {"name": base.name, "path": str(base.path), "scale": base.scale or None, "bundled": base.bundled}


# --- public entry points ----------------------------------------------------------------------


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
    module_spec = _module_spec(module)
    row_args = _checked_args(module_spec, args)
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
    _check_editable(spec)
    after_rows: dict[int, list[_NewRow]] = {}
    before_rows: dict[int, list[_NewRow]] = {}
    for insertion in insertions:
        target = insertion.target
        if insertion.placement == "after":
            _check_insert_after(spec, target)
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

    rewired, patches = _rewrite_refs(spec, shift, rewire, reason=REASON_READS_NEW)
    rows_of: dict[int, list[_NewRow]] = {}
    for placement, groups in (("after", after_rows), ("before", before_rows)):
        for old, group in groups.items():
            texts = [(_row_data(row), _row_comment(row)) for row in group]
            patches += _new_row_patches(spec, spec.layers[old], texts, after=placement == "after")
            for row in group:
                rows_of.setdefault(id(row.insertion), []).append(row)
    renumbered = _renumber_comments(spec, new_of)
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
        default_output_name=output_name(_source_name(spec), first.module.name),
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
    from_ = _written_ref(row.style_ref, row.reads, row.index)
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


def remove_layer(spec: ModelSpec, target_spec: str | int) -> EditResult:
    """Remove the single-input layer a SPEC names; its consumers read its input. Edits `spec`."""
    target = resolve_layer(spec, str(target_spec))
    _check_editable(spec)
    _check_remove(spec, target)
    removed = target.index
    source = target.sources[0]

    def shift(i: int) -> int:
        return i if i == INPUT or i < removed else i - 1

    def rewire(layer: Layer, _position: int, read: int) -> int | None:
        return shift(source) if read == removed else None

    rewired, patches = _rewrite_refs(spec, shift, rewire, reason=REASON_READS_INPUT, skip=target)
    patches += _removal_patches(spec, target)
    index_map = {layer.index: shift(layer.index) for layer in spec.layers if layer is not target}
    renumbered = _renumber_comments(spec, index_map)
    row = list(target.row)
    source_text = spec.text
    spec.replace_text(apply_patches(spec.text, patches + renumbered))
    return EditResult(
        spec=spec,
        source_text=source_text,
        action="remove",
        target=removed,
        target_module=target.module,
        placement="",
        removed_index=removed,
        row=row,
        index_map=index_map,
        rewired=rewired,
        comments_renumbered=len(renumbered),
        default_output_name=output_name(_source_name(spec), f"no{removed}"),
        steps=[EditStep("remove", "", "", removed, target.module, (), (row,))],
    )


def replace_layer(
    spec: ModelSpec, target_spec: str | int, module: ModuleSpec | str, *, args: list[Any] | None = None
) -> EditResult:
    """Swap the row of the single-input layer a SPEC names for `module`'s row; edits `spec`.

    Its `from` and index comment stay as written (the new layer has the same index, so nothing
    renumbers and every consumer reads it). Whether the module can produce the replaced layer's
    output channels only a build can tell (:func:`yolo_compose.build.check_replaced_shapes`).
    """
    module_spec = _module_spec(module)
    row_args = _checked_args(module_spec, args)
    target = resolve_layer(spec, str(target_spec))
    _check_editable(spec)
    _check_replace(spec, target, module_spec)
    input_text = spec.text
    repeats, _name, args_node = target.row_node.value[1:]
    spaced = is_spaced(spec.text[slice(*spec.span(target.row_node))])
    new_text = f"1, {module_spec.yaml_name}, {flow_text(list(row_args), spaced=spaced)}"
    start, end = spec.span(repeats)[0], spec.span(args_node)[1]
    spec.replace_text(apply_patches(spec.text, [Patch(start, end, new_text)]))
    row = [target.from_, 1, module_spec.yaml_name, list(row_args)]
    index = target.index
    return EditResult(
        spec=spec,
        action="replace",
        target=index,
        target_module=target.module,
        placement="",
        module=module_spec,
        new_index=index,
        row=row,
        index_map={layer.index: layer.index for layer in spec.layers},
        replaced=[index],
        default_output_name=output_name(_source_name(spec), f"{module_spec.name}-for{index}"),
        steps=[EditStep("replace", module_spec.name, "", index, target.module, (index,), (row,))],
        modules_at={index: module_spec},
        source_text=input_text,
    )


def _check_replace(spec: ModelSpec, target: Layer, module: ModuleSpec) -> None:
    """A catalogue module reads one input: the replaced layer must be a single-input, non-head layer."""
    where: Location = {"path": spec.source, "line": target.line, "layer": target.index}
    if target.module in HEAD_MODULES:
        raise EditError(f"cannot replace {target.module}: it is the model's output head", **where)
    if target.is_multi_input:
        raise EditError(
            f"cannot replace {target.module} with {module.yaml_name}: it reads several layers {target.refs} "
            f"and {module.yaml_name} reads one; insert it after one of them instead",
            **where,
        )


def compose_replace(
    base: str | Path,
    target: str | int,
    module: ModuleSpec | str,
    *,
    args: list[Any] | None = None,
    scale: str | None = None,
) -> EditResult:
    """Resolve a base, load it and replace the layer a SPEC names by `module`; nothing is written."""
    resolved, spec = load_base(base)
    _check_scale(spec, scale)
    result = replace_layer(spec, target, module, args=args)
    result.base = resolved
    name = f"{result.module.name}-for{result.target}"  # type: ignore[union-attr]
    result.default_output_name = output_name(resolved.name, name, scale)
    return result


def note_unchecked_replace(edit: EditResult) -> None:
    """With --no-build, say that whether a replaced layer's channels still fit needs a build."""
    for index in edit.replaced:
        module = edit.module_at(index)
        name = module.yaml_name if module is not None else "the new module"
        edit.warnings.append(
            f"not built, so the channel check of layer {index} needs a build: {name} keeps its input's "
            "channels, and only a build measures whether the replaced layer did too"
        )


def set_args(spec: ModelSpec, index: int, values: dict[int, Any]) -> bool:
    """Write args of layer `index` (``{position: value}``) into the spec's text; True if it changed.

    The args list is rewritten in the row's bracket style; missing positions before a given one
    must already be in the row (the caller fills defaults).
    """
    layer = spec.layers[index]
    args = list(layer.args)
    for position, value in sorted(values.items()):
        if position > len(args):
            raise EditError(f"cannot set arg {position} of a row with {len(args)} args", layer=index)
        if position == len(args):
            args.append(value)
        else:
            args[position] = value
    if args == list(layer.args) and all(type(a) is type(b) for a, b in zip(args, layer.args, strict=True)):
        return False
    _check_editable(spec)
    node = layer.row_node.value[3]
    start, end = spec.span(node)
    spaced = is_spaced(spec.text[slice(*spec.span(layer.row_node))])
    spec.replace_text(apply_patches(spec.text, [Patch(start, end, flow_text(args, spaced=spaced))]))
    return True


def compose_insert(
    base: str | Path,
    module: ModuleSpec | str,
    *,
    after: str | int | Sequence[str | int] | None = None,
    before: str | int | Sequence[str | int] | None = None,
    args: list[Any] | None = None,
    scale: str | None = None,
) -> EditResult:
    """Resolve a base (bundled name or file), load it and insert `module`; nothing is written.

    `after` and `before` each take one SPEC or a list of them (every one addressing the base's
    layers). `scale` only shapes the default output name (ultralytics takes the scale from the
    file name).
    """
    resolved, spec = load_base(base)
    _check_scale(spec, scale)
    afters, befores = _spec_list(after), _spec_list(before)
    if len(afters) + len(befores) == 1:
        result = insert_layer(spec, module, after=afters[0] if afters else None,
                              before=befores[0] if befores else None, args=args)
    else:
        result = insert_layers(spec, module, after=afters, before=befores, args=args)
    result.base = resolved
    result.default_output_name = output_name(resolved.name, result.module.name, scale)  # type: ignore[union-attr]
    return result


def _spec_list(value: str | int | Sequence[str | int] | None) -> list[str | int]:
    """One SPEC, a list of them, or none, as a list."""
    if value is None:
        return []
    if isinstance(value, (str, int)):
        return [value]
    return list(value)


def note_unfilled_resolution(edit: EditResult) -> None:
    """With --no-build, say which trained-size args kept their defaults (only a build can fill them).

    A resolution arg is the feature-map size at the insertion point (imgsz // stride); without a
    build the stride is unknown, so the module's default stands in the written row.
    """
    found = []
    for index in sorted(set(edit.inserted) | set(edit.replaced)):
        module = edit.module_at(index) or edit.module
        args = list(edit.spec.layers[index].args)
        unfilled = [] if module is None else [
            f"{arg.name}={args[i]!r}" for i, arg in enumerate(module.args) if arg.resolution and i < len(args)
        ]
        if unfilled:
            found.append((index, ", ".join(unfilled)))
    if not found:
        return
    listed = found[0][1] if len(found) == 1 else "; ".join(f"layer {i}: {args}" for i, args in found)
    edit.warnings.append(
        f"not built, so the trained-size args keep their defaults ({listed}); "
        "a build fills them from the image size and the stride at the insertion point"
    )


def compose_remove(base: str | Path, target: str | int, *, scale: str | None = None) -> EditResult:
    """Resolve a base, load it and remove the layer a SPEC names; nothing is written."""
    resolved, spec = load_base(base)
    _check_scale(spec, scale)
    result = remove_layer(spec, target)
    result.base = resolved
    result.default_output_name = output_name(resolved.name, f"no{result.removed_index}", scale)
    return result


def load_base(base: str | Path) -> tuple[Base, ModelSpec]:
    """The resolved base and its spec; ``-`` reads stdin. Errors name the base as the user gave it.

    A bundled base is shown by its name (``yolo11n``), never by its path in site-packages.
    """
    if str(base) == STDIN:
        text, shown = read_input(STDIN)
        return Base(path=Path(shown), name="model", scale="", bundled=False), ModelSpec.from_text(text, shown)
    resolved = resolve_base(base)
    text, _path = read_input(resolved.path)
    shown = resolved.name if resolved.bundled else str(base)
    return resolved, ModelSpec.from_text(text, source=shown)


def output_name(base_name: str, suffix: str, scale: str | None = None) -> str:
    """`<base name with scale>-<suffix>.yaml`; `scale` replaces or adds the letter of a yolo name.

    The scale letter must stay in the file name: ultralytics guesses the scale from it.
    """
    return f"{scaled_name(base_name, scale)}-{suffix}.yaml"


#: Deepest nesting of lists accepted in --args (a module's args are flat or one list deep).
MAX_ARGS_NESTING = 16


def parse_args_json(text: str) -> list[Any]:
    """Parse the `--args` option: a JSON list such as ``[2, 1]``."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EditError(f"{text[:80]!r} is not valid JSON: {exc.msg} (a list such as '[2, 1]')",
                        param=Param.args) from None
    except RecursionError:
        value = None
    if value is None or _nesting(value) > MAX_ARGS_NESTING:
        raise EditError(f"lists nest deeper than {MAX_ARGS_NESTING} levels", param=Param.args)
    if not isinstance(value, list):
        raise EditError(f"must be a JSON list such as [2, 1], got {text[:80]!r}", param=Param.args)
    return value


def _nesting(value: Any) -> int:
    """How deep lists and mappings nest in a JSON value (0 for a scalar); stops past the limit."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, depth + 1)
            if deepest > MAX_ARGS_NESTING:
                break
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


# --- checks -----------------------------------------------------------------------------------


def _module_spec(module: ModuleSpec | str) -> ModuleSpec:
    """A registry spec from a name (imported here: the registry imports the composer's errors)."""
    if not isinstance(module, str):
        return module
    from ..modules import get

    return get(module)


def _checked_args(module: ModuleSpec, args: list[Any] | None) -> list[Any]:
    """The row's args, the user's or the module's defaults, checked against the module's schema.

    The same check `validate` runs (YC032), before anything is built or written.
    """
    row_args = list(module.default_args) if args is None else args
    if not isinstance(row_args, list):
        raise EditError(f"args for {module.name} must be a list, got {row_args!r}")
    problems = module.arg_problems(row_args)
    if problems:
        raise EditError(f"{module.name} {problems[0][1]} (args {_json_text(row_args)})")
    return list(row_args)


def _json_text(value: Any) -> str:
    """A value as the JSON the user typed (NaN stays NaN), for messages."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _check_scale(spec: ModelSpec, scale: str | None) -> None:
    """A requested scale must be one the model defines (or n/s/m/l/x for depth/width models)."""
    valid = list(spec.scales) or ["n", "s", "m", "l", "x"]
    if scale is not None and scale not in valid:
        raise EditError(
            f"scale {scale!r} is not defined by this model; valid: {', '.join(valid)}", path=spec.source
        )


def _check_editable(spec: ModelSpec) -> None:
    """A text patch edits one place: refuse layer lists where a YAML alias makes one node two rows."""
    if spec.aliased:
        raise EditError("the layer lists use YAML anchors/aliases: an edit of one row would change every "
                        "copy of it; write the rows out to edit this file", path=spec.source)


def _check_insert_after(spec: ModelSpec, target: Layer) -> None:
    """Nothing can follow a prediction head: its output is not a feature map."""
    if target.module in HEAD_MODULES:
        raise EditError(
            f"cannot insert after {target.module}: it is the model's output head; "
            "insert after one of its inputs instead "
            f"({', '.join(str(s) for s in target.sources)})",
            path=spec.source,
            line=target.line,
            layer=target.index,
        )


def _check_remove(spec: ModelSpec, target: Layer) -> None:
    """Only a single-input layer that is not the head, in a section that keeps a row, can go."""
    where: Location = {"path": spec.source, "line": target.line, "layer": target.index}
    if target.module in HEAD_MODULES:
        raise EditError(f"cannot remove {target.module}: it is the model's output head", **where)
    if target.is_multi_input:
        raise EditError(
            f"cannot remove {target.module}: it reads several layers {target.refs}, "
            "so its consumers would have no single input to read",
            **where,
        )
    if len(spec.section_node(target.section).value) == 1:
        raise EditError(f"cannot remove {target.module}: it is the only row of `{target.section}`", **where)
    if target.sources[0] == INPUT:
        late = [c.index for c in spec.consumers(target.index) if c.index != target.index + 1]
        if late:
            raise EditError(
                f"cannot remove {target.module}: layers {late} would read the input image", **where
            )


# --- references -------------------------------------------------------------------------------


def _rewrite_refs(
    spec: ModelSpec,
    shift: Callable[[int], int],
    rewire: Callable[[Layer, int, int], int | None],
    *,
    reason: str,
    skip: Layer | None = None,
) -> tuple[list[Rewire], list[Patch]]:
    """Every `from` of the spec's layers (except `skip`) for the edit: the changes and their patches.

    `shift(i)` maps an old index to its new one; `rewire(layer, position, source)` returns the new
    source for the read at that `from` position that the edit redirects, or None when it keeps its layer.
    """
    changes: list[Rewire] = []
    patches: list[Patch] = []
    for layer in spec.layers:
        if layer is skip:
            continue
        new_index = shift(layer.index)
        for position, (ref, source, node) in enumerate(
            zip(layer.refs, layer.sources, _ref_nodes(layer), strict=True)
        ):
            redirected = rewire(layer, position, source)
            new_source = shift(source) if redirected is None else redirected
            new_ref = _written_ref(ref, new_source, new_index)
            if new_ref != ref:
                patches.append(Patch(*spec.span(node), str(new_ref)))
            if new_ref != ref or redirected is not None:
                why = reason if redirected is not None else (REASON_SHIFTED if ref >= 0 else REASON_CROSSES)
                changes.append(Rewire(new_index, layer.index, layer.module, ref, new_ref, why))
    return changes, patches


def _ref_nodes(layer: Layer) -> list[yaml.Node]:
    """The scalar nodes of a layer's `from` entries, in order."""
    node = layer.row_node.value[0]
    return list(node.value) if isinstance(node, yaml.SequenceNode) else [node]


def _written_ref(old_ref: int, source: int, index: int) -> int:
    """The ref that reads `source` from layer `index`, in the style (absolute/relative) of old_ref."""
    if source == INPUT:
        return -1  # only layer 0 reads the image, and -1 is how it is written
    return source if old_ref >= 0 else source - index


def _renumber_comments(spec: ModelSpec, index_map: dict[int, int]) -> list[Patch]:
    """A patch for each moved row whose index comment names its old index: the new number."""
    patches = []
    for layer in spec.layers:
        new_index = index_map.get(layer.index)
        if new_index is None or new_index == layer.index:
            continue
        digits = index_comment_digits(spec.text, spec.span(layer.row_node)[1])
        if digits is not None and digits[2] == layer.index:
            patches.append(Patch(digits[0], digits[1], str(new_index)))
    return patches


# --- rows -------------------------------------------------------------------------------------
#
# Where a row sits in its section's text decides how a new row goes in and how a row comes out.
# Each layout below has its exact inverse in _removal_patches:
#   own line, block list      `  - [..] # 8`       -> a new line `  - [..] # 9 Name (name)`
#   own line, flow list       `   [..],  # 8`       -> a new line `   [..],  # 9 Name (name)`
#   last flow row, no comma   `   [..]  # 8` + `]`  -> a comma after it, the new row last
#   last flow row + bracket   `   [..]]  # 10`      -> `,` for the `]`, which moves to the new row
#   first flow row + opener   `  [[..],  # 0`       -> the new row takes the opener's line
#   several rows on a line    `[[..], [..]]`        -> `, [..]` inline, no comment


@dataclass(frozen=True)
class _Place:
    """A row's node and where it sits: its span, its lines' bounds, the text before and after it."""

    start: int
    end: int
    line_start: int  # of its first line
    line_end: int  # of its last line
    prefix: str  # text of its first line before it
    tail: str  # text of its last line after it


def _place(spec: ModelSpec, node: yaml.Node) -> _Place:
    text = spec.text
    start, end = spec.span(node)
    first, last = line_start(text, start), line_end(text, end)
    return _Place(start, end, first, last, text[first:start], text[end:last])


def _section_rows(spec: ModelSpec, layer: Layer) -> list[yaml.Node]:
    """The row nodes of a layer's section, with a check that each is written as a flow list."""
    rows = list(spec.section_node(layer.section).value)
    for position, row in enumerate(rows):
        if not (isinstance(row, yaml.SequenceNode) and row.flow_style):
            raise EditError(
                "the row is written as a block list; yolo-compose edits rows written as "
                "[from, repeats, module, args]", path=spec.source, line=row.start_mark.line + 1,
                layer=layer.index - layer.position + position,
            )
    return rows


_BLOCK_ITEM = re.compile(r"[ \t]*-[ \t]+")
_CLOSERS = re.compile(r"[ \t]*[\]}]+")
_COMMA = re.compile(r"[ \t]*,")


def _new_row_patches(
    spec: ModelSpec, target: Layer, rows: list[tuple[list[Any], str]], *, after: bool
) -> list[Patch]:
    """Patches that add `rows` (each with its comment) right after (or before) `target`, laid out
    like its neighbours, in the order given."""
    text = spec.text
    section_rows = _section_rows(spec, target)
    flow = bool(spec.section_node(target.section).flow_style)
    position = target.position
    anchor = _place(spec, section_rows[position])
    spaced = is_spaced(text[anchor.start : anchor.end])
    texts = [(flow_text(row, spaced=spaced), comment) for row, comment in rows]
    above = section_rows[position if after else position - 1] if after or position > 0 else None
    gap = comment_gap(text, spec.span(above)[1]) if above is not None else None
    gap = gap or comment_gap(text, anchor.end)
    following = _place(spec, section_rows[position + 1]) if position + 1 < len(section_rows) else None
    if after:
        return _patches_after(text, anchor, following, texts, gap, flow)
    previous = _place(spec, section_rows[position - 1]) if position > 0 else None
    return _patches_before(text, anchor, previous, following, texts, gap, flow)


def _indent(prefix: str, flow: bool) -> str:
    """The text a new row's line starts with, from a neighbour's first-line prefix."""
    if flow:
        return blank_width(prefix)
    match = _BLOCK_ITEM.fullmatch(prefix)
    return prefix if match else blank_width(prefix) + "- "


def _inline(texts: list[tuple[str, str]], *, leading: bool) -> str:
    """New rows on a line shared with other rows: ``, [..], [..]`` (or ``[..], [..], ``)."""
    return "".join(f", {row}" if leading else f"{row}, " for row, _comment in texts)


def _patches_after(
    text: str, t: _Place, following: _Place | None, texts: list[tuple[str, str]],
    gap: tuple[int, int] | None, flow: bool,
) -> list[Patch]:
    if following is not None and following.start < t.line_end:
        return [Patch(t.end, t.end, _inline(texts, leading=True))]  # several rows on one line
    brk = break_after(text, t.line_end)
    indent = _indent(t.prefix, flow)

    def lines(last: str) -> str:
        """Each row on its own line; in a flow list every one but the last ends in a comma."""
        ends = [","] * (len(texts) - 1) + [last] if flow else [""] * len(texts)
        return "".join(brk + with_comment(indent + row + end, comment, gap)
                       for (row, comment), end in zip(texts, ends, strict=True))

    if not flow:
        return [Patch(t.line_end, t.line_end, lines(""))]
    if _COMMA.match(t.tail):
        return [Patch(t.line_end, t.line_end, lines(","))]
    closers = _CLOSERS.match(t.tail)
    if closers:  # `[..]]  # 10`: a comma takes the bracket's place, the bracket closes the last new row
        moved = Patch(t.line_end, t.line_end, lines(closers.group()))
        return [Patch(t.end, t.end + closers.end(), ","), moved]
    if t.end == t.line_end:  # the last row, its list closed further down
        return [Patch(t.end, t.end, "," + lines(""))]
    return [Patch(t.end, t.end, ","), Patch(t.line_end, t.line_end, lines(""))]


def _patches_before(
    text: str, j: _Place, previous: _Place | None, following: _Place | None, texts: list[tuple[str, str]],
    gap: tuple[int, int] | None, flow: bool,
) -> list[Patch]:
    if previous is not None and previous.end > j.line_start:
        return [Patch(j.start, j.start, _inline(texts, leading=False))]  # several rows on one line
    comma = "," if flow else ""
    own_line = not j.prefix.strip() or (not flow and _BLOCK_ITEM.fullmatch(j.prefix))
    if own_line:
        brk = break_before(text, j.line_start) or break_after(text, j.line_end)
        lines = "".join(with_comment(j.prefix + row + comma, comment, gap) + brk for row, comment in texts)
        return [Patch(j.line_start, j.line_start, lines)]
    if flow and (following is None or following.start > j.line_end):  # `  [[..],`: take the opener's line
        brk = break_after(text, j.line_end)
        blank = blank_width(j.prefix)
        lines = "".join(with_comment((j.prefix if k == 0 else blank) + row + ",", comment, gap) + brk
                        for k, (row, comment) in enumerate(texts))
        return [Patch(j.line_start, j.start, lines + blank)]
    return [Patch(j.start, j.start, _inline(texts, leading=False))]


def _removal_patches(spec: ModelSpec, target: Layer) -> list[Patch]:
    """Patches that take a row out of the text: the exact inverse of each insert layout."""
    text = spec.text
    rows = _section_rows(spec, target)
    flow = bool(spec.section_node(target.section).flow_style)
    position = target.position
    r = _place(spec, rows[position])
    previous = _place(spec, rows[position - 1]) if position > 0 else None
    following = _place(spec, rows[position + 1]) if position + 1 < len(rows) else None
    if previous is not None and previous.end > r.line_start:
        return [Patch(previous.end, r.end, "")]  # `, [..]` on a shared line
    if following is not None and following.start < r.line_end:
        return [Patch(r.start, following.start, "")]  # `[..], ` on a shared line
    whole_line = Patch(r.line_start - len(break_before(text, r.line_start)), r.line_end, "")
    if flow and r.prefix.strip() and following is not None:  # it held the opener: hand it on
        if following.line_start == r.line_end + len(break_after(text, r.line_end)):
            return [Patch(r.line_start, following.start, r.prefix)]
        return [Patch(r.line_start, r.line_end + len(break_after(text, r.line_end)), ""),
                Patch(following.line_start, following.start, r.prefix)]
    if flow and previous is not None and not _COMMA.match(r.tail):
        comma = _COMMA.match(previous.tail)
        if comma is not None:
            closers = _CLOSERS.match(r.tail)
            back = closers.group() if closers else ""
            return [Patch(previous.end, previous.end + comma.end(), back), whole_line]
    return [whole_line]


def _source_name(spec: ModelSpec) -> str:
    """The stem of the spec's file, for default output names."""
    return Path(spec.source).stem if spec.source else "model"


def output_target(output: str | None, default_name: str, *, source: str | None, force: bool) -> Path | None:
    """Where the YAML goes: None for stdout (``-o -``), else a path that may be written.

    Refuses to overwrite an existing file without `force`, and the input file ever.
    """
    if output == "-":
        return None
    path = Path(output) if output else Path(default_name)
    if source is not None and path.exists() and path.resolve() == Path(source).resolve():
        raise OutputExistsError(f"output {str(path)!r} is the input file", hint=Hint.other_output)
    if path.is_dir():
        raise OutputExistsError(f"output {str(path)!r} is a directory", hint=Hint.output_file)
    if path.exists() and not force:
        raise OutputExistsError(f"output {str(path)!r} exists", hint=Hint.overwrite)
    if not path.parent.is_dir():
        raise OutputExistsError(f"output folder {str(path.parent)!r} does not exist")
    problem = output_problem(path)
    if problem:
        raise OutputExistsError(f"output {str(path)!r} {problem}")
    return path
