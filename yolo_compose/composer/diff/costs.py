"""`diff --build`: the params and GFLOPs of both sides, paired layer by layer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .result import DiffResult, LayerChangeKind


@dataclass(frozen=True)
class LayerCost:
    """Params and GFLOPs of one differing layer on each side (None on the side it is missing from)."""

    kind: LayerChangeKind
    a_index: int | None
    b_index: int | None
    module: str
    a_params: int | None
    b_params: int | None
    a_gflops: float | None
    b_gflops: float | None


@dataclass(frozen=True)
class ScaleCost:
    """Totals of both sides at one scale, and the layers that differ."""

    scale: str | None
    imgsz: int
    a_params: int
    b_params: int
    a_gflops: float
    b_gflops: float
    layers: tuple[LayerCost, ...]


def compare_costs(result: DiffResult, measure_a: Any, measure_b: Any, *, scale: str | None) -> ScaleCost:
    """Pair the per-layer measures of both sides (objects with ``params``, ``gflops``, ``layers``)
    along the diff: every inserted, removed, changed or rewired layer, in B's order, plus totals."""
    a_layers = {layer.index: layer for layer in measure_a.layers}
    b_layers = {layer.index: layer for layer in measure_b.layers}

    def cost(kind: LayerChangeKind, i: int | None, j: int | None, module: str) -> LayerCost:
        la = a_layers.get(i) if i is not None else None
        lb = b_layers.get(j) if j is not None else None
        params = (la.params if la else None, lb.params if lb else None)
        gflops = (la.gflops if la else None, lb.gflops if lb else None)
        return LayerCost(kind, i, j, module, *params, *gflops)

    ordered: list[tuple[float, LayerCost]] = []
    ordered += [(x.index, cost("inserted", None, x.index, x.node.module)) for x in result.inserted]
    ordered += [(x.before_b - 0.5, cost("removed", x.index, None, x.node.module)) for x in result.removed]
    kinds: dict[tuple[int, int], LayerChangeKind] = {
        (x.a_index, x.b_index): "rewired" for x in result.rewired
    }
    kinds.update({(x.a_index, x.b_index): "changed" for x in result.changed})
    for (i, j), kind in kinds.items():
        ordered.append((j, cost(kind, i, j, b_layers[j].module if j in b_layers else "")))
    rows = tuple(row for _, row in sorted(ordered, key=lambda item: item[0]))
    totals = (measure_a.params, measure_b.params, measure_a.gflops, measure_b.gflops)
    return ScaleCost(scale, measure_b.imgsz, *totals, rows)
