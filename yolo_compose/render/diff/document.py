"""The JSON document of `yolo-compose diff`: every field of ``--format json``, and its ``--build`` costs.

The schema is documented in the README (``diff`` section); GFLOPs are rounded as the ``--build``
table prints them, so the JSON and the table agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...composer.diff import (
    ChangedLayer,
    DiffResult,
    InsertedLayer,
    LayerLabel,
    Node,
    RemovedLayer,
    RenumberedRef,
    RewiredLayer,
    ScaleCost,
)
from ..console import print_json

GFLOPS_DIGITS = 3  # as the --build table prints them


def rounded_gflops(value: Any) -> Any:
    """JSON data with every value under a ``gflops`` key rounded as the table shows it."""
    if isinstance(value, dict):
        return {
            key: round(item, GFLOPS_DIGITS)
            if "gflops" in str(key) and isinstance(item, float)
            else rounded_gflops(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [rounded_gflops(item) for item in value]
    return value


#: JSON schema identifier of :func:`diff_dict`; bumped on any incompatible change.
SCHEMA = "yolo-compose/diff/1"


def diff_dict(result: DiffResult) -> dict[str, Any]:
    """The result as JSON; the schema is documented in the README (``diff`` section).

    Indices are global layer indices (backbone then head); ``a_index`` is in file A, every
    other index in file B unless its name says otherwise. Lines are 1-based. Values (``args``,
    ``from``, top-level values) are plain JSON. ``comments`` is null unless asked for.
    """
    return {
        "schema": SCHEMA,
        "a": {"name": result.a.name, "layers": result.a.layers},
        "b": {"name": result.b.name, "layers": result.b.layers},
        "same_graph": result.same_graph,
        "summary": result.summary(),
        "inserted": [_inserted_dict(x) for x in result.inserted],
        "removed": [_removed_dict(x) for x in result.removed],
        "changed": [_changed_dict(x) for x in result.changed],
        "rewired": [_rewired_dict(x) for x in result.rewired],
        "renumbered": [_renumbered_dict(x) for x in result.renumbered],
        "top_level": [
            {"key": t.key, "kind": t.kind, "old": t.old, "new": t.new, "line": t.line}
            for t in result.top_level
        ],
        "comments": [
            {"kind": c.kind, "old": c.old, "new": c.new, "line": c.line, "layer": c.layer}
            for c in result.comments
        ]
        if result.comments_shown
        else None,
    }


def _label_dict(label: LayerLabel) -> dict[str, Any]:
    return {"index": label.index, "module": label.module, "line": label.line}


def _node_dict(node: Node, from_: Any) -> dict[str, Any]:
    return {"from": from_, "repeats": node.repeats, "module": node.module, "args": node.args}


def _inserted_dict(x: InsertedLayer) -> dict[str, Any]:
    return {
        "index": x.index,
        "line": x.line,
        "section": x.section,
        **_node_dict(x.node, x.from_),
        "after_a": _label_dict(x.after_a) if x.after_a else None,
        "sources": [_label_dict(s) for s in x.sources],
        "feeds": [_label_dict(r) for r in x.readers],
    }


def _removed_dict(x: RemovedLayer) -> dict[str, Any]:
    return {
        "a_index": x.index,
        "a_line": x.line,
        "section": x.section,
        **_node_dict(x.node, x.from_),
        "before": x.before_b,
        "sources": [_label_dict(s) for s in x.sources],
    }


def _changed_dict(x: ChangedLayer) -> dict[str, Any]:
    return {
        "a_index": x.a_index,
        "index": x.b_index,
        "a_line": x.a_line,
        "line": x.b_line,
        "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in x.changes],
    }


def _rewired_dict(x: RewiredLayer) -> dict[str, Any]:
    return {
        "a_index": x.a_index,
        "index": x.b_index,
        "line": x.b_line,
        "module": x.module,
        "old_from": x.old_from,
        "new_from": x.new_from,
        "old_sources": [_label_dict(s) for s in x.old_sources],
        "new_sources": [_label_dict(s) for s in x.new_sources],
    }


def _renumbered_dict(x: RenumberedRef) -> dict[str, Any]:
    return {
        "a_index": x.a_index,
        "index": x.b_index,
        "line": x.b_line,
        "module": x.module,
        "position": x.position,
        "old": x.old,
        "new": x.new,
        "source": _label_dict(x.source),
    }


def cost_dict(cost: ScaleCost) -> dict[str, Any]:
    """One scale of ``--build`` as JSON: both sides' totals, the delta, and the differing layers."""
    return {
        "scale": cost.scale,
        "imgsz": cost.imgsz,
        "a": {"params": cost.a_params, "gflops": cost.a_gflops},
        "b": {"params": cost.b_params, "gflops": cost.b_gflops},
        "delta": {"params": cost.b_params - cost.a_params, "gflops": cost.b_gflops - cost.a_gflops},
        "layers": [
            {
                "kind": x.kind, "a_index": x.a_index, "index": x.b_index, "module": x.module,
                "a_params": x.a_params, "params": x.b_params,
                "a_gflops": x.a_gflops, "gflops": x.b_gflops,
            }
            for x in cost.layers
        ],
    }


def render_json(result: DiffResult, *, costs: Sequence[ScaleCost] | None = None) -> None:
    """The result as JSON (see :func:`diff_dict`), with ``build`` when measured."""
    data = diff_dict(result)
    if costs is not None:
        data["build"] = [rounded_gflops(cost_dict(cost)) for cost in costs]
    print_json(data)
