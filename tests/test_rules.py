"""Rules with one owner give one verdict everywhere: `validate` and the build agree on `activation:`."""

from __future__ import annotations

import pytest

from yolo_compose.composer.lint import lint_text
from yolo_compose.composer.rules import is_safe_activation
from yolo_compose.errors import BuildError

MODEL = "nc: 2\nactivation: {act}\nbackbone:\n  - [-1, 1, Conv, [16, 3, 2]]\nhead:\n  - [[0], 1, Detect, [nc]]\n"
ACTIVATIONS = [
    ("nn.SiLU()", True),
    ("nn.LeakyReLU(-0.1)", True),
    ("torch.nn.ReLU(inplace=True)", True),
    ("nn.foo.Bar()", False),
    ("nn.SiLU(x)", False),
    ("__import__('os').system('true') or nn.SiLU()", False),
    ("nn.SiLU", False),
]


@pytest.mark.parametrize(("act", "safe"), ACTIVATIONS)
def test_validate_and_the_build_agree_on_activations(act, safe):
    from yolo_compose.build import parse_model_dict

    assert is_safe_activation(act) is safe
    codes = {finding.code for finding in lint_text(MODEL.format(act=f'"{act}"'), "m.yaml").findings}
    assert ("YC040" not in codes) is safe
    if safe:
        assert parse_model_dict(MODEL.format(act=f'"{act}"'), source_name="m.yaml", scale=None)["activation"] == act
    else:
        with pytest.raises(BuildError, match="refusing to eval"):
            parse_model_dict(MODEL.format(act=f'"{act}"'), source_name="m.yaml", scale=None)
