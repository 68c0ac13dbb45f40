"""End to end on CPU: train a composed yolo11n-halo for one epoch, validate, reload, predict, fine-tune.

Every step runs in a fresh process, as a user's scripts would; the only yolo-compose line in them
is ``import yolo_compose`` (and the reload does not even need that: unpickling imports it).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_python

from yolo_compose.composer.edit import compose_insert

pytestmark = pytest.mark.slow  # real ultralytics builds, training or processes; see README

TESTS_DIR = Path(__file__).resolve().parent
IMGSZ = 96

TRAIN = f"""
    import json
    from pathlib import Path
    import yolo_compose
    from ultralytics import YOLO
    from yc_tiny_dataset import make_dataset
    data = make_dataset(Path("data"), images=4, size=128)
    model = YOLO("yolo11n-halo.yaml")
    model.train(data=str(data), epochs=1, imgsz={IMGSZ}, batch=2, workers=0, device="cpu", plots=False,
                project=str(Path("runs").resolve()), name="train", exist_ok=True, val=True, amp=False)
    validator = model.trainer.validator
    print(json.dumps({{
        "last": str(model.trainer.last),
        "rect": bool(validator.dataloader.dataset.rect),
        "val_shapes": validator.dataloader.dataset.batch_shapes.tolist(),
        "map50": float(validator.metrics.box.map50),
        "layer9": type(model.model.model[9]).__name__,
    }}))
"""

RELOAD_PREDICT_FINETUNE = f"""
    import json, sys
    from pathlib import Path
    from ultralytics import YOLO
    last = sys.argv[1]
    model = YOLO(last)
    results = model.predict("data/images/im0.png", imgsz={IMGSZ}, conf=0.0, verbose=False)
    loaded = "yolo_compose" in sys.modules
    tuned = YOLO(last)
    tuned.train(data="data/tiny.yaml", epochs=1, imgsz={IMGSZ}, batch=2, workers=0, device="cpu", plots=False,
                project=str(Path("runs").resolve()), name="finetune", exist_ok=True, val=False, amp=False)
    print(json.dumps({{
        "layer9": type(model.model.model[9]).__module__,
        "boxes": len(results[0].boxes),
        "orig_shape": list(results[0].orig_shape),
        "imported_by_unpickling": loaded,
        "finetuned": Path(str(tuned.trainer.last)).exists(),
        "finetuned_layer9": type(tuned.model.model[9]).__name__,
    }}))
"""


def test_train_validate_reload_predict_and_finetune(tmp_path):
    text = compose_insert("yolo11n", "halo", after=8).spec.dump()
    (tmp_path / "yolo11n-halo.yaml").write_text(text, encoding="utf-8")

    trained = run_python(TRAIN, cwd=tmp_path)
    assert trained["layer9"] == "HaloAttention"
    assert Path(trained["last"]).exists()
    assert trained["rect"] is True
    # one val batch of 4 images of 128x64: ceil([0.5, 1] * 96 / 32 + 0.5) * 32 = 64 x 128, not a square
    assert trained["val_shapes"] == [[64, 128]]
    assert 0.0 <= trained["map50"] <= 1.0

    reloaded = run_python(RELOAD_PREDICT_FINETUNE, trained["last"], cwd=tmp_path)
    assert reloaded["layer9"] == "yolo_compose.modules.halo"
    assert reloaded["imported_by_unpickling"] is True
    assert reloaded["orig_shape"] == [64, 128]
    assert reloaded["boxes"] >= 0
    assert reloaded["finetuned"] is True
    assert reloaded["finetuned_layer9"] == "HaloAttention"
