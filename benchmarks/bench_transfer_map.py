"""val mAP after an insert, before any fine-tuning: our transfer vs ultralytics' own key-matching load.

    python benchmarks/bench_transfer_map.py [--epochs 40] [--imgsz 128] [--device cpu]

A yolo11n is trained briefly on the tiny generated detection set the tests use
(tests/yc_tiny_dataset.py, train = val), then HaloAttention (``zero_init: true``) is inserted
after layer 8 and the composed model is validated three ways, nothing fine-tuned:

* the base checkpoint itself;
* ``transfer_for_edit`` (what ``insert --weights`` writes);
* ``YOLO("yolo11n-halo.yaml").load(base.pt)``: ultralytics matching tensors by key and shape.

The same YAML (identity at initialisation) is used for both composed models, so any difference
comes from where the tensors land.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--imgsz", type=int, default=128)
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-map-") as tmp:
        os.environ.update({"YOLO_CONFIG_DIR": tmp, "YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "False"})
        rows = run(Path(tmp), args)
    print(
        f"yolo11n trained {args.epochs} epochs on {args.images} generated images at {args.imgsz}; "
        f"HaloAttention (zero_init) after layer 8; validated before any fine-tuning"
    )
    print(f"{'model':42} {'mAP50':>7} {'mAP50-95':>9}")
    for name, (map50, map_) in rows.items():
        print(f"{name:42} {map50:7.4f} {map_:9.4f}")
    return 0


def run(tmp: Path, args: argparse.Namespace) -> dict[str, tuple[float, float]]:
    from ultralytics import YOLO
    from yc_tiny_dataset import make_dataset

    import yolo_compose  # noqa: F401
    from yolo_compose.composer.edit import compose_insert
    from yolo_compose.modules import get
    from yolo_compose.modules.registry import identity_init_args
    from yolo_compose.weights import transfer_for_edit

    data = str(make_dataset(tmp / "data", images=args.images, size=args.imgsz * 2))
    common = {"imgsz": args.imgsz, "batch": 8, "workers": 0, "device": args.device, "plots": False}
    base = YOLO("yolo11n.yaml")
    with contextlib.redirect_stdout(sys.stderr):
        base.train(
            data=data,
            epochs=args.epochs,
            amp=False,
            val=False,
            project=str(tmp / "runs"),
            name="base",
            exist_ok=True,
            **common,
        )
    base_pt = Path(base.trainer.last)

    edit = compose_insert("yolo11n", "halo", after=8, args=identity_init_args(get("halo"), None))
    composed_yaml = tmp / "yolo11n-halo.yaml"
    composed_yaml.write_text(edit.spec.dump(), encoding="utf-8")
    transfer = transfer_for_edit(
        base_pt,
        edit.spec.dump(),
        edit.index_map,
        edit.inserted,
        base_yaml_text=edit.base.path.read_text(encoding="utf-8"),
        base_name=edit.base.name,
        composed_name=composed_yaml.name,
        scale="n",
    )
    transfer.save(tmp / "yolo11n-halo.pt")

    def val(model: YOLO) -> tuple[float, float]:
        with contextlib.redirect_stdout(sys.stderr):
            metrics = model.val(data=data, **common)
        return float(metrics.box.map50), float(metrics.box.map)

    return {
        "base (yolo11n, trained)": val(YOLO(str(base_pt))),
        "yolo-compose transfer (insert --weights)": val(YOLO(str(tmp / "yolo11n-halo.pt"))),
        "ultralytics YOLO(yaml).load(base.pt)": val(YOLO(str(composed_yaml)).load(str(base_pt))),
    }


if __name__ == "__main__":
    raise SystemExit(main())
