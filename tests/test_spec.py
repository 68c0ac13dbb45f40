"""The model spec: layers in one index space, every `from` form, and one clear error per problem."""

from __future__ import annotations

import pytest

from yolo_compose.composer import INPUT, ModelSpec, absolute_source
from yolo_compose.composer.bases import resolve_base
from yolo_compose.errors import (
    FileAccessError,
    LayerReferenceError,
    LayerRowError,
    NotAModelError,
    YamlSyntaxError,
)

MIXED = """\
# a model with every `from` form
nc: 3
backbone:
  - [-1, 1, Conv, [16, 3, 2]] # 0
  - [-1, 1, Conv, [32, 3, 2]] # 1
  - [0, 1, Conv, [32, 3, 2]] # 2 absolute
head:
  - [[-1, -2, 0], 1, Concat, [1]] # 3 mixed list
  - [[1, 3], 1, MyFusion, [8]] # 4 unknown multi-input
  - [[3, 4], 1, Detect, [nc]] # 5
"""


def test_backbone_and_head_share_one_index_space() -> None:
    spec = ModelSpec.from_text(MIXED, "mixed.yaml")
    assert [layer.index for layer in spec.layers] == [0, 1, 2, 3, 4, 5]
    assert [layer.section for layer in spec.layers] == ["backbone"] * 3 + ["head"] * 3
    assert [layer.position for layer in spec.layers] == [0, 1, 2, 0, 1, 2]
    assert spec.backbone_length == 3
    assert spec.layers[3].line == 8


def test_every_from_form_resolves_to_absolute_sources() -> None:
    spec = ModelSpec.from_text(MIXED)
    assert spec.layers[0].sources == [INPUT]
    assert spec.layers[2].sources == [0]
    assert spec.layers[3].refs == [-1, -2, 0]
    assert spec.layers[3].sources == [2, 1, 0]
    assert spec.layers[4].is_multi_input and spec.layers[4].sources == [1, 3]
    assert absolute_source(-3, 5) == 2
    assert absolute_source(-1, 0) == INPUT


def test_consumers_and_edges() -> None:
    spec = ModelSpec.from_text(MIXED)
    assert [layer.index for layer in spec.consumers(0)] == [1, 2, 3]
    assert spec.edges() == {(-1, 0), (0, 1), (0, 2), (2, 3), (1, 3), (0, 3), (1, 4), (3, 4), (3, 5), (4, 5)}


def test_round_trip_keeps_comments_quotes_and_flow_style() -> None:
    text = MIXED.replace("[16, 3, 2]", "[16, 3, 2, 'same', \"nearest\", True]")
    assert ModelSpec.from_text(text).dump() == text


def test_bundled_yolo11_round_trips() -> None:
    path = resolve_base("yolo11n").path
    assert ModelSpec.load(path).dump() == path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        (
            "backbone: [\n  - [-1, 1, Conv]\n",
            YamlSyntaxError,
            "m.yaml:2:3: invalid YAML: did not find expected node content",
        ),
        (
            "- 1\n- 2\n",
            NotAModelError,
            "m.yaml: not a model YAML: expected a mapping with `backbone` and `head`",
        ),
        ("nc: 1\nbackbone: []\n", NotAModelError, "m.yaml: not a model YAML: missing `head`"),
        ("backbone: []\nhead: []\n", NotAModelError, "m.yaml: the model has no layers"),
        (
            "backbone:\n  - [-1, 1, Conv, [8]]\n  - [-1, Conv, [8]]\nhead: []\n",
            LayerRowError,
            "m.yaml:3: layer 1: row must be [from, repeats, module, args], got 3 items",
        ),
        (
            "backbone:\n  - [-1, 1, Conv, [8]]\n  - [x, 1, Conv, [8]]\nhead: []\n",
            LayerRowError,
            "m.yaml:3: layer 1: `from` must be an integer or a list of integers, got 'x'",
        ),
        (
            "backbone:\n  - [-1, 0, Conv, [8]]\nhead: []\n",
            LayerRowError,
            "m.yaml:2: layer 0: repeats must be an integer >= 1, got 0",
        ),
        (
            "backbone:\n  - [-1, 1, Conv, 8]\nhead: []\n",
            LayerRowError,
            "m.yaml:2: layer 0: args must be a list, got 8",
        ),
        (
            "backbone:\n  - [-1, 1, Conv, [8]]\n  - [2, 1, Conv, [8]]\nhead: []\n",
            LayerReferenceError,
            "m.yaml:3: layer 1: `from` 2 points forward: a layer can read only earlier layers",
        ),
        (
            "backbone:\n  - [-1, 1, Conv, [8]]\n  - [-3, 1, Conv, [8]]\nhead: []\n",
            LayerReferenceError,
            "m.yaml:3: layer 1: `from` -3 reaches before the first layer",
        ),
        (
            "backbone:\n  - [-1, 1, Conv, [8]]\nhead:\n  - [[], 1, Detect, [nc]]\n",
            LayerReferenceError,
            "m.yaml:4: layer 1: `from` is an empty list: the layer has no inputs",
        ),
    ],
)
def test_each_problem_gets_its_own_message(text: str, error: type, message: str) -> None:
    with pytest.raises(error) as info:
        ModelSpec.from_text(text, "m.yaml")
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_load_of_a_missing_file_is_one_line(tmp_path) -> None:
    with pytest.raises(FileAccessError, match=r"nope\.yaml: no such file$"):
        ModelSpec.load(tmp_path / "nope.yaml")
