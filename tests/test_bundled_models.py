"""Every model YAML bundled with ultralytics: byte-identical round trip, and an insert at every
position passes the graph check, changes only the lines it must and is undone exactly by a remove."""

from __future__ import annotations

from pathlib import Path

import pytest
from _edit_checks import assert_minimal_insert, expected_edges_after_insert

from yolo_compose.composer import ModelSpec, insert_layer, remove_layer
from yolo_compose.composer.files import read_input
from yolo_compose.integration.installed import bundled_models
from yolo_compose.integration.roles import HEAD_MODULES

MODELS = bundled_models()


def test_ultralytics_ships_models() -> None:
    assert len(MODELS) >= 60


@pytest.mark.parametrize("name", sorted(MODELS))
def test_round_trip_and_insert_everywhere(name: str) -> None:
    path: Path = MODELS[name]
    text, _ = read_input(path)
    spec = ModelSpec.from_text(text, path)
    assert spec.dump() == text, f"{name}: load-then-dump changed the file"
    count = len(spec.layers)
    checked = 0
    for layer in list(spec.layers):
        placements = [] if layer.module in HEAD_MODULES else ["after"]
        if not layer.is_multi_input:
            placements.append("before")
        for placement in placements:
            old_edges = spec.edges()
            result = insert_layer(spec, "halo", **{placement: layer.index})
            assert spec.edges() == expected_edges_after_insert(old_edges, result), (
                name,
                placement,
                layer.index,
            )
            assert len(spec.layers) == count + 1
            assert_minimal_insert(text, spec.dump(), "HaloAttention (halo)")
            remove_layer(spec, result.new_index)
            assert spec.dump() == text, (name, placement, layer.index)
            checked += 1
    assert checked > 0
    assert spec.dump() == text
