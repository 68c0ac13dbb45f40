"""The one YAML reader of the project: PyYAML, as ultralytics reads model files, guarded.

Ultralytics loads a model YAML with PyYAML (``yaml.load(..., Loader=CSafeLoader)``, YAML 1.1:
``no``/``off`` are booleans, the last duplicate key wins). Every command here reads it the same
way, so what ``insert``, ``diff`` and ``validate`` check is what ultralytics builds.

Reading happens in three steps, and nothing is constructed before the document passed the first
two:

1. **Compose** the node graph with libyaml (``CSafeLoader``; the pure-Python loader where a text
   could nest deep enough to crash libyaml's recursive C composer). Every node carries exact start
   and end marks (character offsets, lines, columns), which is what the edits patch.
2. **Guard** the graph: a tag other than the standard plain-value ones is refused at any depth
   (``!!python/object/apply`` would construct objects, i.e. run code, in a less careful loader),
   an alias that contains itself is refused, and aliases may not multiply the document beyond
   :data:`MAX_ALIAS_NODES` extra nodes (an alias bomb); Python's recursion limit becomes one line.
3. **Construct** plain values with the safe constructor; a value PyYAML cannot build (an
   unhashable key such as ``[a]: 1``) is one line, as it would be an error in ultralytics.

A byte-order mark stays part of the text (an edit gives it back); libyaml does not count it in
its offsets, so marks are shifted past it here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

import yaml

from ..errors import UnsafeYamlError, YamlExpansionError, YamlSyntaxError

try:  # libyaml (C) when PyYAML was built with it, as ultralytics uses it
    _CLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _CLoader = yaml.SafeLoader

#: Most distinct plain scalars whose resolved tag is remembered (a model repeats `-1`, `1`, `Conv`).
_RESOLVED_CACHE_SIZE = 65_536


class _FastLoader(_CLoader):  # type: ignore[misc]
    """libyaml's safe loader, remembering the tag each plain scalar resolves to.

    libyaml calls back into Python's regex-based resolver for every scalar: 85% of composing a
    large model file. The answer depends only on the scalar's text and how it was written, so it
    is looked up once per distinct (text, implicit) pair; the tags are exactly PyYAML's.
    """

    _resolved: ClassVar[dict[tuple[str, tuple[bool, bool]], str]] = {}

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        if kind is not yaml.ScalarNode:
            resolved: str = super().resolve(kind, value, implicit)
            return resolved
        key = (value, tuple(implicit))
        tag = self._resolved.get(key)
        if tag is None:
            tag = super().resolve(kind, value, implicit)
            if len(self._resolved) < _RESOLVED_CACHE_SIZE:
                self._resolved[key] = tag
        return tag

#: Texts larger than this are refused before parsing (a model YAML is a few KiB).
MAX_YAML_BYTES = 2 * 1024 * 1024
#: Nodes that aliases may add on top of the nodes written in the file (an alias bomb adds billions).
MAX_ALIAS_NODES = 100_000
#: libyaml's composer recurses in C and crashes the process near 40,000 levels; texts that could
#: nest deeper than this go to PyYAML's pure-Python loader, where Python's recursion limit holds.
MAX_NESTING_FOR_C_LOADER = 5_000
BOM = "\ufeff"

#: Tags PyYAML's safe loader resolves to plain values; anything else is refused in a model.
_STANDARD_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "seq", "map", "binary", "timestamp", "merge", "set",
                 "omap", "pairs")
)


@dataclass(frozen=True)
class Document:
    """One YAML document as read: its text, the checked root node and the values built from it.

    ``offset`` is added to a node mark's ``index`` to get a position in ``text`` (1 after a BOM).
    """

    text: str
    root: yaml.Node
    data: Any
    offset: int = 0
    aliased: bool = False  # some node is reached twice (an anchor and its aliases)

    def span(self, node: yaml.Node) -> tuple[int, int]:
        """(start, end) character positions of a node in :attr:`text`."""
        return node.start_mark.index + self.offset, node.end_mark.index + self.offset


def mark_position(mark: Any) -> tuple[int, int]:
    """1-based (line, column) of a YAML mark ((1, 1) when there is none)."""
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_BLOCK_LEAD = re.compile(r"^[ \t?:-]*", re.MULTILINE)


def _nesting_bound(text: str) -> int:
    """An upper bound on the nesting depth: flow levels by bracket depth (brackets in strings and
    comments count too, which only raises the bound), block levels by a line's leading indentation
    and ``- ``/``? `` markers."""
    depth = deepest = 0
    for bracket in _NOT_BRACKETS.sub("", text):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    lead = max((len(match) for match in _BLOCK_LEAD.findall(text)), default=0)
    return deepest + lead


def _syntax_error(message: str, mark: Any, source: str | None) -> YamlSyntaxError:
    line, column = mark_position(mark)
    return YamlSyntaxError(message, path=source, line=line if mark is not None else None, column=column)


def compose_all(text: str, source: str | None = None) -> list[yaml.Node]:
    """Every document's node graph (no values built); syntax errors name the line and column."""
    if len(text) > MAX_YAML_BYTES:
        raise YamlSyntaxError(f"file is {len(text):,} characters; a model YAML is expected under "
                              f"{MAX_YAML_BYTES:,}", path=source)
    body = text[1:] if text.startswith(BOM) else text
    loader_class = _FastLoader if _nesting_bound(body) < MAX_NESTING_FOR_C_LOADER else yaml.SafeLoader
    loader = loader_class(body)
    roots: list[yaml.Node] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None:  # check_node() said a document follows
                roots.append(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        raise _syntax_error(f"invalid YAML: {problem}", mark, source) from None
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid YAML"
        raise YamlSyntaxError(f"invalid YAML: {first}", path=source) from None
    except RecursionError:
        raise YamlSyntaxError("YAML nesting is too deep", path=source) from None
    finally:
        loader.dispose()
    return roots


def _children(node: yaml.Node) -> Iterable[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        items: list[yaml.Node] = node.value
        return items
    if isinstance(node, yaml.MappingNode):
        return (item for pair in node.value for item in pair)
    return ()


def tag_problem(tag: str) -> str:
    """Why a tag is refused."""
    shown = tag.replace("tag:yaml.org,2002:", "!!")
    if "python/" in tag:
        return f"tag {shown} refused: it asks a YAML loader to construct Python objects (run code)"
    return f"tag {shown} refused: model YAMLs use plain YAML values only"


def check_graph(root: yaml.Node, source: str | None = None) -> bool:
    """Refuse non-standard tags at any depth, self-containing aliases and alias bombs.

    A node reached twice is an alias; the count of nodes the document expands to (each alias
    counted as a full copy) may exceed the nodes written in it by at most :data:`MAX_ALIAS_NODES`,
    so a large plain file (50,000 layers) passes and a 500-byte bomb does not. Returns whether the
    document uses aliases at all (only then is the expansion counted).
    """
    seen: set[int] = set()
    aliased = False
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            aliased = True
            continue
        seen.add(id(node))
        if node.tag not in _STANDARD_TAGS:
            line, column = mark_position(node.start_mark)
            raise UnsafeYamlError(tag_problem(node.tag), path=source, line=line, column=column)
        stack.extend(_children(node))
    if aliased:
        _check_expansion(root, len(seen), source)
    return aliased


def _check_expansion(root: yaml.Node, written: int, source: str | None) -> None:
    """Count what the aliases expand the document to; refuse cycles and bombs."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def expanded(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            line, column = mark_position(node.start_mark)
            raise YamlExpansionError("an alias refers to the node that contains it", path=source, line=line,
                                     column=column)
        active.add(key)
        total = 1 + sum(expanded(child) for child in _children(node))
        active.discard(key)
        sizes[key] = total
        if total - written > MAX_ALIAS_NODES:
            line, column = mark_position(node.start_mark)
            raise YamlExpansionError(
                f"anchors and aliases expand the document by more than {MAX_ALIAS_NODES:,} nodes "
                "(an alias bomb)", path=source, line=line, column=column)
        return total

    try:
        expanded(root)
    except RecursionError:
        raise YamlSyntaxError("YAML nesting is too deep", path=source) from None


def construct(root: yaml.Node, source: str | None = None) -> Any:
    """Plain Python values of a checked node graph, built by PyYAML's safe constructor."""
    loader = _FastLoader("")
    try:
        return loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = (exc.problem or exc.context or "invalid YAML value").strip()
        raise _syntax_error(f"invalid YAML value: {problem}", mark, source) from None
    except (yaml.YAMLError, TypeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise YamlSyntaxError(f"invalid YAML value: {first}", path=source) from None
    except RecursionError:
        raise YamlSyntaxError("YAML nesting is too deep", path=source) from None
    finally:
        loader.dispose()


def read_document(text: str, source: str | None = None) -> Document:
    """Read a one-document YAML text: composed, guarded, then constructed."""
    roots = compose_all(text, source)
    if len(roots) != 1:
        what = "empty file" if not roots else f"{len(roots)} YAML documents in one file"
        raise YamlSyntaxError(f"{what}; a model YAML is one document", path=source)
    root = roots[0]
    aliased = check_graph(root, source)
    return Document(text, root, construct(root, source), 1 if text.startswith(BOM) else 0, aliased)


#: A mapping's entries by key value: (key node, value node), as :func:`mapping_nodes` returns them.
MappingNodes = dict[Any, tuple[yaml.Node, yaml.Node]]


def mapping_nodes(node: yaml.Node) -> MappingNodes:
    """Scalar key value -> (key node, value node) of a mapping node; the last duplicate wins, as in PyYAML."""
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {key.value: (key, value) for key, value in node.value if isinstance(key, yaml.ScalarNode)}
