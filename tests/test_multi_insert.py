"""Several inserts in one edit: every target addresses the input's layers, `--before` a
multi-input layer adds one layer per input, and the text changes only where it must.

On every bundled model (and in every layout): one edit that inserts after every layer and before
every layer at once passes the positional dataflow-graph check, adds one line per new row, and
removing the new rows gives back the input byte for byte.
"""

from __future__ import annotations

import pytest
from _edit_checks import assert_minimal_insert, expected_edges_after_inserts, positional_edges
from _layouts import LAYOUTS, to_flow
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yolo_compose.composer import ModelSpec, remove_layer
from yolo_compose.composer.bases import resolve_base
from yolo_compose.composer.edit import Insertion, insert_layers, insert_many
from yolo_compose.composer.files import read_input
from yolo_compose.errors import LayerSpecError
from yolo_compose.integration.installed import bundled_models
from yolo_compose.integration.roles import HEAD_MODULES
from yolo_compose.modules import get

MODELS = bundled_models()
MARKER = "HaloAttention (halo)"
HALO = get("halo")
FAMILIES = ["yolo11", "yolov8", "yolov5", "yolov9c", "yolov10n", "yolo26", "yolo11-seg", "yolov8-p2"]


def every_placement(spec: ModelSpec) -> tuple[list[int], list[int]]:
    """(--after targets, --before targets): every layer but a head, and every layer."""
    return [layer.index for layer in spec.layers if layer.module not in HEAD_MODULES], [
        layer.index for layer in spec.layers
    ]


def check_one_edit(text: str, after: list, before: list) -> ModelSpec:
    """Insert halo at all the targets in one edit: graph, minimal lines, exact undo."""
    spec = ModelSpec.from_text(text, "model.yaml")
    old_edges = positional_edges(spec)
    ref_counts = {layer.index: len(layer.refs) for layer in spec.layers}
    count = len(spec.layers)
    result = insert_layers(spec, "halo", after=after, before=before)
    new_rows = sorted(result.inserted)
    assert len(new_rows) == sum(len(step.new_indices) for step in result.steps)
    assert len(spec.layers) == count + len(new_rows)
    assert {(s, c) for s, c, _k in positional_edges(spec)} == expected_edges_after_inserts(
        old_edges, result, ref_counts
    )
    assert all(spec.layers[i].module == "HaloAttention" for i in new_rows)
    old_layers = ModelSpec.from_text(text).layers
    for old, new in result.index_map.items():
        assert spec.layers[new].row[1:] == old_layers[old].row[1:]
    assert_minimal_insert(text, spec.dump(), MARKER, count=len(new_rows))
    for index in reversed(new_rows):
        remove_layer(spec, index)
    assert spec.dump() == text
    return spec


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_bundled_model_all_targets_in_one_edit(name: str) -> None:
    text = read_input(MODELS[name])[0]
    after, before = every_placement(ModelSpec.from_text(text))
    check_one_edit(text, after, before)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("name", FAMILIES)
def test_every_layout_all_targets_in_one_edit(name: str, layout: str) -> None:
    text = LAYOUTS[layout](read_input(MODELS[name])[0])
    after, before = every_placement(ModelSpec.from_text(text))
    check_one_edit(text, after, before)


@pytest.mark.parametrize("name", FAMILIES)
def test_flow_lists_all_targets_in_one_edit(name: str) -> None:
    text = to_flow(read_input(MODELS[name])[0])
    after, before = every_placement(ModelSpec.from_text(text))
    check_one_edit(text, after, before)


def test_before_detect_gives_one_layer_per_input_read_only_by_detect() -> None:
    spec = ModelSpec.load(resolve_base("yolo11n").path)
    old = ModelSpec.load(resolve_base("yolo11n").path)
    result = insert_layers(spec, "halo", before=["Detect"])
    assert result.inserted == [23, 24, 25]
    detect = spec.layers[26]
    assert detect.module == "Detect" and detect.sources == [23, 24, 25]
    assert [spec.layers[i].sources for i in (23, 24, 25)] == [[16], [19], [22]]
    for i in (23, 24, 25):
        assert [c.index for c in spec.consumers(i)] == [26]
    for source in (16, 19, 22):  # the neck still reads the originals
        assert [c.index for c in spec.consumers(source) if c.index < 23] == [
            c.index for c in old.consumers(source) if c.index != 23
        ]
    assert result.index_map == {**{i: i for i in range(23)}, 23: 26}


def test_module_all_and_section_forms() -> None:
    spec = ModelSpec.load(resolve_base("yolo11n").path)
    result = insert_layers(spec, "halo", after=["head:C3k2:all"])
    assert [step.target for step in result.steps] == [13, 16, 19, 22]
    spec = ModelSpec.load(resolve_base("yolo11n").path)
    result = insert_layers(spec, "halo", after=["backbone:C3k2:2", "head:C3k2:2", "C3k2:all"])
    assert [step.target for step in result.steps][:2] == [4, 16]
    assert len(result.inserted) == 10
    spec = ModelSpec.load(resolve_base("yolo11n").path)
    with pytest.raises(LayerSpecError, match="no layer in the head uses module 'SPPF'"):
        insert_layers(spec, "halo", after=["head:SPPF"])


def test_two_inserts_at_one_point_chain_in_the_order_given() -> None:
    spec = ModelSpec.load(resolve_base("yolo11n").path)
    first, second = Insertion(HALO, [2, 1], "after", spec.layers[9]), Insertion(HALO, [4, 2], "after", spec.layers[9])
    result = insert_many(spec, [first, second])
    assert [spec.layers[i].args for i in result.inserted] == [[2, 1], [4, 2]]
    assert spec.layers[11].sources == [10] and spec.layers[12].sources == [11]


def targets(spec: ModelSpec) -> st.SearchStrategy:
    """Lists of (placement, layer index, args tag) over every valid placement of `spec`."""
    after, before = every_placement(spec)
    choice = st.one_of(st.tuples(st.just("after"), st.sampled_from(after)),
                       st.tuples(st.just("before"), st.sampled_from(before)))
    return st.lists(choice, min_size=1, max_size=8)


YOLO11 = read_input(resolve_base("yolo11n").path)[0]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_result_does_not_depend_on_the_order_of_targets(data: st.DataObject) -> None:
    picks = data.draw(targets(ModelSpec.from_text(YOLO11)))
    order = data.draw(st.permutations(range(len(picks))))
    tagged = [(placement, index, k + 1) for k, (placement, index) in enumerate(picks)]
    shuffled = [tagged[k] for k in order]
    # inserts at one point keep the order given: put each point's inserts back in their order
    by_point: dict[tuple[str, int], list] = {}
    for item in tagged:
        by_point.setdefault(item[:2], []).append(item)
    shuffled = [by_point[item[:2]].pop(0) for item in shuffled]

    def edit(items: list) -> str:
        spec = ModelSpec.from_text(YOLO11, "yolo11.yaml")
        insert_many(spec, [Insertion(HALO, [tag, 1], placement, spec.layers[index])
                           for placement, index, tag in items])
        return spec.dump()

    assert edit(tagged) == edit(shuffled)


def test_cli_before_detect_builds_and_reports_every_edit(tmp_path) -> None:
    import json

    from conftest import invoke_cli

    result = invoke_cli("insert", "halo", "--before", "Detect", "--after", "SPPF", "--base", "yolo11n",
                     "--json", "--imgsz", "256", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["inserted"] == [10, 24, 25, 26]
    assert [(s["placement"], s["target"]["module"], s["new_indices"]) for s in report["steps"]] == [
        ("after", "SPPF", [10]), ("before", "Detect", [24, 25, 26])]
    assert report["build"]["inserted"] == [10, 24, 25, 26]
    layers = {layer["index"]: layer for layer in report["build"]["model"]["layers"]}
    assert layers[27]["from"] == [24, 25, 26] and layers[27]["module"] == "Detect"
    written = ModelSpec.load(tmp_path / report["output"])
    assert written.layers[24].sources == [17] and written.layers[11].sources == [10]
    rich = invoke_cli("insert", "halo", "--before", "Detect", "--base", "yolo11n", "--no-build", "-o", "-",
                   cwd=tmp_path)
    assert rich.returncode == 0, rich.stderr
    assert "insert halo before layer 23 (Detect) -> layers 23, 24, 25" in rich.stderr.replace("\n", " ")


def test_no_build_note_names_every_new_row_with_unfilled_args() -> None:
    from yolo_compose.composer.edit import compose_insert, note_unfilled_resolution

    edit = compose_insert("yolo11n", "mhsa", before=["Detect"])
    note_unfilled_resolution(edit)
    assert len(edit.warnings) == 1
    assert "(layer 23: width=20, height=20; layer 24: width=20, height=20; layer 25:" in edit.warnings[0]
