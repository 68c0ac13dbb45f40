"""Properties on generated layer graphs: for every position, insert-then-remove gives back the
same document text, and the graph after an insert is the old graph plus one node."""

from __future__ import annotations

from _edit_checks import expected_edges_after_insert
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yolo_compose.composer import ModelSpec, insert_layer, remove_layer

MODULES = ("Conv", "C2f", "SPPF", "nn.Upsample", "MyBlock")


@st.composite
def model_texts(draw: st.DrawFn) -> str:
    """A model YAML: random refs (relative and absolute, single and list), comments and gaps."""
    count = draw(st.integers(min_value=2, max_value=9))
    backbone_length = draw(st.integers(min_value=1, max_value=count - 1))
    lines = ["nc: 4 # classes", "backbone:", "  # [from, repeats, module, args]"]
    for index in range(count):
        if index == backbone_length:
            lines.append("head:")
        lines.append(_row(draw, index) + _comment(draw, index))
        if draw(st.integers(0, 4)) == 0:
            lines.append("")
    lines.append(f"  - [[{count - 1}, -2], 1, Detect, [nc]] # {count} Detect" if count > 1 else "")
    return "\n".join(lines) + "\n"


def _ref(draw: st.DrawFn, index: int) -> int:
    """One `from` entry of layer `index`, to any earlier layer, absolute or relative."""
    if index == 0:
        return -1
    source = draw(st.integers(min_value=0, max_value=index - 1))
    return source if draw(st.booleans()) else source - index


def _row(draw: st.DrawFn, index: int) -> str:
    """A row whose `from` is one ref or (after layer 0) a list of refs."""
    if index > 0 and draw(st.integers(0, 3)) == 0:
        refs = [_ref(draw, index) for _ in range(draw(st.integers(1, 3)))]
        return f"  - [[{', '.join(map(str, refs))}], 1, Concat, [1]]"
    module = draw(st.sampled_from(MODULES))
    return f"  - [{_ref(draw, index)}, {draw(st.integers(1, 3))}, {module}, [{8 * (index + 1)}, 3]]"


def _comment(draw: st.DrawFn, index: int) -> str:
    """No comment, an index comment in one of the usual forms, or a plain note."""
    form = draw(
        st.sampled_from(
            ["", f"# {index}", f"# {index}-P3/8", f"# {index} (P4/16)", f"# {index}: cat", "# note"]
        )
    )
    return f" {form}" if form else ""


PROPERTY_SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def placements(layer) -> list[str]:
    """Where an insert is possible: after any layer but the head, before any single-input layer."""
    return (["after"] if layer.module != "Detect" else []) + ([] if layer.is_multi_input else ["before"])


@PROPERTY_SETTINGS
@given(model_texts())
def test_insert_then_remove_gives_back_the_document(text: str) -> None:
    spec = ModelSpec.from_text(text)
    original = spec.dump()
    for layer in list(spec.layers):
        for placement in placements(layer):
            result = insert_layer(spec, "halo", **{placement: layer.index})
            if layer.index == 0:
                edited = spec.dump()
                assert ModelSpec.from_text(edited).dump() == edited
            remove_layer(spec, result.new_index)
            assert spec.dump() == original, (placement, layer.index)


@PROPERTY_SETTINGS
@given(model_texts())
def test_graph_after_insert_is_the_old_graph_plus_one_node(text: str) -> None:
    spec = ModelSpec.from_text(text)
    old_edges = spec.edges()
    count = len(spec.layers)
    for layer in list(spec.layers):
        for placement in placements(layer):
            result = insert_layer(spec, "halo", **{placement: layer.index})
            assert spec.edges() == expected_edges_after_insert(old_edges, result), (placement, layer.index)
            assert spec.layers[result.new_index].module == "HaloAttention"
            assert result.index_map == {i: i if i < result.new_index else i + 1 for i in range(count)}
            remove_layer(spec, result.new_index)  # undone exactly (the test above), so reuse the spec
            assert spec.edges() == old_edges
