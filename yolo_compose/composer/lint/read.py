"""Reading a file for the lint: the node graph through the one reader, its refusals as findings."""

from __future__ import annotations

from typing import Any, TypeGuard

import yaml

from ...errors import (
    UnsafeYamlError,
    YamlExpansionError,
    YamlSyntaxError,
)
from ..reader import check_graph, compose_all, construct, mark_position
from ..spec import SECTIONS


class Stop(Exception):
    """A file-level problem after which no further check of the file makes sense."""

    def __init__(self, code: str, message: str, line: int = 1, col: int = 1) -> None:
        super().__init__(message)
        self.code, self.message, self.line, self.col = code, message, line, col


#: The finding code of each problem the reader refuses a text for.
_READ_CODES = ((UnsafeYamlError, "YC003"), (YamlExpansionError, "YC004"), (YamlSyntaxError, "YC002"))


def stop_at(exc: YamlSyntaxError) -> Stop:
    code = next(code for kind, code in _READ_CODES if isinstance(exc, kind))
    return Stop(code, exc.message, exc.line or 1, exc.column or 1)


def _looks_like_model(root: yaml.Node) -> TypeGuard[yaml.MappingNode]:
    """A model YAML is a mapping with a `backbone` or a `head` key; any other YAML is not ours."""
    return isinstance(root, yaml.MappingNode) and any(
        isinstance(key, yaml.ScalarNode) and key.value in SECTIONS for key, _ in root.value
    )


def read_model(text: str) -> tuple[Any, yaml.MappingNode] | None:
    """The model's values and root node, or None for a YAML that is not a model.

    The node graph is checked (tags, aliases) by the project's one reader before any value is
    constructed, and only for a model: other YAML files (CI configs, CloudFormation with ``!Ref``,
    several documents) pass.
    """
    try:
        roots = compose_all(text)
        if not roots:
            raise Stop("YC010", "empty file: not a model YAML")
        models = [root for root in roots if _looks_like_model(root)]
        if not models:
            return None
        if len(roots) > 1:
            raise Stop("YC010", f"{len(roots)} YAML documents in one file; a model YAML is one document",
                        *mark_position(models[0].start_mark))
        check_graph(models[0])
        return construct(models[0]), models[0]
    except YamlSyntaxError as exc:
        raise stop_at(exc) from None
