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
the previous layer. Because both edits follow these rules, insert-then-remove gives back the
document byte for byte.

Comments: a row's trailing comment that starts with its own layer number (``# 9``, ``# 0-P1/2``,
``# 16 (P3/8-small)``, ``# 12: concat``) gets the new number and keeps the rest of its text. Blank
lines and full-line comments stay between the rows they separated (ruamel stores them on the
row above, so they are moved explicitly). The new row gets a comment of its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ruamel.yaml.comments import CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken

from ..errors import EditError, OutputExistsError
from .address import resolve_layer
from .bases import Base, resolve_base, scaled_name
from .files import STDIN, output_problem, read_input
from .spec import HEAD_MODULES, INPUT, Layer, ModelSpec

if TYPE_CHECKING:
    from ..modules.registry import ModuleSpec

#: A trailing comment that starts with a layer number: "# 9", "# 0-P1/2", "# 12: concat".
_INDEX_COMMENT = re.compile(r"^(#\s*)(\d+)(?=$|[\s\-:,(/.)\]])")

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

    def dump(self) -> str:
        """The edited YAML text; warns (in `warnings`) if the YAML library lost lines of the input."""
        text = self.spec.dump()
        lost = gap_lines(self.spec.text) - gap_lines(text) if self.spec.text is not None else 0
        if lost > 0:
            self.warnings.append(
                f"{lost} blank or comment line(s) of the input were dropped by the YAML parser "
                "(ruamel.yaml loses a gap line right above a row that has a trailing comment)"
            )
        return text

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
    if placement == "after":
        _check_insert_after(spec, target)
        index, new_from = target.index + 1, -1
        section, position = target.section, target.position + 1
    else:
        _check_insert_before(spec, target)
        index, new_from = target.index, target.from_
        section, position = target.section, target.position

    def shift(i: int) -> int:
        return i if i == INPUT or i < index else i + 1

    def rewire(layer: Layer, source: int) -> int | None:
        reads_target = source == target.index
        if (placement == "after" and reads_target) or (placement == "before" and layer is target):
            return index
        return None

    rewired = _rewrite_refs(spec, shift, rewire, reason=REASON_READS_NEW)
    row = _new_row(new_from, module_spec.yaml_name, row_args)
    comment = f"# {index} {module_spec.yaml_name} ({module_spec.name})"
    _insert_row(spec.section(section), position, row, comment, keep_gap_below=placement == "after")
    index_map = {layer.index: shift(layer.index) for layer in spec.layers}
    renumbered = _renumber_comments(spec, index_map)
    spec.refresh()
    return EditResult(
        spec=spec,
        action="insert",
        target=target.index,
        target_module=target.module,
        placement=placement,
        module=module_spec,
        new_index=index,
        row=_plain(row),
        index_map=index_map,
        rewired=rewired,
        inserted=[index],
        comments_renumbered=renumbered,
        default_output_name=output_name(_source_name(spec), module_spec.name),
    )


def remove_layer(spec: ModelSpec, target_spec: str | int) -> EditResult:
    """Remove the single-input layer a SPEC names; its consumers read its input. Edits `spec`."""
    target = resolve_layer(spec, str(target_spec))
    _check_remove(spec, target)
    removed = target.index
    source = target.sources[0]

    def shift(i: int) -> int:
        return i if i == INPUT or i < removed else i - 1

    def rewire(layer: Layer, read: int) -> int | None:
        return shift(source) if read == removed else None

    rewired = _rewrite_refs(spec, shift, rewire, reason=REASON_READS_INPUT, skip=target)
    row = _plain(target.row)
    _delete_row(spec, target)
    index_map = {layer.index: shift(layer.index) for layer in spec.layers if layer is not target}
    renumbered = _renumber_comments(spec, index_map)
    spec.refresh()
    return EditResult(
        spec=spec,
        action="remove",
        target=removed,
        target_module=target.module,
        placement="",
        removed_index=removed,
        row=row,
        index_map=index_map,
        rewired=rewired,
        comments_renumbered=renumbered,
        default_output_name=output_name(_source_name(spec), f"no{removed}"),
    )


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


def gap_lines(text: str) -> int:
    """Blank lines and full-line comments: an edit keeps their number, so a drop means a loss."""
    return sum(1 for line in text.splitlines() if not line.strip() or line.lstrip().startswith("#"))


def output_name(base_name: str, suffix: str, scale: str | None = None) -> str:
    """`<base name with scale>-<suffix>.yaml`; `scale` replaces or adds the letter of a yolo name.

    The scale letter must stay in the file name: ultralytics guesses the scale from it.
    """
    return f"{scaled_name(base_name, scale)}-{suffix}.yaml"


def parse_args_json(text: str) -> list[Any]:
    """Parse the `--args` option: a JSON list such as ``[2, 1]``."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EditError(f"--args {text!r} is not valid JSON: {exc.msg} (e.g. --args '[2, 1]')") from None
    if not isinstance(value, list):
        raise EditError(f"--args must be a JSON list such as [2, 1], got {text!r}")
    return value


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
    if len(spec.section(target.section)) == 1:
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
) -> list[Rewire]:
    """Rewrite every `from` of the spec's layers (except `skip`) for the edit; returns the changes.

    `shift(i)` maps an old index to its new one; `rewire(layer, source)` returns the new source
    for a read that the edit redirects, or None when the read keeps its layer.
    """
    changes: list[Rewire] = []
    for layer in spec.layers:
        if layer is skip:
            continue
        new_index = shift(layer.index)
        new_refs = []
        for ref, source in zip(layer.refs, layer.sources, strict=True):
            redirected = rewire(layer, source)
            new_source = shift(source) if redirected is None else redirected
            new_ref = _written_ref(ref, new_source, new_index)
            new_refs.append(new_ref)
            if new_ref != ref or redirected is not None:
                why = reason if redirected is not None else (REASON_SHIFTED if ref >= 0 else REASON_CROSSES)
                changes.append(Rewire(new_index, layer.index, layer.module, ref, new_ref, why))
        _write_refs(layer, new_refs)
    return changes


def _written_ref(old_ref: int, source: int, index: int) -> int:
    """The ref that reads `source` from layer `index`, in the style (absolute/relative) of old_ref."""
    if source == INPUT:
        return -1  # only layer 0 reads the image, and -1 is how it is written
    return source if old_ref >= 0 else source - index


def _write_refs(layer: Layer, refs: list[int]) -> None:
    """Store new refs in the live row, touching only entries that changed (keeps formatting)."""
    if layer.is_multi_input:
        seq = layer.row[0]
        for position, ref in enumerate(refs):
            if seq[position] != ref:
                seq[position] = ref
    elif layer.row[0] != refs[0]:
        layer.row[0] = refs[0]


# --- rows and comments ------------------------------------------------------------------------


def _flow(value: Any) -> Any:
    """A plain list as a flow-style CommentedSeq (recursively), so it stays on one line."""
    if isinstance(value, list):
        seq = CommentedSeq([_flow(item) for item in value])
        seq.fa.set_flow_style()
        return seq
    return value


def _new_row(from_: int | list[int], yaml_name: str, args: list[Any]) -> CommentedSeq:
    """A new layer row `[from, 1, Name, [args]]` in flow style."""
    return _flow([from_ if isinstance(from_, int) else list(from_), 1, yaml_name, list(args)])


def _plain(value: Any) -> Any:
    """Ruamel containers as plain lists/ints/strs (for the JSON report)."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def _shift_keys(mapping: dict[int, Any] | None, start: int, delta: int) -> None:
    """Move every integer key >= start by delta (ruamel's line/column records are not moved)."""
    if mapping is None:
        return
    moved = {key: mapping.pop(key) for key in sorted(k for k in mapping if isinstance(k, int) and k >= start)}
    for key, value in moved.items():
        mapping[key + delta] = value


def _comment_column(seq: CommentedSeq, position: int) -> int:
    """Column for a new row's comment (called before the insert): that of a neighbour's comment."""
    for near in (position - 1, position):
        entry = seq.ca.items.get(near)
        if entry and entry[0] is not None and entry[0].value.startswith("#"):
            return entry[0].column
    return 0


def _insert_row(
    seq: CommentedSeq, position: int, row: CommentedSeq, comment: str, *, keep_gap_below: bool
) -> None:
    """Insert a row with its own comment; blank lines and headers stay where they belong.

    With `keep_gap_below` (an --after insert), the gap that followed the row above (stored in that
    row's comment token) now follows the new row, which sits right under its source. Otherwise
    (--before) the header stored in front of the following row moves in front of the new row.
    """
    column = _comment_column(seq, position)
    seq.insert(position, row)  # ruamel moves later comment records down
    _shift_keys(seq.lc.data, position, 1)
    if seq.fa.flow_style():
        return  # a one-line `[[...], [...]]` section has no room for row comments
    tail, pre = "", None
    if keep_gap_below and position > 0:
        above = seq.ca.items.get(position - 1)
        if above and above[0] is not None:
            eol, newline, tail = above[0].value.partition("\n")
            above[0].value = eol + newline
    elif not keep_gap_below:
        below = seq.ca.items.get(position + 1)
        if below and below[1]:
            pre, below[1] = below[1], None
            _drop_if_empty(seq, position + 1)
    seq.ca.items[position] = [CommentToken(f"{comment}\n{tail}", CommentMark(column)), pre, None, None]


def _drop_if_empty(seq: CommentedSeq, position: int) -> None:
    """Forget a comment record that holds nothing any more."""
    entry = seq.ca.items.get(position)
    if entry is not None and all(part is None for part in entry):
        del seq.ca.items[position]


def _delete_row(spec: ModelSpec, target: Layer) -> None:
    """Delete a row; its trailing comment goes, the gaps around it are kept."""
    seq = spec.section(target.section)
    position = target.position
    entry = seq.ca.items.pop(position, None) or [None, None, None, None]
    del seq[position]  # ruamel moves later comment records up
    if seq.lc.data is not None:
        seq.lc.data.pop(position, None)
    _shift_keys(seq.lc.data, position + 1, -1)
    tail = ""
    if entry[0] is not None:
        _eol, _newline, tail = entry[0].value.partition("\n")
    pre = entry[1] or []
    if pre and not tail and position < len(seq):
        below = seq.ca.items.setdefault(position, [None, None, None, None])
        below[1] = [*pre, *(below[1] or [])]  # the removed row's header now heads the next row
        return
    gap = "".join(token.value for token in pre) + tail
    if not gap:
        return
    if position > 0:
        above = seq.ca.items.setdefault(position - 1, [None, None, None, None])
        if above[0] is None:
            above[0] = CommentToken("\n", CommentMark(0))  # no comment of its own: just the line end
        above[0].value += gap
    elif position < len(seq):
        below = seq.ca.items.setdefault(position, [None, None, None, None])
        below[1] = [CommentToken(gap, CommentMark(0)), *(below[1] or [])]


def _renumber_comments(spec: ModelSpec, index_map: dict[int, int]) -> int:
    """Give each moved row's index comment its new number; returns how many changed.

    Runs after the rows moved, while `spec.layers` still describes the old rows (old index ->
    the same live row objects), so each comment is found through its row's new position
    (found by identity: equal rows are common).
    """
    changed = 0
    positions = {
        name: {id(row): p for p, row in enumerate(spec.section(name))} for name in ("backbone", "head")
    }
    for layer in spec.layers:
        new_index = index_map.get(layer.index)
        if new_index is None or new_index == layer.index:
            continue
        seq = spec.section(layer.section)
        position = positions[layer.section].get(id(layer.row))
        entry = seq.ca.items.get(position) if position is not None else None
        if not entry or entry[0] is None:
            continue
        token = entry[0]
        match = _INDEX_COMMENT.match(token.value)
        if match and int(match.group(2)) == layer.index:
            token.value = f"{match.group(1)}{new_index}{token.value[match.end() :]}"
            changed += 1
    return changed


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
