"""The model spec: an ultralytics model YAML as a round-trip document plus a typed view of its layers.

A layer row is ``[from, repeats, module, args]``. Backbone and head form one index space:
layer ``i`` of the head has global index ``len(backbone) + i``. A ``from`` entry is either an
absolute index (``>= 0``) or a relative one (``< 0``) counted back from the current layer, exactly
as ultralytics' ``BaseModel._predict_once`` reads it (``y[j]`` on the list of earlier outputs).
``-1`` at layer 0 is the input image, written :data:`INPUT` here.

:class:`ModelSpec` keeps the ruamel document (comments, blank lines, flow style, quotes) so an
unchanged spec dumps back to the same bytes; :class:`Layer` objects are a read-only view that is
rebuilt with :meth:`ModelSpec.refresh` after an edit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import LayerReferenceError, LayerRowError, NotAModelError
from .files import read_input
from .yamlio import dump_text, parse_text

SECTIONS = ("backbone", "head")
INPUT = -1  # absolute "index" of the network input, the source of layer 0's -1

#: Head modules: the model's outputs. Nothing may be inserted after one, and none is removed.
HEAD_MODULES = frozenset(
    {
        "Detect",
        "Segment",
        "Segment26",
        "Pose",
        "Pose26",
        "OBB",
        "OBB26",
        "v10Detect",
        "WorldDetect",
        "YOLOEDetect",
        "YOLOESegment",
        "YOLOESegment26",
        "RTDETRDecoder",
        "SemanticSegment",
        "Depth",
        "Classify",
    }
)

#: Modules that take several inputs by design: every head but Classify, plus the fusing layers.
#: Any other module with a list `from` is treated the same way, by its refs, but these are also
#: *expected* to have list inputs.
MULTI_INPUT_MODULES = (HEAD_MODULES - {"Classify"}) | {
    "Concat",
    "ImagePoolingAttn",
    "Index",
    "TorchVision",
    "CBFuse",
    "CBLinear",
}


def is_int(value: Any) -> bool:
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
    row: Any  # the live ruamel CommentedSeq

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


def _row_line(seq: Any, position: int) -> int | None:
    """1-based line of item `position` of a ruamel sequence, if ruamel recorded it."""
    try:
        return seq.lc.item(position)[0] + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return None


def parse_row(row: Any, *, index: int, section: str, position: int, line: int | None) -> Layer:
    """Check one row's shape and types and return it as a Layer; errors name the layer."""
    where = {"line": line, "layer": index}
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
    return Layer(index, section, position, line, from_, repeats, module, args, row)


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


class ModelSpec:
    """A loaded model YAML: the round-trip document, its source, and a typed view of its layers."""

    def __init__(self, doc: Any, *, source: str | Path | None = None, text: str | None = None) -> None:
        self.doc = doc
        self.source = str(source) if source is not None else None
        self.text = text
        self.layers: list[Layer] = []
        self.refresh()

    @classmethod
    def from_text(cls, text: str, source: str | Path | None = None) -> ModelSpec:
        """Parse YAML text into a spec, checking the layer rows and references."""
        return cls(parse_text(text, source), source=source, text=text)

    @classmethod
    def load(cls, path: str | Path) -> ModelSpec:
        """Read and parse a model YAML file."""
        text, _shown = read_input(str(path))
        return cls.from_text(text, source=path)

    def section(self, name: str) -> Any:
        """The live ruamel sequence of a section ('backbone' or 'head')."""
        return self.doc[name]

    def refresh(self) -> None:
        """Rebuild the Layer view from the document; raises on a malformed model."""
        doc = self.doc
        if not isinstance(doc, dict):
            raise NotAModelError(
                "not a model YAML: expected a mapping with `backbone` and `head` lists", path=self.source
            )
        missing = [name for name in SECTIONS if name not in doc]
        if missing:
            raise NotAModelError(
                f"not a model YAML: missing {' and '.join(f'`{m}`' for m in missing)}", path=self.source
            )
        layers: list[Layer] = []
        try:
            for name in SECTIONS:
                seq = doc[name]
                if not isinstance(seq, list):
                    raise NotAModelError(f"`{name}` must be a list of layer rows, got {type(seq).__name__}")
                for position, row in enumerate(seq):
                    layer = parse_row(
                        row, index=len(layers), section=name, position=position, line=_row_line(seq, position)
                    )
                    layers.append(layer)
            if not layers:
                raise NotAModelError("the model has no layers")
            for layer in layers:
                check_refs(layer)
        except NotAModelError as exc:
            raise exc.located(self.source) from None
        except (LayerRowError, LayerReferenceError) as exc:
            raise exc.located(self.source) from None
        self.layers = layers

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
        """Serialise the (possibly edited) document back to YAML text."""
        return dump_text(self.doc)
