"""A tiny detection dataset written by the tests: a few noisy images with coloured boxes, no download."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

NAMES = {0: "red", 1: "blue"}


def _image_with_boxes(rng: np.random.Generator, size: int) -> tuple[np.ndarray, list[str]]:
    """A noise image with two filled rectangles and their YOLO label lines."""
    image = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
    labels = []
    for cls in NAMES:
        w, h = rng.integers(size // 5, size // 2, 2)
        x0, y0 = rng.integers(0, size - w), rng.integers(0, size - h)
        image[y0 : y0 + h, x0 : x0 + w] = (220, 30, 30) if cls == 0 else (30, 30, 220)
        box = ((x0 + w / 2) / size, (y0 + h / 2) / size, w / size, h / size)
        labels.append(f"{cls} " + " ".join(f"{v:.6f}" for v in box))
    return image, labels


def make_dataset(root: Path, *, images: int = 4, size: int = 96, seed: int = 0) -> Path:
    """Write images/labels (train = val) and a data YAML under `root`; returns the YAML path."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    for k in range(images):
        # 2:1 images, so that validation's rect batches are not square
        image, labels = _image_with_boxes(rng, size)
        image = image[: size // 2]
        labels = _clip_to_height(labels, size, size // 2)
        Image.fromarray(image).save(root / "images" / f"im{k}.png")
        (root / "labels" / f"im{k}.txt").write_text("\n".join(labels) + "\n", encoding="utf-8")
    data = root / "tiny.yaml"
    names = "".join(f"  {k}: {v}\n" for k, v in NAMES.items())
    data.write_text(f"path: {root}\ntrain: images\nval: images\nnames:\n{names}", encoding="utf-8")
    return data


def _clip_to_height(labels: list[str], size: int, height: int) -> list[str]:
    """Re-normalise label lines of a size x size image cropped to `height` rows (boxes clipped)."""
    out = []
    for line in labels:
        cls, xc, yc, w, h = line.split()
        top = max(0.0, (float(yc) - float(h) / 2) * size)
        bottom = min(float(height), (float(yc) + float(h) / 2) * size)
        if bottom - top < 4:
            continue
        out.append(f"{cls} {xc} {(top + bottom) / 2 / height:.6f} {w} {(bottom - top) / height:.6f}")
    return out
