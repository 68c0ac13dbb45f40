"""The one YOLO name grammar and scale rule, held to ultralytics' own guess_model_scale."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ultralytics.nn.tasks import guess_model_scale

from yolo_compose.composer.naming import (
    SCALES,
    choose_scale,
    guess_scale,
    legacy_p6_stem,
    per_scale_names,
    scaled_name,
    unified_stem,
)

_NOISE = st.text(alphabet="yolYOLev-_.0123456789nslmxbcptu/", max_size=12)
_STRUCTURED = st.builds(
    "".join,
    st.tuples(
        st.sampled_from(["", "my-", "yolo", "v8", "runs/", "x_"]),
        st.sampled_from(["yolo", "YOLO", "yolov", "yoloe-", "yoloe-v", "yol"]),
        st.text(alphabet="0123456789", max_size=3),
        st.sampled_from(["", *SCALES, "b", "c", "e", "t", "6"]),
        st.sampled_from(["", "u", "-p2", "-seg", "6", "-halo", "n-x"]),
        _NOISE,
        st.sampled_from(["", ".yaml", ".yml", ".pt"]),
    ),
)


@given(st.one_of(_STRUCTURED, _NOISE))
def test_the_scale_in_a_name_is_the_one_ultralytics_reads(name: str) -> None:
    assert guess_scale(name) == guess_model_scale(name)


@pytest.mark.parametrize(
    ("name", "scale"),
    [("yolo11n-halo.yaml", "n"), ("yolov8x-p2", "x"), ("my_model.yaml", ""), ("yoloe-11s-seg", "s"),
     ("my-yolo11m-halo.yaml", "m"), ("yolov5nu", "n"), ("yolov8-p2", ""), ("YOLO11n", ""), ("yolov10b", "")],
)
def test_guess_scale_examples(name: str, scale: str) -> None:
    assert guess_scale(name) == scale


def test_choose_scale_order() -> None:
    assert choose_scale(["n", "s"], requested="s", name="yolo11n.yaml", written="n") == "s"
    assert choose_scale(["n", "s"], name="yolo11x.yaml", written="s") == "x"  # not among them: fails later
    assert choose_scale(["n", "s"], name="mine.yaml", written="s") == "s"
    assert choose_scale(["n", "s"], name="mine.yaml") == "n"
    assert choose_scale([], name="mine.yaml") == ""
    # a checkpoint's trained scale comes after the name's letter, before the YAML's own scale:
    assert choose_scale(["n", "s"], name="yolo11n.yaml", trained="s") == "n"
    assert choose_scale(["n", "s"], name="mine.yaml", trained="s", written="n") == "s"
    assert choose_scale([], requested="m", trained="s") == "m"


def test_name_transforms() -> None:
    assert scaled_name("yolo11n", "s") == "yolo11s" and scaled_name("yolov8-p2", "m") == "yolov8m-p2"
    assert scaled_name("custom", "s") == "custom" and scaled_name("yolo11n", None) == "yolo11n"
    assert per_scale_names("yolov8-p2") == [f"yolov8{s}-p2" for s in SCALES]
    assert per_scale_names("yolov10b") == per_scale_names("rtdetr-l") == []
    assert unified_stem("yolo11n-seg") == "yolo11-seg" and unified_stem("yolo11") == "yolo11"
    assert legacy_p6_stem("yolov8n6") == "yolov8n-p6" and legacy_p6_stem("yolo11n6") == "yolo11n6"
