"""Checks shared by the edit tests: the graph after an edit, and the lines an edit may change."""

from __future__ import annotations

import itertools
import re

from yolo_compose.composer import INPUT, EditResult

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


def expected_edges_after_inserts(
    old: set[tuple[int, int, int]], result: EditResult, consumers_refs: dict[int, int]
) -> set[Edge]:
    """The old graph plus the new nodes, for an edit of several inserts (its `steps`).

    Every old edge (s -> c, c's k-th input) becomes the path s, the rows inserted after s (in the
    order given), the rows inserted before c on its k-th input, c; each chain after a layer is
    there even when nothing reads it. `consumers_refs` maps each old layer to its number of
    `from` entries (to tell a --before on a multi-input layer, one row per input, apart).
    """
    after: dict[int, list[int]] = {}
    before: dict[tuple[int, int], list[int]] = {}
    for step in result.steps:
        if step.placement == "after":
            after.setdefault(step.target, []).extend(step.new_indices)
        else:
            assert len(step.new_indices) == consumers_refs[step.target]
            for position, index in enumerate(step.new_indices):
                before.setdefault((step.target, position), []).append(index)

    def moved(i: int) -> int:
        return i if i == INPUT else result.index_map[i]

    edges: set[Edge] = set()
    for target, chain in after.items():
        path = [moved(target), *chain]
        edges |= set(itertools.pairwise(path))
    for source, consumer, position in old:
        between = [*after.get(source, []), *before.get((consumer, position), [])]
        path = [moved(source), *between, moved(consumer)]
        edges |= set(itertools.pairwise(path))
    return edges


def positional_edges(spec) -> set[tuple[int, int, int]]:
    """The dataflow graph as (source, consumer, position of the ref in the consumer's `from`)."""
    return {(source, layer.index, k) for layer in spec.layers for k, source in enumerate(layer.sources)}


_DIGITS = re.compile(r"\d+")
_FLOW_PUNCTUATION = re.compile(r"[\s,\[\]]")


def _same_but_numbers(old: str, new: str) -> bool:
    """True when two lines differ only in digit runs (a renumbered ref or index comment)."""
    return _DIGITS.sub("0", old) == _DIGITS.sub("0", new)


def _same_but_flow_punctuation(old: str, new: str) -> bool:
    """True when two lines differ only in commas, brackets and blanks a flow list moves, plus numbers."""
    def bare(line: str) -> str:
        return _FLOW_PUNCTUATION.sub("", _DIGITS.sub("0", line))

    return bare(old) == bare(new)


def assert_minimal_insert(before: str, after: str, marker: str, count: int = 1) -> None:
    """The edit added `count` lines (those holding `marker`) and changed others only where it must:
    renumbered digits, or a comma or bracket a flow list moved. Line breaks are compared too."""
    old = before.splitlines(keepends=True)
    new = after.splitlines(keepends=True)
    added = [k for k, line in enumerate(new) if marker in line]
    assert len(added) == count, f"expected {count} new lines with {marker!r}, got {len(added)}"
    assert all(new[k].count(marker) == 1 for k in added), "two new rows on one line"
    rest = [line for k, line in enumerate(new) if k not in set(added)]
    assert len(rest) == len(old), "lines were lost or added besides the new row"
    for number, (a, b) in enumerate(zip(old, rest, strict=True), start=1):
        if a == b:
            continue
        assert a[len(a.rstrip("\r\n")):] == b[len(b.rstrip("\r\n")):], f"line {number}: line break changed"
        assert _same_but_numbers(a, b) or _same_but_flow_punctuation(a, b), f"line {number}: {a!r} -> {b!r}"
