"""Ultralytics' own attention blocks that a plain YAML cannot name (CBAM, ChannelAttention,
SpatialAttention, PSABlock, TransformerBlock): in our catalogue, built through the adapter (the
input channels injected as each needs them), trained with plain ultralytics."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_python

from yolo_compose.composer.edit import compose_insert

IMGSZ = 96


BLOCKS = ["cbam", "channel", "spatial", "psablock", "transformer"]


@pytest.mark.parametrize("module", BLOCKS)
def test_ultralytics_does_not_import_them_and_we_register_them(module: str) -> None:
    import ultralytics.nn.tasks as tasks

    import yolo_compose.integration as integration
    from yolo_compose.modules import get

    spec = get(module)
    real = spec.load_class()
    assert real.__module__.startswith("ultralytics.nn.modules.")
    skipped = integration.register_with_ultralytics(tasks)
    assert spec.yaml_name not in skipped
    adapter = tasks.__dict__[spec.yaml_name]
    assert integration.is_adapter(adapter) and adapter.load_real() is real


@pytest.mark.parametrize("module", BLOCKS)
def test_insert_before_detect_builds(module: str) -> None:
    from yolo_compose.build import build_and_summarize

    edit = compose_insert("yolo11n", module, before="Detect")
    assert edit.inserted == [23, 24, 25]
    summary = build_and_summarize(edit, scale="n", imgsz=256, all_scales=False, on_warning=None)
    layers = {layer.index: layer for layer in summary.model.layers}
    for index in edit.inserted:
        assert layers[index].in_shape == layers[index].out_shape


@pytest.mark.parametrize("module", ["spatial", "transformer"])
def test_insert_after_8_builds_and_keeps_the_channels(module: str) -> None:
    from yolo_compose.build import build_and_summarize

    edit = compose_insert("yolo11n", module, after=8)
    summary = build_and_summarize(edit, scale="n", imgsz=256, all_scales=False, on_warning=None)
    layer = next(layer for layer in summary.model.layers if layer.index == 9)
    assert layer.in_shape == layer.out_shape == [256, 8, 8]
    assert layer.params > 0 or module == "spatial"


PLAIN_BUILD = """
    import json, sys
    import torch
    import yolo_compose
    from ultralytics.nn.tasks import DetectionModel
    built = {}
    for path in sys.argv[1:]:
        model = DetectionModel(path, verbose=False).eval()
        with torch.no_grad():
            model(torch.zeros(1, 3, 128, 96))
        built[path] = [type(model.model[9]).__module__, type(model.model[9]).__name__]
    print(json.dumps(built))
"""


def test_the_yaml_builds_with_plain_ultralytics_after_import_yolo_compose(tmp_path: Path) -> None:
    names = []
    for module in ("spatial", "transformer"):
        name = f"yolo11n-{module}.yaml"
        (tmp_path / name).write_text(compose_insert("yolo11n", module, after=8).spec.dump(), encoding="utf-8")
        names.append(name)
    built = run_python(PLAIN_BUILD, *names, cwd=tmp_path)
    assert built == {
        "yolo11n-spatial.yaml": ["ultralytics.nn.modules.conv", "SpatialAttention"],
        "yolo11n-transformer.yaml": ["ultralytics.nn.modules.transformer", "TransformerBlock"],
    }


TRAIN = f"""
    import json
    from pathlib import Path
    import yolo_compose
    from ultralytics import YOLO
    from yc_tiny_dataset import make_dataset
    data = make_dataset(Path("data"), images=4, size=128)
    model = YOLO("yolo11n-cbam.yaml")
    model.train(data=str(data), epochs=1, imgsz={IMGSZ}, batch=2, workers=0, device="cpu", plots=False,
                project=str(Path("runs").resolve()), name="train", exist_ok=True, val=False, amp=False)
    print(json.dumps({{"last": str(model.trainer.last), "layer23": type(model.model.model[23]).__module__}}))
"""

RELOAD = """
    import json, sys
    from ultralytics import YOLO
    model = YOLO(sys.argv[1])
    print(json.dumps({"layer23": type(model.model.model[23]).__name__, "ours": "yolo_compose" in sys.modules}))
"""


def test_cbam_before_detect_trains_with_plain_ultralytics(tmp_path: Path) -> None:
    text = compose_insert("yolo11n", "cbam", before="Detect").spec.dump()
    (tmp_path / "yolo11n-cbam.yaml").write_text(text, encoding="utf-8")
    trained = run_python(TRAIN, cwd=tmp_path)
    assert trained["layer23"] == "ultralytics.nn.modules.conv"
    reloaded = run_python(RELOAD, trained["last"], cwd=tmp_path)
    assert reloaded == {"layer23": "CBAM", "ours": False}
