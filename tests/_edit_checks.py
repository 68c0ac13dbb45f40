"""Checks shared by the edit tests: the graph after an edit, and a cheap snapshot of a document."""

from __future__ import annotations

from typing import Any

from yolo_compose.composer import INPUT, EditResult, ModelSpec

Edge = tuple[int, int]


def expected_edges_after_insert(old: set[Edge], result: EditResult) -> set[Edge]:
    """The old graph plus one node: every old edge maps to the same pair of layers, except that
    the edges the new layer now sits on (target -> its consumers for --after, the target's input
    -> target for --before) pass through it."""
    new, target = result.new_index, result.target

    def moved(i: int) -> int:
        return i if i == INPUT else result.index_map[i]

    edges: set[Edge] = set()
    for source, consumer in old:
        through_new = source == target if result.placement == "after" else consumer == target
        if not through_new:
            edges.add((moved(source), moved(consumer)))
        elif result.placement == "after":
            edges.add((new, moved(consumer)))
        else:
            edges.add((moved(source), new))
    edges.add((moved(target), new) if result.placement == "after" else (new, moved(target)))
    return edges


def snapshot(spec: ModelSpec) -> Any:
    """Rows and comment records of both sections as plain data (much cheaper than a dump)."""

    def plain(value: Any) -> Any:
        return [plain(v) for v in value] if isinstance(value, list) else value

    state = {}
    for name in ("backbone", "head"):
        seq = spec.section(name)
        comments = {}
        for key, entry in seq.ca.items.items():
            post = entry[0].value if entry[0] is not None else None
            pre = tuple(token.value for token in entry[1] or [])
            if post is not None or pre:
                comments[key] = (post, pre)
        state[name] = (plain(list(seq)), comments)
    return state
