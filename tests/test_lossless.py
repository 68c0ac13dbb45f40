"""Lossless edits in every layout real model files have: flow lists, CRLF, BOM, tabs, Chinese
comments, whitespace-only lines, no final newline.

For each layout of the bundled ultralytics YAMLs, an insert at every position adds one line and
changes others only where it must (a renumbered number, or a comma or bracket a flow list moves),
the dataflow graph is the old graph plus one node, and insert-then-remove gives back every byte.
"""

from __future__ import annotations

import re

import pytest
from _edit_checks import assert_minimal_insert, expected_edges_after_insert
from _layouts import LAYOUTS, to_flow
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yolo_compose.composer import ModelSpec, insert_layer, remove_layer
from yolo_compose.composer.files import read_input
from yolo_compose.integration.installed import bundled_models
from yolo_compose.integration.roles import HEAD_MODULES

MODELS = bundled_models()
#: One of each family and task, for the layouts that are not flow style.
FAMILIES = ["yolo11", "yolov8", "yolov5", "yolov3", "yolov9c", "yolov10n", "yolo12", "yolo26", "rtdetr-l",
            "yolo11-seg", "yolov8-pose", "yolo11-obb", "yolov8-p2", "yolov8-cls"]
MARKER = "HaloAttention (halo)"


def placements(layer) -> list[str]:
    """Where an insert is possible: after any layer but a head, before any single-input layer."""
    return ([] if layer.module in HEAD_MODULES else ["after"]) + ([] if layer.is_multi_input else ["before"])


def check_every_insert(text: str) -> int:
    """Insert halo at every position of `text`: minimal line changes, graph check, exact undo."""
    spec = ModelSpec.from_text(text, "model.yaml")
    assert spec.dump() == text
    count = 0
    for layer in list(spec.layers):
        for placement in placements(layer):
            old_edges = spec.edges()
            result = insert_layer(spec, "halo", **{placement: layer.index})
            assert spec.edges() == expected_edges_after_insert(old_edges, result), (placement, layer.index)
            assert_minimal_insert(text, spec.dump(), MARKER)
            remove_layer(spec, result.new_index)
            assert spec.dump() == text, (placement, layer.index)
            count += 1
    return count


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_bundled_model_as_a_flow_list(name: str) -> None:
    text = to_flow(read_input(MODELS[name])[0])
    assert ModelSpec.from_text(text).edges() == ModelSpec.from_text(read_input(MODELS[name])[0]).edges()
    assert check_every_insert(text) > 0


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("name", FAMILIES)
def test_every_layout(name: str, layout: str) -> None:
    original = read_input(MODELS[name])[0]
    text = LAYOUTS[layout](original)
    assert text != original
    assert ModelSpec.from_text(text).edges() == ModelSpec.from_text(original).edges()
    assert check_every_insert(text) > 0


YOLOV5_BACKBONE = """\
# YOLOv5 v6.0 backbone
backbone:
  # [from, number, module, args]
  [[-1, 1, Conv, [64, 6, 2, 2]],  # 0-P1/2
   [-1, 1, Conv, [128, 3, 2]],  # 1-P2/4
   [-1, 3, C3, [128]],
   [-1, 1, Conv, [256, 3, 2]],  # 3-P3/8
   [-1, 6, C3, [256]],
   [-1, 1, SPPF, [1024, 5]],  # 5
  ]

# YOLOv5 v6.0 head
head:
  [[-1, 1, Conv, [512, 1, 1]],
   [[-1, 4], 1, Concat, [1]],  # cat backbone P4

   [[6, 4], 1, Detect, [nc]],  # Detect(P3, P4, P5)
  ]
"""


def test_yolov5_flow_file_insert_after_3() -> None:
    spec = ModelSpec.from_text(YOLOV5_BACKBONE)
    insert_layer(spec, "halo", after=3)
    assert spec.dump() == YOLOV5_BACKBONE.replace(
        "   [-1, 1, Conv, [256, 3, 2]],  # 3-P3/8\n",
        "   [-1, 1, Conv, [256, 3, 2]],  # 3-P3/8\n   [-1, 1, HaloAttention, [2, 1, 4, 0]],  # 4 HaloAttention (halo)\n",
    ).replace("  # 5\n", "  # 6\n").replace("[[-1, 4], 1, Concat", "[[-1, 5], 1, Concat").replace(
        "[[6, 4], 1, Detect", "[[7, 5], 1, Detect"
    )


def test_flow_list_closed_on_its_last_row_moves_the_bracket_down() -> None:
    text = "backbone:\n  [[-1, 1, Conv, [64]],  # 0\n   [-1, 1, SPPF, [64, 5]]]  # 1\nhead:\n  [[[0, 1], 1, Detect, [nc]]]\n"
    spec = ModelSpec.from_text(text)
    insert_layer(spec, "halo", after=1)
    assert spec.dump() == (
        "backbone:\n  [[-1, 1, Conv, [64]],  # 0\n   [-1, 1, SPPF, [64, 5]],  # 1\n"
        "   [-1, 1, HaloAttention, [2, 1, 4, 0]]]  # 2 HaloAttention (halo)\n"
        "head:\n  [[[0, 2], 1, Detect, [nc]]]\n"
    )
    remove_layer(spec, 2)
    assert spec.dump() == text


def test_before_the_first_flow_row_takes_the_opening_bracket_line() -> None:
    text = "backbone:\n  [[-1, 1, Conv, [64]],  # 0-P1/2\n   [-1, 1, Conv, [64]],  # 1\n  ]\nhead: [[[0, 1], 1, Detect, [nc]]]\n"
    spec = ModelSpec.from_text(text)
    insert_layer(spec, "halo", before=0)
    assert spec.dump() == (
        "backbone:\n  [[-1, 1, HaloAttention, [2, 1, 4, 0]],  # 0 HaloAttention (halo)\n"
        "   [-1, 1, Conv, [64]],  # 1-P1/2\n   [-1, 1, Conv, [64]],  # 2\n  ]\nhead: [[[1, 2], 1, Detect, [nc]]]\n"
    )
    remove_layer(spec, 0)
    assert spec.dump() == text


def test_spaced_brackets_are_copied_from_the_row_above() -> None:
    text = "backbone:\n  [ [ -1, 1, CBH, [ 48, 3, 2 ] ],  # 0\n    [ -1, 1, CBH, [ 96 ] ],  # 1\n  ]\nhead:\n  - [[0, 1], 1, Detect, [nc]]\n"
    spec = ModelSpec.from_text(text)
    insert_layer(spec, "halo", after=1, args=[2, 1])
    assert "    [ -1, 1, HaloAttention, [ 2, 1 ] ],  # 2 HaloAttention (halo)\n  ]\n" in spec.dump()


def test_two_blanks_before_a_comment_and_whitespace_lines_stay() -> None:
    text = (
        "backbone:\n  - [-1, 1, Conv, [64]]   \n   \n  - [-1, 1, Conv, [64]]  # 1 two blanks\n"
        "  - [-1, 1, Conv, [64]] # 2\n    \nhead:\n  - [[-1, 0], 1, Concat, [1]]  # cat head P5\n"
        "  - [[3, 1], 1, Detect, [nc]]\n"
    )
    spec = ModelSpec.from_text(text)
    insert_layer(spec, "halo", after=0)
    assert spec.dump() == text.replace(
        "  - [-1, 1, Conv, [64]]   \n", "  - [-1, 1, Conv, [64]]   \n  - [-1, 1, HaloAttention, [2, 1, 4, 0]] # 1 HaloAttention (halo)\n"
    ).replace("# 1 two", "# 2 two").replace("]] # 2\n", "]] # 3\n").replace("[[-1, 0], 1", "[[-1, 1], 1").replace(
        "[[3, 1], 1, Detect", "[[4, 2], 1, Detect"
    )


def test_crlf_bom_and_no_final_newline_survive_an_edit() -> None:
    text = "\ufeffbackbone:\r\n  - [-1, 1, Conv, [64]] # 0\r\n  - [-1, 1, Conv, [64]] # 1\r\nhead:\r\n  - [[0, 1], 1, Detect, [nc]]"
    spec = ModelSpec.from_text(text)
    insert_layer(spec, "halo", after=0)
    edited = spec.dump()
    assert edited.startswith("\ufeffbackbone:\r\n  - [-1, 1, Conv, [64]] # 0\r\n  - [-1, 1, HaloAttention")
    assert "\n" not in edited.replace("\r\n", "") and edited.endswith("[[1, 2], 1, Detect, [nc]]")
    remove_layer(spec, 1)
    assert spec.dump() == text


def test_rows_sharing_a_line_get_the_new_row_inline() -> None:
    text = "backbone: [[-1, 1, Conv, [8]], [-1, 1, Conv, [8]]]\nhead: [[[0, 1], 1, Detect, [1]]]\n"
    spec = ModelSpec.from_text(text)
    insert_layer(spec, "halo", before=1, args=[2, 1])
    assert spec.dump() == (
        "backbone: [[-1, 1, Conv, [8]], [-1, 1, HaloAttention, [2, 1]], [-1, 1, Conv, [8]]]\n"
        "head: [[[0, 2], 1, Detect, [1]]]\n"
    )
    remove_layer(spec, 1)
    assert spec.dump() == text


def test_an_aliased_row_is_not_edited() -> None:
    text = "backbone:\n  - &c [-1, 1, Conv, [8]]\n  - *c\nhead:\n  - [[0, 1], 1, Detect, [1]]\n"
    spec = ModelSpec.from_text(text, "a.yaml")
    with pytest.raises(Exception, match="anchors/aliases"):
        insert_layer(spec, "halo", after=0)
    assert spec.dump() == text


# --- random layouts of random layer graphs -----------------------------------------------------------

MODULES = ("Conv", "C2f", "SPPF", "nn.Upsample", "MyBlock")


def _ref(draw: st.DrawFn, index: int) -> int:
    """One `from` entry of layer `index`, to any earlier layer, absolute or relative."""
    if index == 0:
        return -1
    source = draw(st.integers(min_value=0, max_value=index - 1))
    return source if draw(st.booleans()) else source - index


def _row(draw: st.DrawFn, index: int, spaced: bool) -> str:
    """A row `[from, repeats, module, args]`, its `from` one ref or (after layer 0) a list of refs."""
    if index > 0 and draw(st.integers(0, 3)) == 0:
        refs = [_ref(draw, index) for _ in range(draw(st.integers(1, 3)))]
        row = f"[[{', '.join(map(str, refs))}], 1, Concat, [1]]"
    else:
        row = f"[{_ref(draw, index)}, {draw(st.integers(1, 3))}, {draw(st.sampled_from(MODULES))}, [{8 * (index + 1)}, 3]]"
    return re.sub(r"\[(?!\])", "[ ", re.sub(r"(?<!\[)\]", " ]", row)) if spaced else row


def _comment(draw: st.DrawFn, index: int) -> str:
    """No comment, an index comment in one of the usual forms, or a note; one or two blanks before it."""
    form = draw(st.sampled_from(["", f"# {index}", f"# {index}-P3/8", f"# {index} (P4/16)", f"#\t{index}: cat",
                                 "# note", "# 注释 中文"]))
    return f"{' ' * draw(st.integers(1, 2))}{form}" if form else draw(st.sampled_from(["", "  "]))


def _between(draw: st.DrawFn) -> list[str]:
    """What may stand between two rows: nothing, a blank, a whitespace-only line, a comment line."""
    return draw(st.lists(st.sampled_from(["", "   ", "  # a note between rows", "# 说明"]), max_size=2))


def _section(draw: st.DrawFn, name: str, rows: list[str], comments: list[str], spaced: bool) -> list[str]:
    """A section's lines: block or flow (opener on the first row, closed on its own line or on the
    last row), a header comment or not, gaps between rows."""
    lines = [f"{name}:" + draw(st.sampled_from(["", " # section"]))]
    if draw(st.booleans()):
        lines.append("  # [from, repeats, module, args]")
    flow = spaced or draw(st.booleans())
    last_row_closes = draw(st.booleans())
    indent = draw(st.sampled_from(["", "  ", "    "]))
    for k, (row, comment) in enumerate(zip(rows, comments, strict=True)):
        if flow:
            opener = ("[ " if spaced else "[") if k == 0 else " "
            end = "]" if last_row_closes and k == len(rows) - 1 else ","
            lines.append(f"  {opener}{row}{end}{comment}")
        else:
            lines.append(f"{indent}- {row}{comment}")
        if k + 1 < len(rows):
            lines += _between(draw)
    if flow and not last_row_closes:
        lines.append("  ]")
    return lines


@st.composite
def laid_out_models(draw: st.DrawFn) -> str:
    """A random layer graph in a random layout: block or flow per section, bracket spacing, comments,
    gaps, CRLF or LF, a BOM or not, a final newline or not. The last layer is a Detect."""
    count = draw(st.integers(min_value=2, max_value=8))
    backbone = draw(st.integers(min_value=1, max_value=count - 1))
    spaced = [draw(st.booleans()), draw(st.booleans())]
    rows = [_row(draw, k, spaced[k >= backbone]) for k in range(count)]
    detect = f"[[{count - 1}, {max(count - 2, 0)}], 1, Detect, [nc]]"
    rows.append(re.sub(r"\[(?!\])", "[ ", re.sub(r"(?<!\[)\]", " ]", detect)) if spaced[1] else detect)
    comments = [_comment(draw, k) for k in range(count + 1)]
    lines = ["nc: 4 # classes"]
    lines += _section(draw, "backbone", rows[:backbone], comments[:backbone], spaced[0])
    lines += _section(draw, "head", rows[backbone:], comments[backbone:], spaced[1])
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join(lines) + (newline if draw(st.booleans()) else "")
    return ("\ufeff" if draw(st.booleans()) else "") + text


PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(laid_out_models())
def test_random_layouts_insert_minimally_and_undo_exactly(text: str) -> None:
    assert check_every_insert(text) > 0
