"""References: every ``from`` number an edit must change, and the index comments of moved rows."""

from __future__ import annotations

from collections.abc import Callable

import yaml

from ..layout import (
    Patch,
    index_comment_digits,
)
from ..spec import INPUT, Layer, ModelSpec
from .result import REASON_CROSSES, REASON_SHIFTED, Rewire


def rewrite_refs(
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
            new_ref = written_ref(ref, new_source, new_index)
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


def written_ref(old_ref: int, source: int, index: int) -> int:
    """The ref that reads `source` from layer `index`, in the style (absolute/relative) of old_ref."""
    if source == INPUT:
        return -1  # only layer 0 reads the image, and -1 is how it is written
    return source if old_ref >= 0 else source - index


def renumber_comments(spec: ModelSpec, index_map: dict[int, int]) -> list[Patch]:
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
