"""Static checks of model YAMLs: every problem in a file, each with path, line, column and a code.

The lint tier never imports torch or ultralytics. It reads a file with the project's one reader
(:mod:`.reader`), the way ultralytics reads it — PyYAML's ``CSafeLoader``, so YAML 1.1 booleans,
octals and the "last duplicate key wins" rule are what the linter sees too — with tags, anchors
and sizes checked on the node graph before any value is constructed.

Ultralytics' own module names come from its installed ``nn/tasks.py``, read with :mod:`ast`:
a YAML module name is looked up in that file's globals by ``parse_model``, so a name is a layer
only when it is a class imported from ``ultralytics.nn.modules`` (checked against the class
definitions there). Any other global (``torch_load``, ``yaml_model_load``, ``DetectionModel``)
would be *called* with the row's args: such names are errors here, before anything is built.

Findings never stop at the first problem (unlike :class:`~.spec.ModelSpec`); every code is listed
in :data:`CODES` and documented in the README. ``--fix`` rewrites stale ``# N`` index comments
only, by editing the text of the comment in place.
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

import yaml

from ..errors import (
    ComposeError,
    LayerReferenceError,
    LayerRowError,
    UnsafeYamlError,
    YamlExpansionError,
    YamlSyntaxError,
)
from ..modules.registry import ModuleSpec, yaml_names
from ..modules.registry import find as find_registered
from .bases import ultralytics_root
from .files import STDIN, STDIN_NAME, read_input, write_output
from .layout import Patch, apply_patches, index_comment_digits, line_start
from .provenance import provenance_drift
from .reader import BOM, MappingNodes, check_graph, compose_all, construct, mapping_nodes, mark_position
from .rules import is_safe_activation
from .spec import HEAD_MODULES, MULTI_INPUT_MODULES, SECTIONS, Layer, check_refs, is_int, parse_row
from .templates import find_template

# Limits: far above any real model, far below what exhausts a machine.
MAX_REPEATS = 100  # bundled models use at most 9 (times a depth multiple <= 1.33)
MAX_CHANNELS = 8_192  # bundled models use at most 1,280; a 3x3 conv at 8,192 -> 8,192 is 2.4 GB
MAX_MULTIPLE = 16.0  # depth/width multiples; bundled ones are <= 1.5
MAX_CLASSES = 100_000
MAX_MESSAGE = 300  # characters; values quoted from the file are cut, never the location or code

#: Strings ``parse_model`` resolves from its own locals before ``ast.literal_eval``.
PARSE_MODEL_LOCALS = frozenset({"nc", "c2", "ch", "f", "width", "depth", "max_channels", "kpt_shape"})

#: Modules whose `from` must be a list (they read several feature maps).
LIST_INPUT_MODULES = (MULTI_INPUT_MODULES & HEAD_MODULES) | {"Concat", "CBFuse", "ImagePoolingAttn"}
#: Modules that may be given a list `from`.
ACCEPTS_LIST = MULTI_INPUT_MODULES | LIST_INPUT_MODULES
#: Modules whose output reaches the model outside the `from` graph (WorldModel feeds
#: ImagePoolingAttn's output to the head as text features), so "never used" does not apply.
SIDE_OUTPUT_MODULES = frozenset({"ImagePoolingAttn"})
#: Heads a model may end with.
END_MODULES = HEAD_MODULES



class Severity(str, Enum):
    """How bad a finding is: errors fail the check, warnings only with --strict."""

    error = "error"
    warning = "warning"


@dataclass(frozen=True)
class Code:
    """One documented finding code."""

    code: str
    severity: Severity
    title: str


_E, _W = Severity.error, Severity.warning
CODES: dict[str, Code] = {
    c.code: c
    for c in (
        Code("YC001", _E, "file cannot be read as YAML text (missing, binary, not UTF-8, too large)"),
        Code("YC002", _E, "YAML syntax error"),
        Code("YC003", _E, "YAML tag that could construct Python objects, or an unknown tag"),
        Code("YC004", _E, "anchors/aliases expand too far (alias bomb) or refer to themselves"),
        Code("YC010", _E, "not a usable model: empty, `backbone`/`head` missing or not lists, no layers"),
        Code("YC011", _E, "a top-level key has the wrong type or value (nc, scales, multiples, ...)"),
        Code("YC012", _E, "a top-level key appears twice: the last one silently wins, as in ultralytics"),
        Code("YC020", _E, "layer row is not [from, repeats, module, args] with the right types"),
        Code("YC021", _E, "`from` points forward, out of range, or at the input image"),
        Code("YC022", _E, "single-input module given a list `from`, or Concat/head given one ref"),
        Code("YC023", _E, "the last layer is not a head (Detect, Segment, Classify, ...)"),
        Code("YC030", _E, "unknown module name (with did-you-mean)"),
        Code("YC031", _E, "module name is a non-layer global of ultralytics.nn.tasks (it would be called)"),
        Code("YC032", _E, "args do not match the module's schema"),
        Code("YC033", _E, "size out of bounds: repeats, channels, multiples, nc or layers too many"),
        Code("YC034", _W, "a TorchVision layer downloads pretrained weights when built (a build refuses it)"),
        Code("YC040", _E, "`activation:` is not a plain nn.Activation(...) call; ultralytics eval()s it"),
        Code("YC050", _W, "a layer's output is never used"),
        Code("YC051", _W, "a `# N` index comment disagrees with the layer's index (fixable)"),
        Code("YC060", _E, "build failed (build tier)"),
        Code("YC061", _E, "forward pass failed at a size (build tier)"),
        Code("YC062", _E, "build exceeded its time or memory limit (build tier)"),
        Code("YC063", _E, "not built: building would download or load a checkpoint (build tier)"),
        Code("YC070", _E, "the first line names a command or recipe that no longer makes this file (drift)"),
    )
}


@dataclass(frozen=True)
class Finding:
    """One problem at one place in one file."""

    path: str
    line: int  # 1-based; 1 when the problem concerns the whole file
    col: int  # 1-based
    code: str
    message: str
    fix: Patch | None = None  # the text edit that fixes it, where one does

    @property
    def severity(self) -> Severity:
        """The severity documented for this finding's code."""
        return CODES[self.code].severity


class FindingCounts:
    """Errors and warnings of anything that holds a `findings` list (one file, or a whole run)."""

    if TYPE_CHECKING:  # a subclass holds them as a field (FileReport) or computes them

        @property
        def findings(self) -> list[Finding]: ...

    @property
    def errors(self) -> list[Finding]:
        """Findings of error severity."""
        return [f for f in self.findings if f.severity is Severity.error]

    @property
    def warnings(self) -> list[Finding]:
        """Findings of warning severity."""
        return [f for f in self.findings if f.severity is Severity.warning]


@dataclass
class FileReport(FindingCounts):
    """Every finding of one file, plus what the build tier needs to know about it."""

    path: str
    is_model: bool = True
    findings: list[Finding] = field(default_factory=list)
    text: str | None = None
    scales: list[str] = field(default_factory=list)  # keys of `scales:` in file order
    layer_lines: dict[int, int] = field(default_factory=dict)  # layer index -> 1-based line
    from_stdin: bool = False  # read from '-': --fix has no file to rewrite


# --- names ultralytics knows, read from its source ---------------------------------------------


@dataclass(frozen=True)
class KnownNames:
    """Module names a YAML row may use, and globals it must not."""

    layers: frozenset[str]  # ultralytics layer classes found by parse_model's globals() lookup
    base_modules: frozenset[str]  # layers whose first arg is an output channel count
    non_layers: dict[str, str]  # other globals of ultralytics.nn.tasks -> what they are
    torch_nn: frozenset[str]  # nn.X names that are torch.nn Module classes
    torchvision_ops: frozenset[str]  # torchvision.ops.X names that are classes
    ours: dict[str, ModuleSpec]  # YAML names of registered attention modules


def _parse_source(path: Path) -> ast.Module | None:
    """Parse a Python file without executing it; None when it is missing or unreadable."""
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None


def _package_dir(name: str) -> Path | None:
    """Folder of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _all_list(tree: ast.Module | None) -> set[str]:
    """The string entries of a module's ``__all__`` list (empty when absent)."""
    if tree is None:
        return set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ) and isinstance(node.value, (ast.List, ast.Tuple)):
            elts = node.value.elts
            return {e.value for e in elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return set()


def _tasks_globals(tree: ast.Module) -> dict[str, tuple[str, str]]:
    """Every global a ``globals()[name]`` lookup can find in tasks.py: name -> (kind, origin)."""
    names: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                names[alias.asname or alias.name] = ("import", node.module or "")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = ("module", alias.name)
        elif isinstance(node, ast.ClassDef):
            names[node.name] = ("class", "ultralytics.nn.tasks")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names[node.name] = ("function", "ultralytics.nn.tasks")
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = ("variable", "ultralytics.nn.tasks")
    return names


def _base_modules(tree: ast.Module) -> set[str]:
    """Names in ``parse_model``'s ``base_modules`` set: layers given (c1, c2, ...) channel args."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "parse_model":
            for inner in ast.walk(node):
                if (
                    isinstance(inner, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "base_modules" for t in inner.targets)
                ):
                    return {n.id for n in ast.walk(inner.value) if isinstance(n, ast.Name)} - {"frozenset"}
    return set()


_CLASS_LINE = re.compile(r"^class\s+(\w+)", re.MULTILINE)


def _ultralytics_module_classes(root: Path) -> set[str]:
    """Top-level classes of ``ultralytics/nn/modules/*.py`` (each an nn.Module), by a line scan.

    A regex over ``class Name`` lines gives the same set as :mod:`ast` here and is 25× faster.
    """
    classes: set[str] = set()
    for path in sorted((root / "nn" / "modules").glob("*.py")):
        try:
            classes.update(_CLASS_LINE.findall(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError):
            continue
    return classes


def _describe(kind: str, origin: str) -> str:
    """Human words for a non-layer global of tasks.py."""
    if kind == "class" and origin == "ultralytics.nn.tasks":
        return "a model or helper class of ultralytics.nn.tasks, not a layer"
    if kind == "function":
        return "a function of ultralytics.nn.tasks, not a layer"
    if kind == "module":
        return f"the Python module {origin!r} imported by ultralytics.nn.tasks, not a layer"
    return "a variable of ultralytics.nn.tasks, not a layer"


@lru_cache(maxsize=1)
def ultralytics_names() -> tuple[frozenset[str], frozenset[str], dict[str, str]]:
    """(layers, base_modules, non-layer globals) of the installed ultralytics, read with ``ast``."""
    root = ultralytics_root()
    tree = _parse_source(root / "nn" / "tasks.py") if root is not None else None
    if root is None or tree is None:
        return frozenset(), frozenset(), {}
    module_classes = _ultralytics_module_classes(root)
    layers: set[str] = set()
    non_layers: dict[str, str] = {}
    for name, (kind, origin) in _tasks_globals(tree).items():
        if kind == "import" and origin.startswith("ultralytics.nn.modules") and name in module_classes:
            layers.add(name)
        elif kind == "import":
            non_layers[name] = f"imported by ultralytics.nn.tasks from {origin}, not a layer"
        else:
            non_layers[name] = _describe(kind, origin)
    return frozenset(layers), frozenset(_base_modules(tree) & layers), non_layers


@lru_cache(maxsize=1)
def _torch_names() -> tuple[frozenset[str], frozenset[str]]:
    """Module classes under ``nn.`` and ``torchvision.ops.`` read from installed sources."""
    torch_dir = _package_dir("torch")
    nn_names = _all_list(_parse_source(torch_dir / "nn" / "modules" / "__init__.py")) if torch_dir else set()
    tv_dir = _package_dir("torchvision")
    ops = _all_list(_parse_source(tv_dir / "ops" / "__init__.py")) if tv_dir else set()
    return frozenset(nn_names), frozenset(n for n in ops if n[:1].isupper())


def known_names() -> KnownNames:
    """Everything a module name may resolve to now (call after ``--import`` modules are imported)."""
    layers, base, non_layers = ultralytics_names()
    torch_nn, tv_ops = _torch_names()
    return KnownNames(layers, base, non_layers, torch_nn, tv_ops, yaml_names())


# --- reading the node graph ---------------------------------------------------------------------


class _Stop(Exception):
    """A file-level problem after which no further check of the file makes sense."""

    def __init__(self, code: str, message: str, line: int = 1, col: int = 1) -> None:
        super().__init__(message)
        self.code, self.message, self.line, self.col = code, message, line, col


#: The finding code of each problem the reader refuses a text for.
_READ_CODES = ((UnsafeYamlError, "YC003"), (YamlExpansionError, "YC004"), (YamlSyntaxError, "YC002"))


def _stop(exc: YamlSyntaxError) -> _Stop:
    code = next(code for kind, code in _READ_CODES if isinstance(exc, kind))
    return _Stop(code, exc.message, exc.line or 1, exc.column or 1)


def _looks_like_model(root: yaml.Node) -> TypeGuard[yaml.MappingNode]:
    """A model YAML is a mapping with a `backbone` or a `head` key; any other YAML is not ours."""
    return isinstance(root, yaml.MappingNode) and any(
        isinstance(key, yaml.ScalarNode) and key.value in SECTIONS for key, _ in root.value
    )


def _read_model(text: str) -> tuple[Any, yaml.MappingNode] | None:
    """The model's values and root node, or None for a YAML that is not a model.

    The node graph is checked (tags, aliases) by the project's one reader before any value is
    constructed, and only for a model: other YAML files (CI configs, CloudFormation with ``!Ref``,
    several documents) pass.
    """
    try:
        roots = compose_all(text)
        if not roots:
            raise _Stop("YC010", "empty file: not a model YAML")
        models = [root for root in roots if _looks_like_model(root)]
        if not models:
            return None
        if len(roots) > 1:
            raise _Stop("YC010", f"{len(roots)} YAML documents in one file; a model YAML is one document",
                        *mark_position(models[0].start_mark))
        check_graph(models[0])
        return construct(models[0]), models[0]
    except YamlSyntaxError as exc:
        raise _stop(exc) from None


# --- checks ---------------------------------------------------------------------------------------


def clip(message: str) -> str:
    """A message cut to :data:`MAX_MESSAGE` characters: a finding stays one readable line."""
    message = " ".join(message.split())
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 3] + "..."


class _Collector:
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


def _check_duplicate_keys(root: yaml.MappingNode, out: _Collector) -> None:
    """A key written twice (two `head:` after a merge) loses the first value without a word."""
    seen: set[Any] = set()
    for key, _ in root.value:
        if not isinstance(key, yaml.ScalarNode):
            continue
        if key.value in seen:
            out.add("YC012", f"key {key.value!r} appears again; ultralytics keeps only this last one", key)
        seen.add(key.value)


def _check_top_level(data: dict[str, Any], nodes: MappingNodes, out: _Collector) -> list[str]:
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


def _check_scales(data: dict[str, Any], scales_node: Any, scale_node: Any, out: _Collector) -> list[str]:
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


def _check_activation(value: Any, node: Any, out: _Collector) -> None:
    """`activation:` is eval()ed by ultralytics outside restricted mode: allow only nn.X(literals)."""
    if not isinstance(value, str):
        out.add("YC011", f"activation must be a string such as 'nn.SiLU()', got {value!r}", node)
        return
    if not is_safe_activation(value):
        out.add("YC040", f"activation {value!r} would be passed to eval() by ultralytics; "
                "write a torch.nn activation such as 'nn.SiLU()' or 'nn.LeakyReLU(0.1)'", node)


@dataclass
class _Row:
    """A row that passed the shape check, with its nodes for positions."""

    layer: Layer
    node: yaml.SequenceNode


def _check_sections(data: dict[str, Any], nodes: MappingNodes, out: _Collector) -> list[_Row] | None:
    """Both sections present as lists of rows; returns the rows whose shape is right."""
    missing = [name for name in SECTIONS if name not in data]
    if missing:
        out.add("YC010", f"not a model YAML: missing {' and '.join(f'`{m}`' for m in missing)}")
        return None
    rows: list[_Row] = []
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
                rows.append(_Row(layer, row_node))
            except (LayerRowError, LayerReferenceError) as exc:
                out.add("YC021" if isinstance(exc, LayerReferenceError) else "YC020",
                        f"layer {index}: {exc.message}", row_node)
                usable = False
            index += 1
    if usable and index == 0:
        out.add("YC010", "the model has no layers", nodes["backbone"][1])
    return rows if usable and index else None


def _item_node(row: _Row, item: int) -> yaml.Node:
    """Node of item `item` (0 from, 1 repeats, 2 module, 3 args) of a row."""
    node: yaml.Node = row.node.value[item]
    return node


def _check_refs(rows: list[_Row], out: _Collector) -> bool:
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


def _check_module_name(row: _Row, names: KnownNames, out: _Collector) -> str | None:
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


def _check_args(row: _Row, kind: str, names: KnownNames, out: _Collector) -> None:
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


def _check_torchvision_weights(row: _Row, out: _Collector) -> None:
    """TorchVision(c2, model, weights="DEFAULT", ...) downloads and unpickles weights when built."""
    args = row.layer.args
    weights = args[2] if len(args) > 2 else "DEFAULT"
    if weights not in _NO_WEIGHTS:
        where = _item_node(row, 3).value[2] if len(args) > 2 else _item_node(row, 3)
        out.add("YC034", f"layer {row.layer.index}: TorchVision loads pretrained weights {weights!r} "
                "from the internet when built; the build tier will not build this file", where)


def _check_head_and_usage(rows: list[_Row], out: _Collector) -> None:
    """The last layer is a head; every other layer's output is read by someone."""
    last = rows[-1]
    if last.layer.module not in END_MODULES:
        out.add("YC023", f"layer {last.layer.index}: the last layer is {last.layer.module}, not a head "
                "such as Detect, Segment, Pose, OBB or Classify", _item_node(last, 2))
    used = {source for row in rows for source in row.layer.sources}
    for row in rows[:-1]:
        if row.layer.index not in used and row.layer.module not in SIDE_OUTPUT_MODULES:
            out.add("YC050", f"layer {row.layer.index} ({row.layer.module}): output is never used", row.node)


def _check_index_comments(rows: list[_Row], text: str, out: _Collector) -> None:
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


def _lint_model(data: dict[str, Any], root: yaml.MappingNode, text: str, names: KnownNames,
                report: FileReport, out: _Collector) -> None:
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


# --- entry points -------------------------------------------------------------------------------------


def lint_text(text: str, path: str = "<text>", names: KnownNames | None = None) -> FileReport:
    """Every finding of one YAML text; a YAML that is not a model comes back with is_model False."""
    names = names or known_names()
    out = _Collector(path)
    report = FileReport(path, text=text)
    try:
        model = _read_model(text)
    except _Stop as stop:
        out.add(stop.code, stop.message, (stop.line, stop.col))
        report.findings = out.findings
        return report
    if model is None:
        report.is_model = False
        return report
    _lint_model(*model, text, names, report, out)
    _check_provenance(text, path, out)
    report.findings = sorted(out.findings, key=lambda f: (f.line, f.col))
    return report


def _check_provenance(text: str, path: str, out: _Collector) -> None:
    """A file whose first line names what made it must still be what that makes (YC070)."""
    drift = provenance_drift(text, path, find_template=find_template)
    if drift is not None:
        out.add("YC070", drift[1], (drift[0], 1))


def lint_file(path: str | Path, names: KnownNames | None = None) -> FileReport:
    """Read and lint one file (``-``: stdin); read problems become a YC001 finding."""
    from_stdin = str(path) == STDIN
    shown = STDIN_NAME if from_stdin else str(path)
    try:
        text, shown = read_input(str(path))
    except ComposeError as exc:
        return FileReport(shown, findings=[Finding(shown, exc.line or 1, 1, "YC001", exc.message)])
    report = lint_text(text, shown, names)
    report.from_stdin = from_stdin
    return report


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; a folder stands for the ``*.yaml``/``*.yml`` files under it, sorted."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()))
        else:
            files.append(path)
    return files


def lint_paths(paths: Iterable[str | Path]) -> list[FileReport]:
    """Lint several files (folders expanded) with one set of known names; --import modules first."""
    names = known_names()
    return [lint_file(path, names) for path in expand_paths(paths)]


def fix_file(report: FileReport) -> int:
    """Rewrite the fixable findings of a linted file in place (atomically); returns how many."""
    fixes = [f.fix for f in report.findings if f.fix is not None]
    if not fixes or report.text is None or report.from_stdin:
        return 0
    write_output(report.path, apply_patches(report.text, fixes), force=True)
    report.findings = [f for f in report.findings if f.fix is None]
    return len(fixes)
