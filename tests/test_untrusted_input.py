"""Untrusted model YAMLs never run code and never hang or exhaust the machine.

Each case is checked through the real CLI (`yolo-compose validate`), and where the build tier is
involved, through the build child itself with the lint tier bypassed, to show that the second wall
holds too. Code execution is proven absent with a marker file that the payload would create; a
control test shows each payload does create it when evaluated.
"""

from __future__ import annotations

import tempfile
import types
from pathlib import Path

import pytest
from conftest import run_cli

from yolo_compose.validate_build import run_child

MODEL = """\
nc: 2
{extra}backbone:
  - [-1, 1, Conv, [16, 3, 2]] # 0
  - [-1, 1, Conv, [32, 3, 2]] # 1
  - [-1, 1, {module}, [{args}]] # 2
head:
  - [[1, 2], 1, Detect, [nc]] # 3
"""


def model(extra: str = "", module: str = "Conv", args: str = "32, 3, 2") -> str:
    """A tiny detection model (no scales) with one line of extra keys and layer 2 replaceable."""
    return MODEL.format(extra=extra, module=module, args=args)


def child_verdict(text: str, *, memory_mb: int = 8192, timeout_s: float = 120) -> dict:
    """Build text in the build child directly, bypassing the lint tier."""
    request = {
        "text": text,
        "source_name": "untrusted.yaml",
        "scales": [None],
        "sizes": [(64, 64)],
        "memory_mb": memory_mb,
        "imports": [],
    }
    return run_child(request, timeout_s=timeout_s)


def validate(tmp_path: Path, text: str | bytes, *args: str, name: str = "untrusted.yaml"):
    """Write the file and run `yolo-compose validate` on it."""
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return run_cli("validate", name, *args, cwd=tmp_path, timeout=240)


def assert_one_line(result, code: str, text: str) -> None:
    """Exit 1, exactly one finding line with the code and text, and no traceback."""
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].endswith(f"[{code}]") and text in lines[0], lines[0]
    assert "Traceback" not in result.stderr


# --- activation: eval() ---------------------------------------------------------------------------


def activation_payload(marker: Path) -> str:
    """An `activation:` string that creates the marker file when evaluated."""
    return f"__import__('pathlib').Path({str(marker)!r}).touch() or nn.SiLU()"


def test_activation_payload_is_live(tmp_path):
    """Control: evaluating the payload as ultralytics' default mode would does create the marker."""
    marker = tmp_path / "marker"
    eval(activation_payload(marker), {"nn": types.SimpleNamespace(SiLU=lambda: None)})
    assert marker.exists()


def test_activation_eval_is_a_lint_error_and_never_built(tmp_path):
    marker = tmp_path / "marker"
    text = model(extra=f'activation: "{activation_payload(marker)}"\n')
    result = validate(tmp_path, text, "--build")
    assert_one_line(result, "YC040", "would be passed to eval() by ultralytics")
    assert "build" not in result.stderr, "a file with lint errors must not be built"
    assert not marker.exists()


@pytest.mark.slow
def test_activation_eval_is_refused_by_the_build_child(tmp_path):
    marker = tmp_path / "marker"
    verdict = child_verdict(model(extra=f'activation: "{activation_payload(marker)}"\n'))
    assert verdict["ok"] is False
    assert "refusing to eval" in verdict["message"] or "restricted" in verdict["message"], verdict
    assert not marker.exists()


# --- module names that are not layers -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("torch_load", "imported by ultralytics.nn.tasks from ultralytics.utils.patches, not a layer"),
        ("yaml_model_load", "a function of ultralytics.nn.tasks, not a layer"),
        ("DetectionModel", "a model or helper class of ultralytics.nn.tasks, not a layer"),
        ("torch", "the Python module 'torch' imported by ultralytics.nn.tasks, not a layer"),
    ],
)
def test_non_layer_globals_are_rejected_before_any_build(name, kind, tmp_path):
    result = validate(tmp_path, model(module=name, args="'x.pt'"), "--build")
    assert_one_line(result, "YC031", f"module {name!r} is {kind}")
    assert "build" not in result.stderr


@pytest.mark.slow
def test_non_layer_global_is_refused_by_the_build_child(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the child's work folder goes here
    verdict = child_verdict(model(module="torch_load", args="'weights.pt'"))
    assert verdict["ok"] is False
    assert "not a permitted model layer under restricted loading" in verdict["message"], verdict
    assert verdict["layer"] == 2
    assert list(tmp_path.iterdir()) == [], "the child's work and config folders are removed"


# --- YAML tags ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tag",
    ["!!python/object/apply:os.system", "!!python/name:os.system", "!!python/object/new:os.system"],
)
def test_python_tags_are_refused_by_the_loader(tag, tmp_path):
    marker = tmp_path / "marker"
    text = model().replace("nc: 2", f"nc: {tag} [touch {marker}]")
    result = validate(tmp_path, text)
    assert_one_line(result, "YC003", f"tag {tag} refused: it asks a YAML loader to construct Python objects")
    assert result.stdout.startswith("untrusted.yaml:1:5: ")
    assert not marker.exists()


# --- resource exhaustion ----------------------------------------------------------------------------------


def billion_laughs() -> str:
    """Nine levels of nine aliases: 9^9 (387 million) strings once expanded."""
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]")
        previous = name
    return "\n".join(lines) + "\n" + model(args="*i")


def test_alias_bomb(tmp_path):
    result = validate(tmp_path, billion_laughs())
    assert_one_line(result, "YC004", "anchors and aliases expand the document by more than 100,000 nodes")


def test_self_referencing_alias(tmp_path):
    result = validate(tmp_path, "backbone: &a [*a]\nhead: []\n")
    assert_one_line(result, "YC004", "an alias refers to the node that contains it")


def test_50_mb_file(tmp_path):
    text = model() + "# padding\n" * (50 * 1024 * 1024 // 10)
    result = validate(tmp_path, text)
    assert_one_line(result, "YC001", "a model YAML is expected under 2,097,152 bytes")


def test_deep_nesting_does_not_crash(tmp_path):
    """libyaml's composer recurses in C: 50,000 nested lists would crash the process (SIGSEGV)."""
    result = validate(tmp_path, "backbone: " + "[" * 50_000 + "]" * 50_000 + "\nhead: []\n")
    assert_one_line(result, "YC002", "YAML nesting is too deep")


def test_repeats_of_a_billion_are_a_lint_error(tmp_path):
    text = model(module="C3k2", args="32").replace("[-1, 1, C3k2", "[-1, 1000000000, C3k2")
    result = validate(tmp_path, text)
    assert_one_line(result, "YC033", "repeats 1,000,000,000 is above the limit 100")


def test_channels_of_1e8_are_a_lint_error(tmp_path):
    result = validate(tmp_path, model(args="100000000, 3, 2"))
    assert_one_line(result, "YC033", "Conv output channels 100,000,000 are outside 1..8,192")


@pytest.mark.slow
def test_build_child_bounds_channels_of_1e8():
    """Past the lint tier, the child's memory limit turns 10^8 channels into one clear failure."""
    verdict = child_verdict(model(args="100000000, 3, 2"), memory_mb=5120, timeout_s=60)
    assert verdict == {"ok": False, "stage": "limit", "scale": None, "message": "build ran out of memory"}


@pytest.mark.slow
def test_build_child_bounds_repeats_of_1e9():
    """10^9 repeats: stopped by the memory limit or the time limit, whichever comes first."""
    text = model(module="C3k2", args="32").replace("[-1, 1, C3k2", "[-1, 1000000000, C3k2")
    verdict = child_verdict(text, memory_mb=5120, timeout_s=20)
    assert verdict["ok"] is False and verdict["stage"] == "limit", verdict


# --- malformed inputs: one clear line each, exit 1, never a traceback --------------------------------------


@pytest.mark.parametrize(
    ("content", "code", "text"),
    [
        ("", "YC010", "empty file: not a model YAML"),
        (b"\x00\x01\x02binary", "YC001", "binary file, not YAML"),
        ("nc: 80 # caf\xe9\n".encode("latin-1"), "YC001", "not UTF-8 (byte 12)"),
        ("backbone:\n  - [-1, 1, Conv, [16, 3, 2]]\n", "YC010", "not a model YAML: missing `head`"),
        ("backbone: 5\nhead: []\n", "YC010", "`backbone` must be a list of layer rows, got int"),
        ("backbone: []\nhead: []\n", "YC010", "the model has no layers"),
        ("backbone: [[a, b, c]]\nhead: []\n", "YC020", "row must be [from, repeats, module, args], got 3"),
        ("backbone: [[-1, 1, Conv, 5]]\nhead: []\n", "YC020", "args must be a list, got 5"),
        ("backbone: [[x, 1, Conv, []]]\nhead: []\n", "YC020", "`from` must be an integer or a list"),
        ("backbone: [[-1, 0, Conv, []]]\nhead: []\n", "YC020", "repeats must be an integer >= 1, got 0"),
        ("backbone: [[-1, 1, [Conv], []]]\nhead: []\n", "YC020", "module must be a name, got ['Conv']"),
        ("backbone: [[-1, 1, Conv, []]]\nhead: {a: 1}\n", "YC010", "`head` must be a list of layer rows"),
        ("backbone: [[-1, 1, Conv, [16]]]\nhead: []\n", "YC023", "the last layer is Conv, not a head"),
        ("nc: 80\nbackbone: [\n", "YC002", "invalid YAML"),
    ],
    ids=[
        "empty", "binary", "non-utf8", "missing-head", "backbone-int", "no-layers", "short-row",
        "args-int", "from-str", "repeats-0", "module-list", "head-map", "no-head-layer", "syntax",
    ],
)
def test_malformed_input(content, code, text, tmp_path):
    assert_one_line(validate(tmp_path, content), code, text)


def test_missing_file_is_one_line(tmp_path):
    result = run_cli("validate", "nowhere.yaml", cwd=tmp_path)
    assert_one_line(result, "YC001", "nowhere.yaml:1:1: error: no such file")


def test_build_never_downloads_weights(tmp_path):
    """A TorchVision layer with weights would download and unpickle them: reported, not built."""
    text = model(module="TorchVision", args="32, resnet18, DEFAULT, True, 2")
    result = validate(tmp_path, text, "--build")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "untrusted.yaml:5:41: warning: layer 2: TorchVision loads pretrained weights 'DEFAULT' from the "
        "internet when built; the build tier will not build this file [YC034]",
        "untrusted.yaml:5:41: error: not built: it would download and load pretrained weights (see YC034); "
        "use weights null [YC063]",
    ]
    assert "build run" not in result.stderr
