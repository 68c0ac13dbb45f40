"""The checks of one model: top level, scales, sections, refs, module names, args, head, index comments."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from ...errors import (
    LayerReferenceError,
    LayerRowError,
)
from ...integration.names import PARSE_MODEL_LOCALS
from ...integration.roles import HEAD_MODULES, LIST_INPUT_MODULES, MULTI_INPUT_MODULES, SIDE_OUTPUT_MODULES
from ...modules.registry import find as find_registered
from ..layout import Patch, index_comment_digits, line_start
from ..reader import BOM, MappingNodes, mapping_nodes, mark_position
from ..rules import is_safe_activation
from ..spec import SECTIONS, Layer, check_refs, is_int, parse_row
from .codes import FileReport, Finding, clip
from .names import KnownNames

# Limits: far above any real model, far below what exhausts a machine.
MAX_REPEATS = 100  # bundled models use at most 9 (times a depth multiple <= 1.33)


MAX_CHANNELS = 8_192  # bundled models use at most 1,280; a 3x3 conv at 8,192 -> 8,192 is 2.4 GB


MAX_MULTIPLE = 16.0  # depth/width multiples; bundled ones are <= 1.5


MAX_CLASSES = 100_000


#: Modules that may be given a list `from`.
ACCEPTS_LIST = MULTI_INPUT_MODULES | LIST_INPUT_MODULES


#: Heads a model may end with.
END_MODULES = HEAD_MODULES


class Collector:
    """Collects findings for one file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.findings: list[Finding] = []

    def add(self, code: str, message: str, node_or_pos: Any = None, fix: Patch | None = None) -> None:
        if isinstance(node_or_pos, tuple):
            line, col = node_or_pos
        elif node_or_pos is not None:
            line, col = mark_position(node_or_pos.start_mark)
        else:
            line, col = 1, 1
        self.findings.append(Finding(self.path, line, col, code, clip(message), fix))


def _check_duplicate_keys(root: yaml.MappingNode, out: Collector) -> None:
    """A key written twice (two `head:` after a merge) loses the first value without a word."""
    seen: set[Any] = set()
    for key, _ in root.value:
        if not isinstance(key, yaml.ScalarNode):
            continue
        if key.value in seen:
            out.add("YC012", f"key {key.value!r} appears again; ultralytics keeps only this last one", key)
        seen.add(key.value)


def _check_top_level(data: dict[str, Any], nodes: MappingNodes, out: Collector) -> list[str]:
    """Types and bounds of the top-level keys; returns the scale letters."""

    def node(key: str) -> Any:
        return nodes[key][1] if key in nodes else None

    nc = data.get("nc")
    if "nc" in data and not (is_int(nc) and 1 <= nc <= MAX_CLASSES):
        out.add("YC011" if not is_int(nc) or nc < 1 else "YC033",
                f"nc must be an integer from 1 to {MAX_CLASSES:,}, got {nc!r}", node("nc"))
    for key in ("depth_multiple", "width_multiple"):
        if key in data:
            value = data[key]
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                out.add("YC011", f"{key} must be a positive number, got {value!r}", node(key))
            elif value > MAX_MULTIPLE:
                out.add("YC033", f"{key} {value} is above the limit {MAX_MULTIPLE}", node(key))
    activation = data.get("activation")
    if "activation" in data:
        _check_activation(activation, node("activation"), out)
    for key in ("ch", "reg_max"):
        if key in data and not (is_int(data[key]) and data[key] >= 1):
            out.add("YC011", f"{key} must be a positive integer, got {data[key]!r}", node(key))
    if "end2end" in data and not isinstance(data["end2end"], bool):
        out.add("YC011", f"end2end must be true or false, got {data['end2end']!r}", node("end2end"))
    if "kpt_shape" in data:
        kpt = data["kpt_shape"]
        if not (isinstance(kpt, list) and len(kpt) in (2, 3) and all(is_int(k) and k >= 1 for k in kpt)):
            out.add("YC011", f"kpt_shape must be [keypoints, dims] integers, got {kpt!r}", node("kpt_shape"))
    return _check_scales(data, node("scales"), node("scale"), out)


def _check_scales(data: dict[str, Any], scales_node: Any, scale_node: Any, out: Collector) -> list[str]:
    """`scales:` maps a letter to [depth, width, max_channels]; `scale:` must name one of them."""
    if "scales" not in data:
        return []
    scales = data["scales"]
    if not isinstance(scales, dict) or not scales:
        out.add("YC011", f"scales must map scale letters to [depth, width, max_channels], got {scales!r}",
                scales_node)
        return []
    entries = mapping_nodes(scales_node)
    letters: list[str] = []
    for letter, value in scales.items():
        where = entries[letter][1] if letter in entries else scales_node
        if not isinstance(letter, str) or not letter:
            out.add("YC011", f"scale name must be a letter such as n, s, m, got {letter!r}", where)
            continue
        letters.append(letter)
        numbers = value if isinstance(value, list) else []
        ok = len(numbers) == 3 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in numbers
        )
        if not ok:
            out.add("YC011", f"scale {letter!r} must be [depth, width, max_channels] positive numbers, "
                    f"got {value!r}", where)
        elif max(numbers[0], numbers[1]) > MAX_MULTIPLE:
            out.add("YC033", f"scale {letter!r}: depth/width multiple above the limit {MAX_MULTIPLE}", where)
    scale = data.get("scale")
    if "scale" in data and scale not in letters:
        out.add("YC011", f"scale {scale!r} is not one of the scales: {', '.join(letters)}", scale_node)
    return letters


def _check_activation(value: Any, node: Any, out: Collector) -> None:
    """`activation:` is eval()ed by ultralytics outside restricted mode: allow only nn.X(literals)."""
    if not isinstance(value, str):
        out.add("YC011", f"activation must be a string such as 'nn.SiLU()', got {value!r}", node)
        return
    if not is_safe_activation(value):
        out.add("YC040", f"activation {value!r} would be passed to eval() by ultralytics; "
                "write a torch.nn activation such as 'nn.SiLU()' or 'nn.LeakyReLU(0.1)'", node)


@dataclass
class Row:
    """A row that passed the shape check, with its nodes for positions."""

    layer: Layer
    node: yaml.SequenceNode


def _check_sections(data: dict[str, Any], nodes: MappingNodes, out: Collector) -> list[Row] | None:
    """Both sections present as lists of rows; returns the rows whose shape is right."""
    missing = [name for name in SECTIONS if name not in data]
    if missing:
        out.add("YC010", f"not a model YAML: missing {' and '.join(f'`{m}`' for m in missing)}")
        return None
    rows: list[Row] = []
    index = 0
    usable = True
    for name in SECTIONS:
        seq, seq_node = data[name], nodes[name][1]
        if not isinstance(seq, list):
            out.add("YC010", f"`{name}` must be a list of layer rows, got {type(seq).__name__}", seq_node)
            usable = False
            continue
        for position, (row, row_node) in enumerate(zip(seq, seq_node.value, strict=True)):
            line = row_node.start_mark.line + 1
            try:
                layer = parse_row(row, index=index, section=name, position=position, line=line)
                rows.append(Row(layer, row_node))
            except (LayerRowError, LayerReferenceError) as exc:
                out.add("YC021" if isinstance(exc, LayerReferenceError) else "YC020",
                        f"layer {index}: {exc.message}", row_node)
                usable = False
            index += 1
    if usable and index == 0:
        out.add("YC010", "the model has no layers", nodes["backbone"][1])
    return rows if usable and index else None


def _item_node(row: Row, item: int) -> yaml.Node:
    """Node of item `item` (0 from, 1 repeats, 2 module, 3 args) of a row."""
    node: yaml.Node = row.node.value[item]
    return node


def _check_refs(rows: list[Row], out: Collector) -> bool:
    """References point backwards and in range; list/single inputs fit the module."""
    ok = True
    for row in rows:
        layer = row.layer
        try:
            check_refs(layer)
        except LayerReferenceError as exc:
            out.add("YC021", f"layer {layer.index}: {exc.message}", _item_node(row, 0))
            ok = False
        module = layer.module
        if layer.is_multi_input and module not in ACCEPTS_LIST and len(layer.refs) > 1:
            out.add("YC022", f"layer {layer.index}: {module} takes one input, but `from` is a list "
                    f"{layer.refs}", _item_node(row, 0))
        elif not layer.is_multi_input and module in LIST_INPUT_MODULES:
            out.add("YC022", f"layer {layer.index}: {module} reads several inputs; `from` must be a list, "
                    f"got {layer.from_}", _item_node(row, 0))
    return ok


def _suggest(name: str, candidates: Iterable[str]) -> str:
    """A ' (did you mean X?)' hint for a misspelt module name, or ''."""
    pool = sorted(set(candidates))
    lowered = {c.lower(): c for c in pool}
    if name.lower() in lowered:
        return f" (did you mean {lowered[name.lower()]}?)"
    spec = find_registered(name)
    if spec is not None:
        return f" (did you mean {spec.yaml_name}? the YAML uses the class name)"
    close = difflib.get_close_matches(name, pool, n=3, cutoff=0.75)
    if not close:
        close = [lowered[c] for c in difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.75)]
    return f" (did you mean {', '.join(close)}?)" if close else ""


def _check_module_name(row: Row, names: KnownNames, out: Collector) -> str | None:
    """Resolve a row's module name the way parse_model would; returns its kind or None if unusable."""
    module = row.layer.module
    where = _item_node(row, 2)
    prefix = f"layer {row.layer.index}: "
    if module.startswith("nn."):
        if not names.torch_nn or module[3:] in names.torch_nn:
            return "torch"
        out.add("YC030", f"{prefix}{module} is not a torch.nn module class"
                f"{_suggest(module[3:], names.torch_nn)}", where)
        return None
    if module.startswith("torchvision.ops."):
        if not names.torchvision_ops or module[16:] in names.torchvision_ops:
            return "torch"
        out.add("YC030", f"{prefix}{module} is not a torchvision.ops module class", where)
        return None
    if module in names.ours:
        return "ours"
    if module in names.layers:
        return "ultralytics"
    if module in names.non_layers:
        out.add("YC031", f"{prefix}module {module!r} is {names.non_layers[module]}; "
                "ultralytics would call it with the row's args", where)
        return None
    out.add("YC030", f"{prefix}unknown module {module!r}{_suggest(module, [*names.layers, *names.ours])}"
            "; if it is yours, import the package that registers it", where)
    return None


def _check_args(row: Row, kind: str, names: KnownNames, out: Collector) -> None:
    """Args of our modules against their schema; channel and repeat sizes of every module."""
    layer = row.layer
    prefix = f"layer {layer.index}: "
    args_node = _item_node(row, 3)
    if layer.repeats > MAX_REPEATS:
        out.add("YC033", f"{prefix}repeats {layer.repeats:,} is above the limit {MAX_REPEATS}",
                _item_node(row, 1))
    if kind == "ultralytics" and layer.module in names.base_modules and layer.args:
        channels = layer.args[0]
        if is_int(channels) and not 1 <= channels <= MAX_CHANNELS:
            out.add("YC033", f"{prefix}{layer.module} output channels {channels:,} are outside "
                    f"1..{MAX_CHANNELS:,}", args_node.value[0])
    if layer.module == "TorchVision":
        _check_torchvision_weights(row, out)
    if kind != "ours":
        return
    spec = names.ours[layer.module]
    for position, problem in spec.arg_problems(list(layer.args), symbols=PARSE_MODEL_LOCALS):
        where = args_node if position is None else args_node.value[position]
        got = f": {list(layer.args)!r}" if position is None else ""
        out.add("YC032", f"{prefix}{layer.module} {problem}{got}", where)


#: Values of TorchVision's `weights` arg that load nothing.
_NO_WEIGHTS = (None, "", False, "None", "none", "null")


def _check_torchvision_weights(row: Row, out: Collector) -> None:
    """TorchVision(c2, model, weights="DEFAULT", ...) downloads and unpickles weights when built."""
    args = row.layer.args
    weights = args[2] if len(args) > 2 else "DEFAULT"
    if weights not in _NO_WEIGHTS:
        where = _item_node(row, 3).value[2] if len(args) > 2 else _item_node(row, 3)
        out.add("YC034", f"layer {row.layer.index}: TorchVision loads pretrained weights {weights!r} "
                "from the internet when built; the build tier will not build this file", where)


def _check_head_and_usage(rows: list[Row], out: Collector) -> None:
    """The last layer is a head; every other layer's output is read by someone."""
    last = rows[-1]
    if last.layer.module not in END_MODULES:
        out.add("YC023", f"layer {last.layer.index}: the last layer is {last.layer.module}, not a head "
                "such as Detect, Segment, Pose, OBB or Classify", _item_node(last, 2))
    used = {source for row in rows for source in row.layer.sources}
    for row in rows[:-1]:
        if row.layer.index not in used and row.layer.module not in SIDE_OUTPUT_MODULES:
            out.add("YC050", f"layer {row.layer.index} ({row.layer.module}): output is never used", row.node)


def _check_index_comments(rows: list[Row], text: str, out: Collector) -> None:
    """A row's index comment (``# N``, found as `insert` finds it) must say the row's index."""
    offset = 1 if text.startswith(BOM) else 0
    for row in rows:
        digits = index_comment_digits(text, row.node.end_mark.index + offset)
        if digits is None or digits[2] == row.layer.index:
            continue
        start, stop, number = digits
        column = start - line_start(text, start) + 1
        out.add("YC051", f"comment says layer {number}, but this row is layer {row.layer.index}",
                (row.node.end_mark.line + 1, column), Patch(start, stop, str(row.layer.index)))


def lint_model(data: dict[str, Any], root: yaml.MappingNode, text: str, names: KnownNames,
                report: FileReport, out: Collector) -> None:
    """Every check of a model document; records its scales and layer lines on the report."""
    nodes = mapping_nodes(root)
    _check_duplicate_keys(root, out)
    report.scales = _check_top_level(data, nodes, out)
    rows = _check_sections(data, nodes, out)
    if rows is None:
        return
    report.layer_lines = {row.layer.index: row.node.start_mark.line + 1 for row in rows}
    _check_refs(rows, out)
    kinds = [_check_module_name(row, names, out) for row in rows]
    for row, kind in zip(rows, kinds, strict=True):
        if kind is not None:
            _check_args(row, kind, names, out)
    _check_head_and_usage(rows, out)
    _check_index_comments(rows, text, out)
