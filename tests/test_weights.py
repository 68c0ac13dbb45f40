"""Pretrained weights across an edit: every base tensor at its layer's new index, read safely.

The base checkpoint is made here (yolo11n at scale n, weights perturbed deterministically, saved
with ultralytics' own ``YOLO.save``); nothing is downloaded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from conftest import run_cli, run_python
from torch.utils._pytree import tree_leaves
from yc_checkpoints import make_base_checkpoint

from yolo_compose.composer.edit import compose_insert, compose_remove
from yolo_compose.errors import CheckpointError
from yolo_compose.integration import rect_size
from yolo_compose.modules import get
from yolo_compose.modules.registry import identity_init_args
from yolo_compose.render.insert import edit_dict
from yolo_compose.weights import (
    PROVENANCE_KEY,
    edit_provenance,
    load_checkpoint,
    transfer_by_alignment,
    transfer_for_edit,
)

pytestmark = pytest.mark.slow

# yolo11n: the head's P3/8, P4/16 and P5/32 outputs that feed Detect
P3, P4, P5 = 16, 19, 22


@pytest.fixture(scope="module")
def base_pt(tmp_path_factory) -> Path:
    return make_base_checkpoint(tmp_path_factory.mktemp("base") / "base.pt")


def _transfer(base_pt: Path, edit, *, yaml_text: str | None = None, scale: str = "n"):
    return transfer_for_edit(
        base_pt,
        yaml_text or edit.spec.dump(),
        edit.index_map,
        edit.inserted,
        base_yaml_text=edit.base.path.read_text(encoding="utf-8"),
        base_name=edit.base.name,
        composed_name=edit.default_output_name,
        scale=scale,
        edit=edit_provenance(edit),
    )


def _model(ckpt: dict) -> torch.nn.Module:
    return (ckpt.get("ema") or ckpt["model"]).float().eval()


def _moved(key: str, index_map: dict[int, int]) -> str | None:
    _, old, rest = key.split(".", 2)
    new = index_map.get(int(old))
    return None if new is None else f"model.{new}.{rest}"


def _assert_every_tensor_moved(
    base: dict, written: dict, index_map: dict[int, int], removed: set[int]
) -> int:
    """Every base tensor equals the written one at its new index; returns how many were compared."""
    base_sd, new_sd = _model(base).state_dict(), _model(written).state_dict()
    compared = 0
    for key, tensor in base_sd.items():
        if int(key.split(".")[1]) in removed:
            continue
        target = _moved(key, index_map)
        assert target in new_sd, f"{key} -> {target} missing"
        assert torch.equal(new_sd[target], tensor), f"{key} is not at {target}"
        compared += 1
    return compared


@pytest.mark.parametrize("after", [P3, P4, P5])
def test_insert_carries_every_base_tensor_to_its_new_index(base_pt, tmp_path, after):
    edit = compose_insert("yolo11n", "halo", after=after)
    transfer = _transfer(base_pt, edit)
    out = tmp_path / "composed.pt"
    transfer.save(out)

    base, written = load_checkpoint(base_pt), load_checkpoint(out)
    compared = _assert_every_tensor_moved(base, written, edit.index_map, removed=set())
    report = transfer.report
    assert compared == report.total == report.transferred == len(_model(base).state_dict())
    assert report.skipped == []
    assert report.new_layers == [after + 1]
    new_layer = _model(written).model[after + 1]
    assert type(new_layer).__name__ == "HaloAttention"
    # the layers after the insert are the same layers, one index later (not same-shaped strangers)
    base_types = [type(m).__name__ for m in _model(base).model]
    new_types = [type(m).__name__ for m in _model(written).model]
    assert new_types[: after + 1] + new_types[after + 2 :] == base_types


def test_remove_carries_every_other_tensor_and_reports_the_removed_layer(base_pt, tmp_path):
    edit = compose_remove("yolo11n", 10)  # C2PSA: channels in = out, so every consumer keeps its shapes
    transfer = _transfer(base_pt, edit)
    transfer.save(tmp_path / "removed.pt")
    base, written = load_checkpoint(base_pt), load_checkpoint(tmp_path / "removed.pt")
    compared = _assert_every_tensor_moved(base, written, edit.index_map, removed={10})
    report = transfer.report
    removed_tensors = len(_model(base).model[10].state_dict())
    assert compared == report.transferred == report.total - removed_tensors
    assert report.removed_layers == [10]
    assert {item.reason for item in report.skipped} == {"removed by the edit"}
    assert len(report.skipped) == removed_tensors


@pytest.mark.parametrize(
    "compose",
    [lambda: compose_insert("yolo11n", "halo", after=8), lambda: compose_remove("yolo11n", 10)],
    ids=["insert", "remove"],
)
def test_edit_provenance_has_the_edit_reports_names_and_values(compose):
    """The checkpoint records the edit as the `--json` report says it, field for field."""
    edit = compose()
    provenance = edit_provenance(edit)
    report = edit_dict(edit)
    assert list(provenance) == [key for key in report if key in provenance]
    assert provenance == {key: report[key] for key in provenance}
    assert {"action", "base", "index_map", "inserted", "replaced"} <= set(provenance)


def test_written_checkpoint_is_a_final_ultralytics_checkpoint_with_provenance(base_pt, tmp_path):
    edit = compose_insert("yolo11n", "halo", after=8)
    transfer = _transfer(base_pt, edit)
    transfer.save(tmp_path / "yolo11n-halo.pt")
    ckpt = load_checkpoint(tmp_path / "yolo11n-halo.pt")
    assert ckpt["ema"] is None and ckpt["optimizer"] is None and ckpt["epoch"] == -1
    model = ckpt["model"]
    assert next(model.parameters()).dtype == torch.float16  # the base's precision (YOLO.save halves)
    assert model.yaml["backbone"][9][2] == "HaloAttention" and model.yaml["scale"] == "n"
    assert not hasattr(model, "composed_rows")
    provenance = ckpt[PROVENANCE_KEY]
    assert provenance["base_checkpoint"]["name"] == "base.pt"
    assert len(provenance["base_checkpoint"]["sha256"]) == 64
    assert provenance["edit"]["action"] == "insert" and provenance["edit"]["new_index"] == 9
    assert provenance["tensors"]["transferred"] == provenance["tensors"]["total"]
    assert provenance["new_layers"] == [9]


def _outputs(model: torch.nn.Module, size: tuple[int, int]) -> list[torch.Tensor]:
    x = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        return [t for t in tree_leaves(model.eval()(x)) if isinstance(t, torch.Tensor)]


@pytest.mark.parametrize(
    ("module", "after"),
    [("halo", P3), ("cga", P4), ("mhsa", P5), ("flatten", P3), ("halo", P5)],
)
def test_zero_init_insert_predicts_exactly_what_the_base_predicts(base_pt, module, after):
    edit = compose_insert("yolo11n", module, after=after, args=identity_init_args(get(module), None))
    assert edit.row[3][-1] is True  # zero_init recorded in the YAML row
    composed = _model(_transfer(base_pt, edit).checkpoint)
    base = _model(load_checkpoint(base_pt))
    for size in [(640, 640), rect_size(640)]:
        expected, got = _outputs(base, size), _outputs(composed, size)
        assert len(expected) == len(got) > 0
        for e, g in zip(expected, got, strict=True):
            assert e.shape == g.shape
            assert torch.allclose(e, g, rtol=0, atol=1e-5), f"{module} after {after} at {size}"
        assert max(e.abs().max() for e in expected) > 1.0  # real predictions (boxes in pixels), not zeros


def test_without_zero_init_the_insert_changes_the_prediction(base_pt):
    """The control: the paper's initialisation does move the outputs (so the test above can fail)."""
    edit = compose_insert("yolo11n", "halo", after=P3)
    assert edit.row[3] == [2, 1, 4, 0]  # no zero_init: the paper's module
    composed = _model(_transfer(base_pt, edit).checkpoint)
    base = _model(load_checkpoint(base_pt))
    expected, got = _outputs(base, (640, 640)), _outputs(composed, (640, 640))
    assert max((e - g).abs().max() for e, g in zip(expected, got, strict=True)) > 1e-3


def test_gradients_reach_the_new_layer_on_the_first_step(base_pt, tmp_path):
    edit = compose_insert("yolo11n", "halo", after=8, args=identity_init_args(get("halo"), None))
    transfer = _transfer(base_pt, edit)
    model = _model(transfer.checkpoint).train()
    for parameter in model.parameters():
        parameter.requires_grad_(True)
    outputs = model(torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0)))
    leaves = [t for t in tree_leaves(outputs) if isinstance(t, torch.Tensor) and t.is_floating_point()]
    sum(t.float().pow(2).mean() for t in leaves).backward()
    grads = [p.grad for p in model.model[9].parameters()]
    assert grads and any(g is not None and g.abs().sum() > 0 for g in grads)


def test_another_class_count_transfers_everything_but_the_class_branches(base_pt):
    edit = compose_insert("yolo11n", "halo", after=8)
    text = edit.spec.dump()
    assert "nc: 80" in text
    transfer = _transfer(base_pt, edit, yaml_text=text.replace("nc: 80", "nc: 3"))
    report = transfer.report
    assert report.nc == (80, 3)
    assert report.skipped, "a class branch whose shape depends on nc must not be loaded"
    assert all(item.key.startswith("model.23.cv3.") for item in report.skipped)
    assert {item.reason for item in report.skipped} == {"class branch: nc 80 -> 3"}
    assert report.transferred == report.total - len(report.skipped)
    assert any("80 classes" in note for note in report.notes)
    base_sd = _model(load_checkpoint(base_pt)).state_dict()
    new_sd = _model(transfer.checkpoint).state_dict()
    skipped = {item.key for item in report.skipped}
    for key, tensor in base_sd.items():
        if key not in skipped:
            assert torch.equal(new_sd[_moved(key, edit.index_map)], tensor), key


def test_a_checkpoint_trained_on_other_classes_keeps_them_through_an_edit(tmp_path):
    """A 3-class yolo11n checkpoint and the bundled yolo11n.yaml (nc: 80) are the same model: the
    edit leaves nc alone, so the composed checkpoint keeps 3 classes, its names and every tensor."""
    base_pt = make_base_checkpoint(tmp_path / "three.pt", nc=3)
    edit = compose_insert("yolo11n", "halo", after=8)
    transfer = _transfer(base_pt, edit)
    report = transfer.report
    assert report.nc == (3, 3)
    assert report.transferred == report.total and report.skipped == [] and report.notes == []
    model = _model(transfer.checkpoint)
    assert model.names == {0: "c0", 1: "c1", 2: "c2"}
    assert model.yaml["nc"] == 3


def test_checkpoint_that_does_not_fit_the_base_is_refused_naming_layer_and_tensor(base_pt):
    edit = compose_insert("yolo11n", "halo", after=8)
    with pytest.raises(CheckpointError) as caught:
        _transfer(base_pt, edit, scale="s")  # the base YAML at another scale: other widths from layer 0
    message = str(caught.value)
    assert "layer 0" in message and "model.0.conv.weight" in message
    assert "16x3x3x3 in the checkpoint" in message and "32x3x3x3 in the YAML" in message
    with pytest.raises(CheckpointError, match=r"layer 2: does not fit yolov8n.*C3k2.*C2f"):
        edit8 = compose_insert("yolov8n", "halo", after=8)
        _transfer(base_pt, edit8)


class _WritesMarker:
    """Unpickling this object calls `function(marker)` (what a malicious checkpoint would do)."""

    def __init__(self, function, marker: Path) -> None:
        self.function, self.marker = function, marker

    def __reduce__(self):
        return (self.function, (self.marker,))


#: Payloads: a plain global, one through a class ultralytics allows (PosixPath), and os.system.
PAYLOADS = {
    "Path.touch": (Path.touch, lambda marker: marker),
    "PosixPath.touch": (type(Path()).touch, lambda marker: marker),
    "os.system": (os.system, lambda marker: f"touch {marker}"),
}


def _malicious_checkpoint(folder: Path, payload: str = "Path.touch") -> tuple[Path, Path]:
    marker = folder / "pwned"
    function, argument = PAYLOADS[payload]
    path = folder / "evil.pt"
    torch.save({"model": _WritesMarker(function, argument(marker)), "date": "2026"}, path)
    return path, marker


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_the_malicious_checkpoint_really_runs_code_when_unpickled(tmp_path, payload):
    """The payload is real: plain unpickling in another process writes the marker."""
    path, marker = _malicious_checkpoint(tmp_path, payload)
    run_python(
        """
        import json, sys, torch
        torch.load(sys.argv[1], weights_only=False)
        print(json.dumps({}))
        """,
        str(path),
        cwd=tmp_path,
    )
    assert marker.exists()


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_a_checkpoint_that_would_run_code_is_refused_and_never_runs(tmp_path, payload):
    path, marker = _malicious_checkpoint(tmp_path, payload)
    with pytest.raises(CheckpointError, match="refusing to unpickle") as caught:
        load_checkpoint(path)
    assert not marker.exists()
    if payload == "Path.touch":
        assert "needs pathlib.Path," in str(caught.value)

    args = ("insert", "halo", "--after", "8", "--base", "yolo11n", "--weights", str(path))
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "refusing to unpickle" in lines[0] and "--trust-checkpoint" in lines[0]
    assert not marker.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.pt"]  # no YAML, no checkpoint


def test_cli_insert_with_weights_writes_yaml_and_checkpoint_and_reports(base_pt, tmp_path):
    args = ("insert", "halo", "--after", "8", "--base", "yolo11n", "--weights", str(base_pt))
    result = run_cli(*args, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)["weights"]
    assert report["transferred"] == report["total"] > 400
    assert report["new_layers"] == [9]
    assert report["output"] == "yolo11n-halo.pt"
    assert (tmp_path / "yolo11n-halo.yaml").exists() and (tmp_path / "yolo11n-halo.pt").exists()
    written = load_checkpoint(tmp_path / "yolo11n-halo.pt")
    assert written["model"].yaml["backbone"][9][2] == "HaloAttention"
    assert written["model"].yaml["backbone"][9][3][-1] is True  # zero_init on by default with --weights
    assert "HaloAttention, [2, 1, 4, 0, True]]" in (tmp_path / "yolo11n-halo.yaml").read_text("utf-8")

    before = (tmp_path / "yolo11n-halo.pt").read_bytes()
    (tmp_path / "yolo11n-halo.yaml").unlink()
    again = run_cli(*args, cwd=tmp_path)  # the YAML is free, the checkpoint is not: refused, nothing written
    assert again.returncode == 2 and "yolo11n-halo.pt" in again.stderr and "--force" in again.stderr
    assert not (tmp_path / "yolo11n-halo.yaml").exists()
    assert (tmp_path / "yolo11n-halo.pt").read_bytes() == before

    rich = run_cli(*args, "--force", cwd=tmp_path)
    assert rich.returncode == 0, rich.stderr
    assert f"weights: {report['total']}/{report['total']} tensors" in rich.stderr
    assert rich.stdout.split() == ["yolo11n-halo.yaml", "yolo11n-halo.pt"]


def test_cli_no_zero_init_keeps_the_papers_initialisation(base_pt, tmp_path):
    args = ("insert", "halo", "--after", "8", "--base", "yolo11n", "--weights", str(base_pt))
    result = run_cli(*args, "--no-zero-init", "--no-build", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["row"][3] == [2, 1, 4, 0]  # the paper's row: no zero_init written
    assert load_checkpoint(tmp_path / "yolo11n-halo.pt")["model"].yaml["backbone"][9][3] == [2, 1, 4, 0]


def test_cli_remove_with_weights(base_pt, tmp_path):
    args = ("remove", "10", "--base", "yolo11n", "--weights", str(base_pt), "-o", "no10.yaml", "--json")
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)["weights"]
    assert report["removed_layers"] == [10]
    assert report["transferred"] == report["total"] - sum(
        1 for item in report["skipped"] if item["reason"] == "removed by the edit"
    )
    assert (tmp_path / "no10.pt").exists()


def test_cli_transfer_pairs_layers_by_the_diff_alignment(base_pt, tmp_path):
    text = compose_insert("yolo11n", "halo", after=6).spec.dump()
    # one more change: old layer 17, the Conv after the P3 output, gets kernel 1 (its weights cannot fit)
    rows = text.splitlines()
    p3 = next(k for k, line in enumerate(rows) if "P3/8-small" in line)
    conv = next(k for k in range(p3 + 1, len(rows)) if rows[k].strip().startswith("- ["))
    assert "[256, 3, 2]" in rows[conv]
    rows[conv] = rows[conv].replace("[256, 3, 2]", "[256, 1, 2]")
    (tmp_path / "yolo11n-mine.yaml").write_text("\n".join(rows) + "\n", encoding="utf-8")

    result = run_cli("transfer", str(base_pt), "yolo11n-mine.yaml", "-o", "mine.pt", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    layers = {(row["old"], row["new"]): row for row in report["layers"]}
    assert report["new_layers"] == [7]
    assert layers[(17, 18)]["status"] == "not transferred"
    assert "args [256, 3, 2] -> [256, 1, 2]" in layers[(17, 18)]["reason"]
    changed_tensors = layers[(17, 18)]["tensors"]
    assert report["transferred"] == report["total"] - changed_tensors
    written = load_checkpoint(tmp_path / "mine.pt")
    base_sd = _model(load_checkpoint(base_pt)).state_dict()
    new_sd = _model(written).state_dict()
    shift = {i: i + (i > 6) for i in range(24)}
    for key, tensor in base_sd.items():
        if not key.startswith("model.17."):
            assert torch.equal(new_sd[_moved(key, shift)], tensor), key


def test_transfer_of_a_checkpoint_to_its_own_model_moves_everything(base_pt):
    text = compose_insert("yolo11n", "halo", after=8).spec.dump()
    report = transfer_by_alignment(base_pt, text, "yolo11n-halo.yaml").report
    assert report.transferred == report.total and report.new_layers == [9]


FRESH_PROCESS = """
    import json, sys
    {first}
    from ultralytics import YOLO
    from yc_tiny_dataset import make_dataset
    model = YOLO(sys.argv[1])
    result = model.predict("data/images/im0.png", imgsz=64, conf=0.0, verbose=False)[0]
    report = {{"layer9": type(model.model.model[9]).__name__, "boxes": len(result.boxes),
              "provenance": model.ckpt["yolo_compose"]["base_checkpoint"]["name"]}}
    if {validate}:
        metrics = model.val(data="data/tiny.yaml", imgsz=64, batch=2, workers=0, device="cpu", plots=False)
        report["map50"] = float(metrics.box.map50)
    print(json.dumps(report))
"""

FINETUNE = """
    import json, sys
    from pathlib import Path
    from ultralytics import YOLO
    model = YOLO(sys.argv[1])
    model.train(data="data/tiny.yaml", epochs=1, imgsz=64, batch=2, workers=0, device="cpu", plots=False,
                project=str(Path("runs").resolve()), name="ft", exist_ok=True, val=False, amp=False)
    print(json.dumps({"last": str(model.trainer.last), "layer9": type(model.model.model[9]).__name__}))
"""


def test_written_checkpoint_reloads_predicts_validates_and_finetunes_plain(base_pt, tmp_path):
    from yc_tiny_dataset import make_dataset

    make_dataset(tmp_path / "data", images=4, size=64)
    edit = compose_insert("yolo11n", "halo", after=8)
    out = tmp_path / "yolo11n-halo.pt"
    _transfer(base_pt, edit).save(out)

    plain = run_python(FRESH_PROCESS.format(first="", validate=True), str(out), cwd=tmp_path)
    assert plain["layer9"] == "HaloAttention" and plain["provenance"] == "base.pt"
    assert 0.0 <= plain["map50"] <= 1.0
    safe = run_python(
        FRESH_PROCESS.format(first="import yolo_compose", validate=False),
        str(out),
        cwd=tmp_path,
        env={"ULTRALYTICS_SAFE_LOAD": "1"},
    )
    assert safe["layer9"] == "HaloAttention" and safe["boxes"] == plain["boxes"]

    tuned = run_python(FINETUNE, str(out), cwd=tmp_path)
    assert Path(tuned["last"]).exists() and tuned["layer9"] == "HaloAttention"


def test_restricted_loading_refuses_what_plain_pickle_would_build(tmp_path):
    """A checkpoint holding an arbitrary Python class (not malicious, just unknown) is refused too."""
    path = tmp_path / "odd.pt"
    torch.save({"model": torch.nn.Linear(2, 2), "extra": os.stat_result((0,) * 10)}, path)
    with pytest.raises(CheckpointError, match=r"needs os\.stat_result"):
        load_checkpoint(path)
    assert isinstance(load_checkpoint(path, trust_checkpoint=True)["model"], torch.nn.Linear)
