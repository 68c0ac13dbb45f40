"""Insert or remove one layer of a model spec and renumber every reference, losslessly.

The rules, for a new layer at global index ``g``:

- ``--after T`` puts the new layer right after T (``g = T + 1``, in T's section). It reads T
  (``from: -1``), and **every consumer of T now reads the new layer**, so ``--after 16`` in
  yolo11 feeds the attended P3 to both layer 17 and Detect.
- ``--before J`` puts it in front of a single-input layer J (``g = J``): the new layer reads what J
  read, and J reads the new layer.
- ``remove R`` deletes a single-input layer; its consumers then read its input.

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
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ..errors import EditError, OutputExistsError
from .address import resolve_layer
from .bases import Base, resolve_base, scaled_name
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
from .spec import HEAD_MODULES, INPUT, Layer, ModelSpec

if TYPE_CHECKING:
    from ..modules.registry import ModuleSpec


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


@dataclass
class EditResult:
    """What an insert or remove did: the edited spec and a report of every index that moved."""

    spec: ModelSpec
    action: str  # "insert" or "remove"
    target: int  # old index of the layer named by the SPEC
    target_module: str
    placement: str  # "after", "before" or "" for remove
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
    module_spec = _module_spec(module)
    row_args = _checked_args(module_spec, args)
    placement, target = _placement(spec, after, before)
    _check_editable(spec)
    if placement == "after":
        _check_insert_after(spec, target)
        index, new_from = target.index + 1, -1
    else:
        _check_insert_before(spec, target)
        index, new_from = target.index, target.from_

    def shift(i: int) -> int:
        return i if i == INPUT or i < index else i + 1

    def rewire(layer: Layer, source: int) -> int | None:
        reads_target = source == target.index
        if (placement == "after" and reads_target) or (placement == "before" and layer is target):
            return index
        return None

    rewired, patches = _rewrite_refs(spec, shift, rewire, reason=REASON_READS_NEW)
    row = [new_from, 1, module_spec.yaml_name, list(row_args)]
    comment = f"# {index} {module_spec.yaml_name} ({module_spec.name})"
    patches += _new_row_patches(spec, target, row, comment, after=placement == "after")
    index_map = {layer.index: shift(layer.index) for layer in spec.layers}
    renumbered = _renumber_comments(spec, index_map)
    source_text = spec.text
    spec.replace_text(apply_patches(spec.text, patches + renumbered))
    return EditResult(
        spec=spec,
        source_text=source_text,
        action="insert",
        target=target.index,
        target_module=target.module,
        placement=placement,
        module=module_spec,
        new_index=index,
        row=row,
        index_map=index_map,
        rewired=rewired,
        inserted=[index],
        comments_renumbered=len(renumbered),
        default_output_name=output_name(_source_name(spec), module_spec.name),
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

    def rewire(layer: Layer, read: int) -> int | None:
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
    node = layer.node.value[3]
    start, end = spec.span(node)
    spaced = is_spaced(spec.text[slice(*spec.span(layer.node))])
    spec.replace_text(apply_patches(spec.text, [Patch(start, end, flow_text(args, spaced=spaced))]))
    return True


def compose_insert(
    base: str | Path,
    module: ModuleSpec | str,
    *,
    after: str | int | None = None,
    before: str | int | None = None,
    args: list[Any] | None = None,
    scale: str | None = None,
) -> EditResult:
    """Resolve a base (bundled name or file), load it and insert `module`; nothing is written.

    `scale` only shapes the default output name (ultralytics takes the scale from the file name).
    """
    resolved, spec = load_base(base)
    _check_scale(spec, scale)
    result = insert_layer(spec, module, after=after, before=before, args=args)
    result.base = resolved
    result.default_output_name = output_name(resolved.name, result.module.name, scale)  # type: ignore[union-attr]
    return result


def note_unfilled_resolution(edit: EditResult) -> None:
    """With --no-build, say which trained-size args kept their defaults (only a build can fill them).

    A resolution arg is the feature-map size at the insertion point (imgsz // stride); without a
    build the stride is unknown, so the module's default stands in the written row.
    """
    module = edit.module
    if module is None or len(edit.row) < 4:
        return
    args = list(edit.row[3])
    unfilled = [
        f"{arg.name}={args[i]!r}" for i, arg in enumerate(module.args) if arg.resolution and i < len(args)
    ]
    if unfilled:
        edit.warnings.append(
            f"not built, so the trained-size args keep their defaults ({', '.join(unfilled)}); "
            "build (drop --no-build) to fill them from --imgsz and the stride at the insertion point"
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
        raise EditError(f"--args {text[:80]!r} is not valid JSON: {exc.msg} (e.g. --args '[2, 1]')") from None
    except RecursionError:
        value = None
    if value is None or _nesting(value) > MAX_ARGS_NESTING:
        raise EditError(f"--args nests lists deeper than {MAX_ARGS_NESTING} levels")
    if not isinstance(value, list):
        raise EditError(f"--args must be a JSON list such as [2, 1], got {text[:80]!r}")
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


def _placement(spec: ModelSpec, after: str | int | None, before: str | int | None) -> tuple[str, Layer]:
    """Which of --after/--before was given, and the layer it names."""
    if (after is None) == (before is None):
        raise EditError("give exactly one of --after SPEC or --before SPEC")
    if after is not None:
        return "after", resolve_layer(spec, str(after))
    return "before", resolve_layer(spec, str(before))


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


def _check_insert_before(spec: ModelSpec, target: Layer) -> None:
    """--before needs one input to put the new layer on."""
    if target.is_multi_input:
        raise EditError(
            f"cannot insert before {target.module}: it reads several layers "
            f"{target.refs}; use --after one of them ({', '.join(str(s) for s in target.sources)})",
            path=spec.source,
            line=target.line,
            layer=target.index,
        )


def _check_remove(spec: ModelSpec, target: Layer) -> None:
    """Only a single-input layer that is not the head, in a section that keeps a row, can go."""
    where = {"path": spec.source, "line": target.line, "layer": target.index}
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
    rewire: Callable[[Layer, int], int | None],
    *,
    reason: str,
    skip: Layer | None = None,
) -> tuple[list[Rewire], list[Patch]]:
    """Every `from` of the spec's layers (except `skip`) for the edit: the changes and their patches.

    `shift(i)` maps an old index to its new one; `rewire(layer, source)` returns the new source
    for a read that the edit redirects, or None when the read keeps its layer.
    """
    changes: list[Rewire] = []
    patches: list[Patch] = []
    for layer in spec.layers:
        if layer is skip:
            continue
        new_index = shift(layer.index)
        for ref, source, node in zip(layer.refs, layer.sources, _ref_nodes(layer), strict=True):
            redirected = rewire(layer, source)
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
    node = layer.node.value[0]
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
        digits = index_comment_digits(spec.text, spec.span(layer.node)[1])
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
    spec: ModelSpec, target: Layer, row: list[Any], comment: str, *, after: bool
) -> list[Patch]:
    """Patches that add `row` right after (or before) `target`, laid out like its neighbours."""
    text = spec.text
    rows = _section_rows(spec, target)
    flow = bool(spec.section_node(target.section).flow_style)
    position = target.position
    anchor = _place(spec, rows[position])
    row_text = flow_text(row, spaced=is_spaced(text[anchor.start : anchor.end]))
    above = rows[position if after else position - 1] if after or position > 0 else None
    gap = comment_gap(text, spec.span(above)[1]) if above is not None else None
    gap = gap or comment_gap(text, anchor.end)
    if after:
        following = _place(spec, rows[position + 1]) if position + 1 < len(rows) else None
        return _patches_after(text, anchor, following, row_text, comment, gap, flow)
    previous = _place(spec, rows[position - 1]) if position > 0 else None
    following = _place(spec, rows[position + 1]) if position + 1 < len(rows) else None
    return _patches_before(text, anchor, previous, following, row_text, comment, gap, flow)


def _indent(prefix: str, flow: bool) -> str:
    """The text a new row's line starts with, from a neighbour's first-line prefix."""
    if flow:
        return blank_width(prefix)
    match = _BLOCK_ITEM.fullmatch(prefix)
    return prefix if match else blank_width(prefix) + "- "


def _patches_after(
    text: str, t: _Place, following: _Place | None, row_text: str, comment: str,
    gap: tuple[int, int] | None, flow: bool,
) -> list[Patch]:
    if following is not None and following.start < t.line_end:
        return [Patch(t.end, t.end, f", {row_text}")]  # several rows on one line
    brk = break_after(text, t.line_end)
    indent = _indent(t.prefix, flow)
    if not flow:
        return [Patch(t.line_end, t.line_end, brk + with_comment(indent + row_text, comment, gap))]
    if _COMMA.match(t.tail):
        return [Patch(t.line_end, t.line_end, brk + with_comment(f"{indent}{row_text},", comment, gap))]
    closers = _CLOSERS.match(t.tail)
    if closers:  # `[..]]  # 10`: a comma takes the bracket's place, the bracket closes the new row
        line = with_comment(indent + row_text + closers.group(), comment, gap)
        return [Patch(t.end, t.end + closers.end(), ","), Patch(t.line_end, t.line_end, brk + line)]
    line = with_comment(indent + row_text, comment, gap)  # the last row, its list closed further down
    if t.end == t.line_end:
        return [Patch(t.end, t.end, "," + brk + line)]
    return [Patch(t.end, t.end, ","), Patch(t.line_end, t.line_end, brk + line)]


def _patches_before(
    text: str, j: _Place, previous: _Place | None, following: _Place | None, row_text: str, comment: str,
    gap: tuple[int, int] | None, flow: bool,
) -> list[Patch]:
    if previous is not None and previous.end > j.line_start:
        return [Patch(j.start, j.start, f"{row_text}, ")]  # several rows on one line
    comma = "," if flow else ""
    own_line = not j.prefix.strip() or (not flow and _BLOCK_ITEM.fullmatch(j.prefix))
    if own_line:
        brk = break_before(text, j.line_start) or break_after(text, j.line_end)
        line = with_comment(j.prefix + row_text + comma, comment, gap)
        return [Patch(j.line_start, j.line_start, line + brk)]
    if flow and (following is None or following.start > j.line_end):  # `  [[..],`: take the opener's line
        brk = break_after(text, j.line_end)
        line = with_comment(j.prefix + row_text + ",", comment, gap)
        return [Patch(j.line_start, j.start, line + brk + blank_width(j.prefix))]
    return [Patch(j.start, j.start, f"{row_text}, ")]


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
        raise OutputExistsError(f"output {str(path)!r} is the input file; choose another name with -o")
    if path.is_dir():
        raise OutputExistsError(f"output {str(path)!r} is a directory; give a file name with -o")
    if path.exists() and not force:
        raise OutputExistsError(
            f"output {str(path)!r} exists; pass --force to overwrite it or -o another name"
        )
    if not path.parent.is_dir():
        raise OutputExistsError(f"output folder {str(path.parent)!r} does not exist")
    problem = output_problem(path)
    if problem:
        raise OutputExistsError(f"output {str(path)!r} {problem}")
    return path
