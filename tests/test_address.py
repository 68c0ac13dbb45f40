"""Layer SPECs: every form resolves to the right layer, and every bad one lists what is valid."""

from __future__ import annotations

import pytest

from yolo_compose.composer import ModelSpec, resolve_layer
from yolo_compose.composer.bases import resolve_base
from yolo_compose.errors import LayerSpecError


@pytest.fixture(scope="module")
def yolo11() -> ModelSpec:
    return ModelSpec.load(resolve_base("yolo11n").path)


@pytest.mark.parametrize(
    ("text", "index"),
    [
        ("8", 8),
        ("0", 0),
        ("-1", 23),
        ("-24", 0),
        (" 16 ", 16),
        ("SPPF", 9),
        ("sppf", 9),
        ("C2PSA", 10),
        ("Detect", 23),
        ("nn.Upsample:2", 14),
        ("C3k2:1", 2),
        ("C3k2:2", 4),
        ("C3k2:8", 22),
        ("C3k2:-1", 22),
        ("C3k2:last", 22),
        ("Concat:-2", 18),
        ("backbone", 10),
        ("BACKBONE", 10),
    ],
)
def test_spec_forms(yolo11: ModelSpec, text: str, index: int) -> None:
    assert resolve_layer(yolo11, text).index == index


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("24", "layer spec '24': index out of range for a model with 24 layers"),
        ("-25", "layer spec '-25': index out of range for a model with 24 layers"),
        ("", "layer spec '': empty spec"),
        (
            "C3k2",
            "layer spec 'C3k2': C3k2 occurs 8 times (layers 2, 4, 6, 8, 13, 16, 19, 22); "
            "say which: C3k2:1..C3k2:8 or C3k2:last",
        ),
        ("C3k2:9", "layer spec 'C3k2:9': occurrence '9' is not valid; C3k2 occurs 8 times"),
        ("C3k2:0", "occurrence '0' is not valid"),
        ("C3k2:x", "occurrence 'x' is not valid"),
        (
            "SPFF",
            "layer spec 'SPFF': no layer uses module 'SPFF' (did you mean SPPF?); "
            "modules in this model: Conv,",
        ),
        ("Halo", "no layer uses module 'Halo'"),
    ],
)
def test_bad_specs_say_what_is_valid(yolo11: ModelSpec, text: str, problem: str) -> None:
    with pytest.raises(LayerSpecError) as info:
        resolve_layer(yolo11, text)
    message = str(info.value)
    assert problem in message
    assert (
        "valid: an index (8, -1), a module name (SPPF), Module:k (C3k2:2, C3k2:last) or `backbone`" in message
    )
    assert message.endswith("indices 0..23 (or -24..-1)")
    assert message.startswith(f"{yolo11.source}: ")
