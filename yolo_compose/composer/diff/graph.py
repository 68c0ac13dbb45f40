"""The graph view of a model YAML that `diff` compares: one frozen node per layer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..spec import ModelSpec


def to_plain(value: Any) -> Any:
    """A read value as plain Python for JSON and equality: mapping keys as strings, tuples as lists."""
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


def freeze(value: Any) -> Any:
    """A hashable, type-tagged form of a plain value: ``True``, ``1`` and ``1.0`` stay distinct."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return ("float", value)
    if isinstance(value, str):
        return ("str", value)
    if value is None:
        return ("none",)
    if isinstance(value, dict):
        return ("map", tuple(sorted((str(k), freeze(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return ("seq", tuple(freeze(v) for v in value))
    return ("other", repr(value))


@dataclass(frozen=True)
class Node:
    """One layer as the network sees it: what it computes and which layers it reads.

    ``sources`` are absolute indices (:data:`~yolo_compose.composer.spec.INPUT` for the image),
    so a ``-1`` and the equivalent absolute number compare equal. ``multi`` is whether ``from``
    is a list (the module then receives a list of tensors). ``content`` is module, repeats and
    args in a comparable form (the wiring left out), frozen once when the node is made: the
    alignment compares contents millions of times on a large model, and re-freezing the args on
    every comparison was most of its time. A node's values are therefore never mutated.
    """

    module: str
    repeats: Any
    args: Any
    sources: tuple[int, ...]
    multi: bool
    content: tuple[Any, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "content", (self.module, freeze(self.repeats), freeze(self.args)))

    @property
    def key(self) -> tuple[Any, ...]:
        """Everything that defines the node, comparable and hashable."""
        return (*self.content, self.sources, self.multi)


def spec_nodes(spec: ModelSpec) -> list[Node]:
    """The layers of a spec as graph nodes."""
    return [
        Node(
            module=layer.module,
            repeats=to_plain(layer.repeats),
            args=to_plain(layer.args),
            sources=tuple(layer.sources),
            multi=layer.is_multi_input,
        )
        for layer in spec.layers
    ]


def same_graph(a: Sequence[Node], b: Sequence[Node]) -> bool:
    """True when two node lists describe the same network."""
    return [n.key for n in a] == [n.key for n in b]


