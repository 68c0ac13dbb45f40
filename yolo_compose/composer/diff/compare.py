"""A diff result built from two aligned graphs, and the file-level changes beside it."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..spec import INPUT, SECTIONS, ModelSpec
from .align import align_nodes
from .graph import Node, freeze, spec_nodes, to_plain
from .problem import Alignment, inputs_agree
from .result import (
    ChangedLayer,
    CommentChange,
    DiffResult,
    DiffSide,
    EntryChangeKind,
    FieldChange,
    InsertedLayer,
    LayerLabel,
    RemovedLayer,
    RenumberedRef,
    RewiredLayer,
    TopLevelChange,
)


@dataclass(frozen=True)
class _Side:
    """What the result builder needs of one file: nodes, written refs, lines, sections."""

    name: str
    nodes: list[Node]
    refs: list[list[int]]  # `from` entries as written
    from_: list[Any]  # `from` as written (int or list)
    lines: list[int | None]
    sections: list[str]

    @classmethod
    def from_nodes(cls, name: str, nodes: Sequence[Node]) -> _Side:
        """A side made of bare nodes: refs written absolute, no lines (used by tests and tools)."""
        nodes = list(nodes)
        refs = [list(n.sources) for n in nodes]
        from_ = [list(n.sources) if n.multi else n.sources[0] for n in nodes]
        return cls(name, nodes, refs, from_, [None] * len(nodes), ["backbone"] * len(nodes))

    @classmethod
    def from_spec(cls, name: str, spec: ModelSpec) -> _Side:
        layers = spec.layers
        return cls(
            name,
            spec_nodes(spec),
            [layer.refs for layer in layers],
            [to_plain(layer.from_) for layer in layers],
            [layer.line for layer in layers],
            [layer.section for layer in layers],
        )

    def label(self, index: int) -> LayerLabel:
        if index == INPUT:
            return LayerLabel(INPUT, "input", None)
        return LayerLabel(index, self.nodes[index].module, self.lines[index])


def _field_changes(na: Node, nb: Node) -> tuple[FieldChange, ...]:
    changes = []
    if na.module != nb.module:
        changes.append(FieldChange("module", na.module, nb.module))
    if freeze(na.repeats) != freeze(nb.repeats):
        changes.append(FieldChange("repeats", na.repeats, nb.repeats))
    if freeze(na.args) != freeze(nb.args):
        changes.append(FieldChange("args", na.args, nb.args))
    return tuple(changes)


def _feeds(a: _Side, b: _Side, align: Alignment, rewired: set[int]) -> dict[int, list[tuple[int, int]]]:
    """For each inserted B layer, the aligned, not rewired (consumer, position) refs that read it."""
    feeds: dict[int, list[tuple[int, int]]] = {}
    for j in align.b_to_a:
        if j in rewired:
            continue
        for position, source in enumerate(b.nodes[j].sources):
            if source != INPUT and source not in align.b_to_a:
                feeds.setdefault(source, []).append((j, position))
    return feeds


def _after_a(align: Alignment, j: int) -> int:
    """The last A layer aligned before B row j (-1 when none)."""
    earlier = [align.b_to_a[k] for k in range(j) if k in align.b_to_a]
    return max(earlier, default=-1)


def _before_b(align: Alignment, i: int, b_len: int) -> int:
    """The first B layer aligned after A row i (len(B) when none)."""
    later = [align.a_to_b[k] for k in sorted(align.a_to_b) if k > i]
    return later[0] if later else b_len


def _renumbered(a: _Side, b: _Side, i: int, j: int) -> list[RenumberedRef]:
    """Refs of an aligned, not rewired pair whose written number changed."""
    found = []
    for position, (old, new) in enumerate(zip(a.refs[i], b.refs[j], strict=True)):
        if old != new:
            found.append(
                RenumberedRef(
                    a_index=i,
                    b_index=j,
                    b_line=b.lines[j],
                    module=b.nodes[j].module,
                    position=position,
                    old=old,
                    new=new,
                    source=b.label(b.nodes[j].sources[position]),
                )
            )
    return found


def _build_result(a: _Side, b: _Side, align: Alignment) -> DiffResult:
    """Turn an alignment into the report: inserts, removes, changes, rewires, renumbered refs."""
    result = DiffResult(
        a=DiffSide(a.name, len(a.nodes)),
        b=DiffSide(b.name, len(b.nodes)),
        pairs=tuple(sorted(align.a_to_b.items())),
    )
    rewired: set[int] = set()
    for i, j in sorted(align.a_to_b.items()):
        na, nb = a.nodes[i], b.nodes[j]
        changes = _field_changes(na, nb)
        if changes:
            result.changed.append(ChangedLayer(i, j, a.lines[i], b.lines[j], changes))
        if not inputs_agree(a.nodes, b.nodes, align, i, j):
            rewired.add(j)
            result.rewired.append(
                RewiredLayer(
                    a_index=i,
                    b_index=j,
                    b_line=b.lines[j],
                    module=nb.module,
                    old_from=a.from_[i],
                    new_from=b.from_[j],
                    old_sources=tuple(a.label(s) for s in na.sources),
                    new_sources=tuple(b.label(t) for t in nb.sources),
                    new_multi=nb.multi,
                )
            )
        else:
            result.renumbered.extend(_renumbered(a, b, i, j))
    feeds = _feeds(a, b, align, rewired)
    for j, node in enumerate(b.nodes):
        if j not in align.b_to_a:
            result.inserted.append(
                InsertedLayer(
                    index=j,
                    line=b.lines[j],
                    section=b.sections[j],
                    from_=b.from_[j],
                    node=node,
                    after_a=a.label(after) if (after := _after_a(align, j)) >= 0 else None,
                    sources=tuple(b.label(t) for t in node.sources),
                    feeds=tuple(feeds.get(j, ())),
                    readers=tuple(b.label(r) for r in sorted({r for r, _ in feeds.get(j, ())})),
                )
            )
    for i, node in enumerate(a.nodes):
        if i not in align.a_to_b:
            result.removed.append(
                RemovedLayer(
                    index=i,
                    line=a.lines[i],
                    section=a.sections[i],
                    from_=a.from_[i],
                    node=node,
                    before_b=_before_b(align, i, len(b.nodes)),
                    sources=tuple(a.label(s) for s in node.sources),
                )
            )
    return result


def diff_nodes(a: Sequence[Node], b: Sequence[Node], *, a_name: str = "a", b_name: str = "b") -> DiffResult:
    """Diff two bare graphs (no files, no top-level keys)."""
    align = align_nodes(a, b)
    return _build_result(_Side.from_nodes(a_name, a), _Side.from_nodes(b_name, b), align)


# --- files: top-level keys and comments ----------------------------------------------------------


def top_level_changes(a: ModelSpec, b: ModelSpec) -> list[TopLevelChange]:
    """Top-level keys other than the layer lists that differ; mappings are compared one level down."""
    changes: list[TopLevelChange] = []
    keys = [k for k in a.doc if k not in SECTIONS]
    keys += [k for k in b.doc if k not in SECTIONS and k not in a.doc]
    for key in keys:
        old, new = a.doc.get(key), b.doc.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            changes.extend(_mapping_changes(str(key), old, new, a, b))
            continue
        change = _value_change(str(key), key in a.doc, key in b.doc, old, new)
        if change is not None:
            line = b.key_line(str(key)) if key in b.doc else a.key_line(str(key))
            changes.append(TopLevelChange(change[0], change[1], change[2], change[3], line))
    return changes


def _value_change(
    name: str, in_a: bool, in_b: bool, old: Any, new: Any
) -> tuple[str, EntryChangeKind, Any, Any] | None:
    """(key, kind, old, new) when a value was added, removed or changed; None when equal."""
    if in_a and not in_b:
        return (name, "removed", to_plain(old), None)
    if in_b and not in_a:
        return (name, "added", None, to_plain(new))
    if freeze(to_plain(old)) != freeze(to_plain(new)):
        return (name, "changed", to_plain(old), to_plain(new))
    return None


def _mapping_changes(name: str, old: Any, new: Any, a: ModelSpec, b: ModelSpec) -> list[TopLevelChange]:
    changes = []
    for key in [*old, *(k for k in new if k not in old)]:
        change = _value_change(f"{name}.{key}", key in old, key in new, old.get(key), new.get(key))
        if change is not None:
            line = b.key_line(name, str(key)) if key in new else a.key_line(name, str(key))
            changes.append(TopLevelChange(change[0], change[1], change[2], change[3], line))
    return changes


def line_comment(line: str) -> str | None:
    """The comment on one YAML line, ignoring ``#`` inside quotes; None when there is none."""
    quote: str | None = None
    for position, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#" and (position == 0 or line[position - 1] in " \t"):
            return line[position:].rstrip()
    return None


def _comments_by_line(text: str | None) -> dict[int, str]:
    if not text:
        return {}
    found = {}
    for number, line in enumerate(text.splitlines(), start=1):
        comment = line_comment(line)
        if comment is not None:
            found[number] = comment
    return found


def comment_changes(a: ModelSpec, b: ModelSpec, pairs: Sequence[tuple[int, int]]) -> list[CommentChange]:
    """Row comments that differ on aligned layers, then every other comment line added or removed."""
    a_comments, b_comments = _comments_by_line(a.text), _comments_by_line(b.text)
    changes: list[CommentChange] = []
    for i, j in pairs:
        la, lb = a.layers[i].line, b.layers[j].line
        old, new = a_comments.get(la) if la else None, b_comments.get(lb) if lb else None
        if old != new:
            kind: EntryChangeKind = "changed" if old and new else ("added" if new else "removed")
            changes.append(CommentChange(kind, old, new, lb, j))
    a_rows = {layer.line for layer in a.layers}
    b_rows = {layer.line for layer in b.layers}
    a_rest = [(n, c) for n, c in a_comments.items() if n not in a_rows]
    b_rest = [(n, c) for n, c in b_comments.items() if n not in b_rows]
    matcher = difflib.SequenceMatcher(a=[c for _, c in a_rest], b=[c for _, c in b_rest], autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal":
            continue
        changes.extend(CommentChange("removed", c, None, n, None) for n, c in a_rest[a0:a1])
        changes.extend(CommentChange("added", None, c, n, None) for n, c in b_rest[b0:b1])
    return changes


def diff_specs(a: ModelSpec, b: ModelSpec, *, a_name: str, b_name: str, comments: bool = False) -> DiffResult:
    """Diff two loaded model YAMLs: layers aligned and compared, then top-level keys and comments.

    Comments are always compared (so a report can say how many it ignored) but listed only
    when ``comments`` is true.
    """
    a_side, b_side = _Side.from_spec(a_name, a), _Side.from_spec(b_name, b)
    align = align_nodes(a_side.nodes, b_side.nodes)
    result = _build_result(a_side, b_side, align)
    result.top_level = top_level_changes(a, b)
    result.comments = comment_changes(a, b, result.pairs)
    result.comments_shown = comments
    return result


