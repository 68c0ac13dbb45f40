"""`--weights` across `replace`, `apply` and `insert --before Detect`, as real CLI processes: every
kept tensor at its new index, the replaced layer new, identity-initialised inserts that predict
exactly what the base predicts, a bad checkpoint refused before anything is built, and a written
checkpoint that ultralytics exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import run_cli, run_python
from torch.utils._pytree import tree_leaves
from yc_checkpoints import make_base_checkpoint

from yolo_compose.integration import rect_size
from yolo_compose.weights import load_checkpoint

pytestmark = pytest.mark.slow

SPPF = 9  # yolo11n's SPPF
RECIPE = """\
name: p5-and-heads
edits:
  - insert: halo
    after: SPPF
  - insert: cga
    before: Detect
"""


@pytest.fixture(scope="module")
def base_pt(tmp_path_factory) -> Path:
    return make_base_checkpoint(tmp_path_factory.mktemp("base") / "base.pt")


def _model(path: Path) -> torch.nn.Module:
    ckpt = load_checkpoint(path)
    return (ckpt.get("ema") or ckpt["model"]).float().eval()


def _outputs(model: torch.nn.Module, size: tuple[int, int]) -> list[torch.Tensor]:
    x = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        return [t for t in tree_leaves(model(x)) if isinstance(t, torch.Tensor)]


def _assert_same_predictions(base: torch.nn.Module, composed: torch.nn.Module) -> None:
    for size in [(640, 640), rect_size(640)]:
        expected, got = _outputs(base, size), _outputs(composed, size)
        assert len(expected) == len(got) > 0
        for e, g in zip(expected, got, strict=True):
            assert e.shape == g.shape
            assert torch.allclose(e, g, rtol=0, atol=1e-5), f"outputs differ at {size}"
        assert max(e.abs().max() for e in expected) > 1.0  # real predictions, not zeros


def _assert_moved(base: torch.nn.Module, composed: torch.nn.Module, index_map: dict[int, int],
                  fresh_old: set[int]) -> int:
    """Every tensor of every base layer not in `fresh_old` equals the written one at its new index."""
    base_sd, new_sd = base.state_dict(), composed.state_dict()
    compared = 0
    for key, tensor in base_sd.items():
        _, old, rest = key.split(".", 2)
        if int(old) in fresh_old:
            continue
        target = f"model.{index_map[int(old)]}.{rest}"
        assert torch.equal(new_sd[target], tensor), f"{key} is not at {target}"
        compared += 1
    return compared


def test_replace_with_weights_carries_every_other_tensor_and_the_replaced_layer_is_new(base_pt, tmp_path):
    result = run_cli("replace", "SPPF", "--with", "halo", "--base", "yolo11n", "--weights", str(base_pt),
                     "--imgsz", "256", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    weights = report["weights"]
    index_map = {int(k): v for k, v in report["index_map"].items()}
    assert weights["new_layers"] == [SPPF] and weights["replaced_layers"] == [SPPF]
    assert weights["removed_layers"] == []
    row = next(r for r in weights["layers"] if r["old"] == SPPF)
    assert row["status"] == "replaced" and row["transferred"] == 0
    assert row["reason"] == f"replaced by the edit: its tensors are not loaded into the new layer {SPPF}"

    base, composed = _model(base_pt), _model(tmp_path / "yolo11n-halo-for9.pt")
    assert type(composed.model[SPPF]).__name__ == "HaloAttention"
    compared = _assert_moved(base, composed, index_map, fresh_old={SPPF})
    sppf_tensors = len(base.model[SPPF].state_dict())
    assert compared == weights["transferred"] == weights["total"] - sppf_tensors

    rich = run_cli("replace", "SPPF", "--with", "halo", "--base", "yolo11n", "--weights", str(base_pt),
                   "--imgsz", "256", "--force", cwd=tmp_path)
    assert rich.returncode == 0, rich.stderr
    assert "replaced base layers (their tensors are not loaded into the new ones): 9" in rich.stderr


def test_apply_with_weights_is_one_index_map_and_predicts_what_the_base_predicts(base_pt, tmp_path):
    (tmp_path / "recipe.yaml").write_text(RECIPE)
    result = run_cli("apply", "recipe.yaml", "--base", "yolo11n", "--weights", str(base_pt), "--no-build",
                     "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    weights = report["weights"]
    assert report["inserted"] == weights["new_layers"] == [10, 24, 25, 26]
    assert weights["transferred"] == weights["total"] > 400 and weights["skipped"] == []
    written = tmp_path / "yolo11n-p5-and-heads.yaml"
    assert written.read_text().splitlines()[0].endswith(" by apply recipe.yaml --zero-init")
    new_rows = [line for line in written.read_text().splitlines() if "Attention, [" in line]
    assert len(new_rows) == 4 and all(", True]]" in row for row in new_rows)  # zero_init in every insert

    base, composed = _model(base_pt), _model(tmp_path / "yolo11n-p5-and-heads.pt")
    index_map = {int(k): v for k, v in report["index_map"].items()}
    assert _assert_moved(base, composed, index_map, fresh_old=set()) == weights["total"]
    _assert_same_predictions(base, composed)
    assert run_cli("validate", written.name, cwd=tmp_path).returncode == 0  # --zero-init re-applies

    plain = run_cli("apply", "recipe.yaml", "--base", "yolo11n", "--no-build", "-o", "-", cwd=tmp_path)
    assert plain.returncode == 0 and "Attention, [2, 1, 4, 0]]" in plain.stdout  # without --weights: the paper's
    off = run_cli("apply", "recipe.yaml", "--base", "yolo11n", "--weights", str(base_pt), "--no-zero-init",
                  "--no-build", "-o", "off.yaml", cwd=tmp_path)
    assert off.returncode == 0, off.stderr
    assert "Attention, [2, 1, 4, 0]]" in (tmp_path / "off.yaml").read_text() and (tmp_path / "off.pt").exists()


def test_insert_before_detect_with_weights_predicts_what_the_base_predicts(base_pt, tmp_path):
    result = run_cli("insert", "halo", "--before", "Detect", "--base", "yolo11n", "--weights", str(base_pt),
                     "--no-build", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    weights = json.loads(result.stdout)["weights"]
    assert weights["new_layers"] == [23, 24, 25]
    assert weights["transferred"] == weights["total"]
    composed = _model(tmp_path / "yolo11n-halo.pt")
    assert composed.model[-1].f == [23, 24, 25]
    _assert_same_predictions(_model(base_pt), composed)


EXPORT = """
    import json, sys
    import yolo_compose
    from ultralytics import YOLO
    path = YOLO(sys.argv[1]).export(format="onnx", imgsz=64)
    print(json.dumps({"path": str(path)}))
"""


def test_the_written_checkpoint_exports(base_pt, tmp_path):
    result = run_cli("insert", "cga", "--before", "Detect", "--base", "yolo11n", "--weights", str(base_pt),
                     "--no-build", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    exported = run_python(EXPORT, str(tmp_path / "yolo11n-cga.pt"), cwd=tmp_path)
    import onnx  # a dev dependency

    graph = onnx.load(exported["path"])
    onnx.checker.check_model(graph)
    for layer in (23, 24, 25):  # the three CGA layers are in the graph, attention included
        ops = {node.op_type for node in graph.graph.node if node.name.startswith(f"/model.{layer}/")}
        assert "Softmax" in ops, f"layer {layer}: {sorted(ops)}"
    dims = [d.dim_value for d in graph.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 3, 64, 64]


def test_a_bad_checkpoint_is_refused_before_anything_is_built(base_pt, tmp_path):
    """The args below break the build (256 channels at layer 9 split into 7 heads): the checkpoint's
    refusal, not the build's error, is what comes out, so the checkpoint was checked first."""
    args = ("insert", "halo", "--after", "8", "--base", "yolo11n", "--args", "[2, 1, 7]")
    broken = run_cli(*args, cwd=tmp_path)
    assert broken.returncode == 2 and "heads" in broken.stderr  # the build does fail on these args
    result = run_cli(*args, "--scale", "s", "--weights", str(base_pt), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "does not fit yolo11n (scale s)" in lines[0] and "model.0.conv.weight" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == []
