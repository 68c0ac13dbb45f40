"""Rebuilding B's graph from A and a diff result alone: the check that a result is complete."""

from __future__ import annotations

from collections.abc import Sequence

from yolo_compose.composer.diff import DiffResult, Node
from yolo_compose.composer.spec import INPUT


def _applied_source(a: Sequence[Node], a_to_b: dict[int, int], source: int) -> int:
    """Where an A reference lands in B, looking through removed single-input layers."""
    while source != INPUT and source not in a_to_b:
        node = a[source]
        if len(node.sources) != 1:
            raise ValueError(f"layer {source} was removed with several inputs; its readers must be rewired")
        source = node.sources[0]
    return INPUT if source == INPUT else a_to_b[source]


def apply_diff(a: Sequence[Node], result: DiffResult) -> list[Node]:
    """Rebuild B's graph from A and a result, using only what the result records.

    Aligned rows follow from the removed and inserted index sets (the alignment is monotone);
    an aligned row keeps A's content with the recorded field changes, and A's inputs followed
    through removed layers and re-routed through the inserted layers that ``feeds`` names,
    unless it is recorded as rewired.
    """
    removed = {x.index for x in result.removed}
    inserted = {x.index: x for x in result.inserted}
    b_len = len(a) - len(removed) + len(inserted)
    kept = [i for i in range(len(a)) if i not in removed]
    slots = [j for j in range(b_len) if j not in inserted]
    a_to_b = dict(zip(kept, slots, strict=True))
    changes = {x.b_index: x.changes for x in result.changed}
    rewired = {x.b_index: x for x in result.rewired}
    routed = {(consumer, pos): x.index for x in result.inserted for consumer, pos in x.feeds}
    rows: list[Node] = []
    for j in range(b_len):
        if j in inserted:
            rows.append(inserted[j].node)
            continue
        i = kept[slots.index(j)]
        base = a[i]
        values = {"module": base.module, "repeats": base.repeats, "args": base.args}
        values.update({c.field: c.new for c in changes.get(j, ())})
        if j in rewired:
            sources = tuple(s.index for s in rewired[j].new_sources)
            multi = rewired[j].new_multi
        else:
            sources = tuple(
                routed.get((j, pos), _applied_source(a, a_to_b, s)) for pos, s in enumerate(base.sources)
            )
            multi = base.multi
        rows.append(Node(sources=sources, multi=multi, **values))
    return rows
