"""Golden tests of insert/remove: exact YAML text before and after, the report, and the errors."""

from __future__ import annotations

import pytest

from yolo_compose.composer import ModelSpec, compose_insert, compose_remove, insert_layer, remove_layer
from yolo_compose.composer.bases import resolve_base
from yolo_compose.composer.edit import output_name, output_target, parse_args_json
from yolo_compose.composer.files import read_input
from yolo_compose.errors import EditError, LayerSpecError, OutputExistsError, UnknownModuleError
from yolo_compose.render.insert import edit_dict

# The layer part of ultralytics' yolo11.yaml after `insert halo --after 8` with the seed's args:
# the wiring of the seed 003 YAML (Concat 14 and 11, Detect [17, 20, 23]), comments renumbered.
SEED_003_LAYERS = """\
backbone:
  # [from, repeats, module, args]
  - [-1, 1, Conv, [64, 3, 2]] # 0-P1/2
  - [-1, 1, Conv, [128, 3, 2]] # 1-P2/4
  - [-1, 2, C3k2, [256, False, 0.25]]
  - [-1, 1, Conv, [256, 3, 2]] # 3-P3/8
  - [-1, 2, C3k2, [512, False, 0.25]]
  - [-1, 1, Conv, [512, 3, 2]] # 5-P4/16
  - [-1, 2, C3k2, [512, True]]
  - [-1, 1, Conv, [1024, 3, 2]] # 7-P5/32
  - [-1, 2, C3k2, [1024, True]]
  - [-1, 1, HaloAttention, [2, 1]] # 9 HaloAttention (halo)
  - [-1, 1, SPPF, [1024, 5]] # 10
  - [-1, 2, C2PSA, [1024]] # 11

# YOLO11n head
head:
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]]
  - [[-1, 6], 1, Concat, [1]] # cat backbone P4
  - [-1, 2, C3k2, [512, False]] # 14

  - [-1, 1, nn.Upsample, [None, 2, "nearest"]]
  - [[-1, 4], 1, Concat, [1]] # cat backbone P3
  - [-1, 2, C3k2, [256, False]] # 17 (P3/8-small)

  - [-1, 1, Conv, [256, 3, 2]]
  - [[-1, 14], 1, Concat, [1]] # cat head P4
  - [-1, 2, C3k2, [512, False]] # 20 (P4/16-medium)

  - [-1, 1, Conv, [512, 3, 2]]
  - [[-1, 11], 1, Concat, [1]] # cat head P5
  - [-1, 2, C3k2, [1024, True]] # 23 (P5/32-large)

  - [[17, 20, 23], 1, Detect, [nc]] # Detect(P3, P4, P5)
"""

TINY = """\
nc: 2 # classes
backbone:
  - [-1, 1, Conv, [16, 3, 2]] # 0-P1/2
  - [-1, 1, Conv, [32, 3, 2]] # 1 3x3 conv
  - [-1, 1, C2f, [32]] # 2: c2f

  - [-1, 1, Conv, [64, 3, 2]] # 3x3 stride 2
head:
  - [[-1, 1], 1, Concat, [1]] # 4 (cat P2)
  - [2, 1, Conv, [32, 3, 1]] # 5
  - [[4, -1], 1, Detect, [nc]] # Detect
"""


def yolo11_text() -> str:
    return read_input(resolve_base("yolo11n").path)[0]


def layer_part(text: str) -> str:
    """The text from `backbone:` to the end."""
    return text[text.index("backbone:") :]


def assert_stable(text: str) -> None:
    """Load-then-dump of an edited file changes nothing (STYLE point 11)."""
    assert ModelSpec.from_text(text).dump() == text


def test_seed_003_insert_halo_after_8() -> None:
    result = compose_insert("yolo11n", "halo", after=8, args=[2, 1])
    text = result.spec.dump()
    assert layer_part(text) == SEED_003_LAYERS
    assert text[: text.index("backbone:")] == yolo11_text()[: yolo11_text().index("backbone:")]
    assert result.new_index == 9
    assert result.inserted == [9]
    assert result.row == [-1, 1, "HaloAttention", [2, 1]]
    assert result.default_output_name == "yolo11n-halo.yaml"
    assert result.comments_renumbered == 6  # 9, 10, 13, 16, 19, 22
    assert_stable(text)


def test_seed_003_report_lists_every_rewired_reference() -> None:
    result = compose_insert("yolo11n", "halo", after=8, args=[2, 1])
    changed = {(r.layer, r.old_ref, r.new_ref, r.reason) for r in result.rewired}
    assert changed == {
        (10, -1, -1, "reads the new layer"),  # SPPF now reads HaloAttention
        (19, 13, 14, "its layer moved"),
        (22, 10, 11, "its layer moved"),
        (24, 16, 17, "its layer moved"),
        (24, 19, 20, "its layer moved"),
        (24, 22, 23, "its layer moved"),
    }
    assert result.index_map == {i: i if i < 9 else i + 1 for i in range(24)}


def test_after_16_feeds_the_attended_p3_to_every_consumer() -> None:
    spec = compose_insert("yolo11n", "halo", after=16).spec
    assert spec.layers[17].module == "HaloAttention"
    assert spec.layers[17].from_ == -1
    assert spec.layers[18].sources == [17]  # the Conv that read 16 now reads the new layer
    assert spec.layers[-1].from_ == [17, 20, 23]
    assert spec.layers[19].from_ == [-1, 13]  # refs before the edit point are kept as written
    assert spec.layers[22].from_ == [-1, 10]


def test_insert_before_a_layer_reads_its_input() -> None:
    spec = ModelSpec.from_text(TINY)
    result = insert_layer(spec, "halo", before=5, args=[2, 1])
    assert result.new_index == 5
    assert spec.layers[5].from_ == 2  # what layer 5 read, written the same (absolute) way
    assert spec.layers[6].from_ == 5  # the old layer 5 reads the new one, still absolute
    assert spec.layers[7].from_ == [4, -1]


def test_insert_then_remove_restores_the_bytes_for_both_placements() -> None:
    for placement, layers in (("after", range(6)), ("before", (0, 1, 2, 3, 5))):
        for layer in layers:
            spec = ModelSpec.from_text(TINY)
            original = spec.dump()
            result = insert_layer(spec, "halo", **{placement: layer})
            remove_layer(spec, result.new_index)
            assert spec.dump() == original, (placement, layer)


def test_comment_numbers_follow_their_layer_and_other_text_stays() -> None:
    spec = ModelSpec.from_text(TINY)
    insert_layer(spec, "halo", after=0, args=[2, 1])
    assert (
        spec.dump()
        == """\
nc: 2 # classes
backbone:
  - [-1, 1, Conv, [16, 3, 2]] # 0-P1/2
  - [-1, 1, HaloAttention, [2, 1]] # 1 HaloAttention (halo)
  - [-1, 1, Conv, [32, 3, 2]] # 2 3x3 conv
  - [-1, 1, C2f, [32]] # 3: c2f

  - [-1, 1, Conv, [64, 3, 2]] # 3x3 stride 2
head:
  - [[-1, 2], 1, Concat, [1]] # 5 (cat P2)
  - [3, 1, Conv, [32, 3, 1]] # 6
  - [[5, -1], 1, Detect, [nc]] # Detect
"""
    )


def test_gap_below_the_target_stays_below_the_new_row() -> None:
    spec = ModelSpec.from_text(TINY)
    insert_layer(spec, "halo", after=2, args=[2, 1])
    assert (
        "  - [-1, 1, C2f, [32]] # 2: c2f\n  - [-1, 1, HaloAttention, [2, 1]] # 3 HaloAttention (halo)\n\n"
        in (spec.dump())
    )


def test_before_puts_the_new_row_under_the_gap() -> None:
    spec = ModelSpec.from_text(TINY)
    insert_layer(spec, "halo", before=3, args=[2, 1])
    assert "# 2: c2f\n\n  - [-1, 1, HaloAttention, [2, 1]] # 3 HaloAttention (halo)\n" in spec.dump()


def test_after_backbone_keeps_the_head_header_above_head() -> None:
    text = compose_insert("yolo11n", "halo", after="backbone", args=[2, 1]).spec.dump()
    assert (
        "  - [-1, 2, C2PSA, [1024]] # 10\n  - [-1, 1, HaloAttention, [2, 1]] # 11 HaloAttention (halo)\n\n"
        in (text)
    )
    assert "# 11 HaloAttention (halo)\n\n# YOLO11n head\nhead:\n" in text
    assert "  - [[-1, 11], 1, Concat, [1]] # cat head P5\n" in text  # read 10, now reads the new layer


def test_remove_rewires_consumers_to_the_removed_layers_input() -> None:
    result = compose_remove("yolo11n", 13)
    spec = result.spec
    assert result.removed_index == 13
    assert 13 not in result.index_map
    assert spec.layers[13].module == "nn.Upsample"
    assert spec.layers[17].from_ == [-1, 12]  # read 13, now reads 13's input (12)
    assert spec.layers[-1].from_ == [15, 18, 21]
    assert any(r.reason == "reads the removed layer's input" and r.new_ref == 12 for r in result.rewired)
    assert result.default_output_name == "yolo11n-no13.yaml"
    assert (
        "  - [[-1, 4], 1, Concat, [1]] # cat backbone P3\n  - [-1, 2, C3k2, [256, False]] # 15 (P3/8-small)"
        in (spec.dump())
    )


def test_remove_of_the_seed_layer_gives_back_yolo11() -> None:
    result = compose_insert("yolo11n", "halo", after=8)
    remove_layer(result.spec, "HaloAttention")
    assert result.spec.dump() == yolo11_text()


def test_edit_dict_is_json_ready() -> None:
    data = edit_dict(compose_insert("yolo11n", "halo", after="SPPF", args=[2, 1]))
    assert data["action"] == "insert"
    assert data["new_index"] == 10
    assert data["target"] == {"index": 9, "module": "SPPF"}
    assert data["index_map"]["10"] == 11
    assert data["base"]["name"] == "yolo11n"
    assert data["module"] == {"name": "halo", "yaml_name": "HaloAttention"}
    assert {
        "layer": 11,
        "old_layer": 10,
        "module": "C2PSA",
        "old_ref": -1,
        "new_ref": -1,
        "reason": "reads the new layer",
    } in data["rewired"]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"after": 23},
            EditError,
            "layer 23: cannot insert after Detect: it is the model's output head; "
            "insert after one of its inputs instead (16, 19, 22)",
        ),
        ({"after": 1, "before": 2}, EditError, "give exactly one of after or before (a SPEC each)"),
        ({}, EditError, "give exactly one of after or before (a SPEC each)"),
        ({"after": 99}, LayerSpecError, "layer spec '99': index out of range for a model with 24 layers"),
        ({"after": 1, "args": [1, 2, 3, 4, 5, 6, 7, 8, 9]}, EditError, "halo takes at most"),
    ],
)
def test_insert_errors_name_the_values(kwargs: dict, error: type, message: str) -> None:
    spec = ModelSpec.load(resolve_base("yolo11n").path)
    with pytest.raises(error) as info:
        insert_layer(spec, "halo", **kwargs)
    assert message in str(info.value)


def test_unknown_module_lists_valid_ones() -> None:
    spec = ModelSpec.from_text(TINY)
    with pytest.raises(
        UnknownModuleError, match=r"unknown module 'hallo' \(did you mean halo\?\); valid: .*halo"
    ):
        insert_layer(spec, "hallo", after=1)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("Detect", "layer 6: cannot remove Detect: it is the model's output head"),
        ("Concat", "layer 4: cannot remove Concat: it reads several layers [-1, 1]"),
    ],
)
def test_remove_errors(target: str, message: str) -> None:
    with pytest.raises(EditError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        remove_layer(ModelSpec.from_text(TINY), target)


def test_remove_refuses_to_feed_the_image_to_a_later_layer() -> None:
    spec = ModelSpec.from_text(
        "backbone:\n  - [-1, 1, Conv, [8]]\n  - [-1, 1, Conv, [8]]\n  - [0, 1, Conv, [8]]\n"
        "head:\n  - [[1, 2], 1, Detect, [1]]\n"
    )
    with pytest.raises(EditError, match=r"layers \[2\] would read the input image"):
        remove_layer(spec, 0)


def test_remove_first_layer_makes_the_next_read_the_image() -> None:
    spec = ModelSpec.from_text(TINY)
    remove_layer(spec, 0)
    assert spec.layers[0].from_ == -1
    assert spec.layers[0].sources == [-1]


@pytest.mark.parametrize(
    ("base", "suffix", "scale", "expected"),
    [
        ("yolo11n", "halo", None, "yolo11n-halo.yaml"),
        ("yolo11n", "halo", "s", "yolo11s-halo.yaml"),
        ("yolo11", "halo", "m", "yolo11m-halo.yaml"),
        ("yolov8n-p2", "mhsa", "x", "yolov8x-p2-mhsa.yaml"),
        ("my_model", "halo", "s", "my_model-halo.yaml"),
    ],
)
def test_output_name_keeps_the_scale_letter(base: str, suffix: str, scale: str | None, expected: str) -> None:
    assert output_name(base, suffix, scale) == expected


def test_compose_insert_rejects_a_scale_the_model_lacks() -> None:
    with pytest.raises(EditError, match="scale 'q' is not defined by this model; valid: n, s, m, l, x"):
        compose_insert("yolo11n", "halo", after=8, scale="q")


@pytest.mark.parametrize(
    ("text", "message"),
    [("[2, 1", "is not valid JSON"), ('{"a": 1}', "must be a JSON list such as [2, 1]")],
)
def test_parse_args_json_errors(text: str, message: str) -> None:
    with pytest.raises(EditError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_args_json(text)


def test_output_target_rules(tmp_path) -> None:
    existing = tmp_path / "out.yaml"
    existing.write_text("x")
    assert output_target("-", "d.yaml", source=None, force=False) is None
    assert output_target(str(existing), "d.yaml", source=None, force=True) == existing
    with pytest.raises(OutputExistsError, match=r"exists; overwrite it \(force\), or choose another output$"):
        output_target(str(existing), "d.yaml", source=None, force=False)
    with pytest.raises(OutputExistsError, match="is the input file"):
        output_target(str(existing), "d.yaml", source=str(existing), force=True)
    with pytest.raises(OutputExistsError, match="does not exist"):
        output_target(str(tmp_path / "no" / "x.yaml"), "d.yaml", source=None, force=False)


GAPS = """\
backbone:
  # hdr
  - [-1, 1, Conv, [64, 3, 2]]

  - [-1, 1, Conv, [64, 3, 2]]
  - [-1, 1, Conv, [64, 3, 2]]    # eol

  # next: the head
head:
  - [-1, 1, Conv, [64, 3, 2]]
  - [[1, -1], 1, Detect, [1]]
"""


def test_remove_keeps_the_blank_lines_and_headers_around_the_row() -> None:
    spec = ModelSpec.from_text(GAPS)
    remove_layer(spec, 2)
    assert spec.dump() == GAPS.replace("  - [-1, 1, Conv, [64, 3, 2]]    # eol\n", "")
    spec = ModelSpec.from_text(GAPS)
    remove_layer(spec, 1)
    assert spec.dump() == GAPS.replace("\n  - [-1, 1, Conv, [64, 3, 2]]\n  - [-1", "\n  - [-1", 1).replace(
        "[[1, -1]", "[[0, -1]"
    )


def test_a_flow_style_section_gets_the_row_but_no_comment() -> None:
    text = "backbone: [[-1, 1, Conv, [8]], [-1, 1, Conv, [8]]]\nhead: [[[0, 1], 1, Detect, [1]]]\n"
    spec = ModelSpec.from_text(text)
    insert_layer(spec, "halo", after=0, args=[2, 1])
    assert spec.dump() == (
        "backbone: [[-1, 1, Conv, [8]], [-1, 1, HaloAttention, [2, 1]], [-1, 1, Conv, [8]]]\n"
        "head: [[[1, 2], 1, Detect, [1]]]\n"
    )
    remove_layer(spec, 1)
    assert spec.dump() == text


def test_a_gap_line_above_a_commented_row_is_kept() -> None:
    # the round-trip YAML library used before lost the blank line above a row with a trailing comment
    # when the row above had none; a text patch has nothing to lose
    text = (
        "backbone:\n  - [-1, 1, Conv, [8]]\n\n"
        "  - [-1, 1, Conv, [8]] # 1\nhead:\n  - [[0, 1], 1, Detect, [1]]\n"
    )
    result = insert_layer(ModelSpec.from_text(text), "halo", after=0)
    assert result.dump() == text.replace(
        "[8]]\n\n", "[8]]\n  - [-1, 1, HaloAttention, [2, 1, 4, 0]] # 1 HaloAttention (halo)\n\n"
    ).replace("# 1\n", "# 2\n").replace("[[0, 1]", "[[1, 2]")
    assert result.warnings == []
