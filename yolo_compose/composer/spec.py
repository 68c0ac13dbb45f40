"""The model spec: an ultralytics model YAML as read (text, nodes, values) plus a typed view of its layers.

A layer row is ``[from, repeats, module, args]``. Backbone and head form one index space:
layer ``i`` of the head has global index ``len(backbone) + i``. A ``from`` entry is either an
absolute index (``>= 0``) or a relative one (``< 0``) counted back from the current layer, exactly
as ultralytics' ``BaseModel._predict_once`` reads it (``y[j]`` on the list of earlier outputs).
``-1`` at layer 0 is the input image, written :data:`INPUT` here.

:class:`ModelSpec` keeps the text exactly as read and the nodes :mod:`.reader` composed from it,
so an edit can patch the text at the nodes' positions (:mod:`.edit`); :class:`Layer` objects are
a read-only view, made anew each time the text changes (:meth:`ModelSpec.replace_text`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

import yaml

from ..errors import LayerReferenceError, LayerRowError, Location, NotAModelError
from .files import read_input
from .reader import Document, mapping_nodes, read_document

SECTIONS = ("backbone", "head")
INPUT = -1  # absolute "index" of the network input, the source of layer 0's -1

def is_int(value: Any) -> TypeGuard[int]:
    """True for a YAML integer (bool is an int subclass in Python, but not a layer index)."""
    return isinstance(value, int) and not isinstance(value, bool)


def absolute_source(ref: int, index: int) -> int:
    """The absolute layer a `from` entry of layer `index` reads (INPUT for the image)."""
    return ref if ref >= 0 else max(index + ref, INPUT)


@dataclass(frozen=True)
class Layer:
    """One row of the model, with its global index and where it sits in the file."""

    index: int
    section: str
    position: int  # index within its section
    line: int | None  # 1-based line of the row in the source text
    from_: int | list[int]
    repeats: Any
    module: str
    args: Any
    row: Any  # the row as plain values, [from, repeats, module, args]
    node: yaml.Node | None = None  # the row's node: its marks locate it in the text

    @property
    def row_node(self) -> yaml.SequenceNode:
        """The row's node, for edits that patch the text; every layer of a ModelSpec has one."""
        if not isinstance(self.node, yaml.SequenceNode):
            raise ValueError(f"layer {self.index} was not read from a model text")
        return self.node

    @property
    def refs(self) -> list[int]:
        """The `from` entries as written, always as a list."""
        return list(self.from_) if isinstance(self.from_, list) else [self.from_]

    @property
    def sources(self) -> list[int]:
        """Absolute indices of the layers this one reads (INPUT for the image)."""
        return [absolute_source(ref, self.index) for ref in self.refs]

    @property
    def is_multi_input(self) -> bool:
        """True when `from` is a list (Concat, Detect, ... or any module given a list)."""
        return isinstance(self.from_, list)


def parse_row(
    row: Any, *, index: int, section: str, position: int, line: int | None, node: yaml.Node | None = None
) -> Layer:
    """Check one row's shape and types and return it as a Layer; errors name the layer."""
    where: Location = {"line": line, "layer": index}
    if not isinstance(row, list) or len(row) != 4:
        shown = f"{len(row)} items" if isinstance(row, list) else type(row).__name__
        raise LayerRowError(
            f"row must be [from, repeats, module, args], got {shown}", **where
        )
    from_, repeats, module, args = row
    if isinstance(from_, list):
        if not from_:
            raise LayerReferenceError("`from` is an empty list: the layer has no inputs", **where)
        if not all(is_int(ref) for ref in from_):
            raise LayerRowError(f"`from` must hold integers, got {list(from_)!r}", **where)
        from_ = list(from_)
    elif not is_int(from_):
        raise LayerRowError(f"`from` must be an integer or a list of integers, got {from_!r}", **where)
    if not isinstance(module, str) or not module:
        raise LayerRowError(f"module must be a name, got {module!r}", **where)
    if not (is_int(repeats) and repeats >= 1):
        raise LayerRowError(f"repeats must be an integer >= 1, got {repeats!r}", **where)
    if not isinstance(args, list):
        raise LayerRowError(f"args must be a list, got {args!r}", **where)
    return Layer(index, section, position, line, from_, repeats, module, args, row, node)


def check_refs(layer: Layer) -> None:
    """Every ref must point backwards to an existing layer (or the image, for layer 0)."""
    for ref, source in zip(layer.refs, layer.sources, strict=True):
        if ref >= layer.index:
            raise LayerReferenceError(
                f"`from` {ref} points forward: a layer can read only earlier layers",
                line=layer.line,
                layer=layer.index,
            )
        if ref < 0 and layer.index + ref < INPUT:
            raise LayerReferenceError(
                f"`from` {ref} reaches before the first layer", line=layer.line, layer=layer.index
            )
        if source == INPUT and layer.index != 0:
            raise LayerReferenceError(
                f"`from` {ref} reads the input image; only layer 0 may", line=layer.line, layer=layer.index
            )


def _shared_nodes(roots: list[yaml.Node]) -> bool:
    """True when a node under `roots` is reached twice (a YAML alias), so one patch would edit two places."""
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            return True
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            stack.extend(item for pair in node.value for item in pair)
    return False


class ModelSpec:
    """A loaded model YAML: its text and nodes (:class:`~.reader.Document`), source and layers."""

    def __init__(self, document: Document, *, source: str | Path | None = None) -> None:
        self.source = str(source) if source is not None else None
        self._read(document)

    @classmethod
    def from_text(cls, text: str, source: str | Path | None = None) -> ModelSpec:
        """Read YAML text into a spec, checking the layer rows and references."""
        return cls(read_document(text, str(source) if source is not None else None), source=source)

    @classmethod
    def load(cls, path: str | Path) -> ModelSpec:
        """Read and parse a model YAML file."""
        text, _shown = read_input(str(path))
        return cls.from_text(text, source=path)

    def replace_text(self, text: str) -> None:
        """Take `text` (an edit of this spec's text) as the spec's content, read and checked anew."""
        self._read(read_document(text, self.source))

    def _read(self, document: Document) -> None:
        self.document = document
        self.text = document.text
        self.doc = document.data
        self.nodes = mapping_nodes(document.root)
        self.layers = self._layers()
        self.aliased = document.aliased and _shared_nodes([self.nodes[name][1] for name in SECTIONS])

    def _layers(self) -> list[Layer]:
        """The Layer view of the document; raises on a malformed model."""
        doc = self.doc
        if not isinstance(doc, dict):
            raise NotAModelError(
                "not a model YAML: expected a mapping with `backbone` and `head` lists", path=self.source
            )
        missing = [name for name in SECTIONS if name not in doc or name not in self.nodes]
        if missing:
            raise NotAModelError(
                f"not a model YAML: missing {' and '.join(f'`{m}`' for m in missing)}", path=self.source
            )
        layers: list[Layer] = []
        try:
            for name in SECTIONS:
                seq, node = doc[name], self.nodes[name][1]
                if not isinstance(seq, list):
                    raise NotAModelError(f"`{name}` must be a list of layer rows, got {type(seq).__name__}",
                                         line=node.start_mark.line + 1)
                for position, (row, row_node) in enumerate(zip(seq, node.value, strict=True)):
                    layer = parse_row(row, index=len(layers), section=name, position=position,
                                      line=row_node.start_mark.line + 1, node=row_node)
                    layers.append(layer)
            if not layers:
                raise NotAModelError("the model has no layers")
            for layer in layers:
                check_refs(layer)
        except (NotAModelError, LayerRowError, LayerReferenceError) as exc:
            raise exc.located(self.source) from None
        return layers

    def section_node(self, name: str) -> yaml.SequenceNode:
        """The node of a section ('backbone' or 'head'); reading the spec checked it is a list."""
        node = self.nodes[name][1]
        if not isinstance(node, yaml.SequenceNode):
            raise ValueError(f"`{name}` is not a sequence node")
        return node

    def span(self, node: yaml.Node) -> tuple[int, int]:
        """(start, end) of a node in :attr:`text`."""
        return self.document.span(node)

    def key_line(self, *path: str) -> int | None:
        """1-based line of a top-level key (``key_line("nc")``) or of a key one level down
        (``key_line("scales", "n")``); None when absent."""
        nodes = self.nodes
        for depth, key in enumerate(path):
            if key not in nodes:
                return None
            key_node, value_node = nodes[key]
            if depth == len(path) - 1:
                return key_node.start_mark.line + 1
            nodes = mapping_nodes(value_node)
        return None

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    @property
    def backbone_length(self) -> int:
        """Number of layers in the backbone (the head's first global index)."""
        return len(self.doc["backbone"])

    @property
    def scales(self) -> dict[str, list[Any]]:
        """The `scales:` mapping (empty when the model uses depth/width multiples)."""
        scales = self.doc.get("scales")
        return dict(scales) if isinstance(scales, dict) else {}

    def consumers(self, index: int) -> list[Layer]:
        """Layers that read the output of layer `index`."""
        return [layer for layer in self.layers if index in layer.sources]

    def edges(self) -> set[tuple[int, int]]:
        """The dataflow graph as (source, consumer) pairs of absolute indices."""
        return {(source, layer.index) for layer in self.layers for source in layer.sources}

    def dump(self) -> str:
        """The spec's text: the input's bytes, with the edits made to it."""
        return self.text
