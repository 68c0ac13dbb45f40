"""The image sizes a model built by ultralytics meets, so a build can run it at each of them first.

``DetectionModel.__init__`` runs one forward at the stride probe; training runs imgsz square;
validation batches are rectangular (``rect=True``). One set of sizes, used by every build and check.
"""

from __future__ import annotations

#: ``DetectionModel.__init__`` runs one forward at this size to find the strides.
STRIDE_PROBE = 256
#: Validation batches are rectangular: the short side is about this fraction of imgsz.
RECT_FACTOR = 0.6
#: The largest stride of a P3-P5 model: every size a model meets is a multiple of it.
MAX_STRIDE = 32


def rect_size(imgsz: int) -> tuple[int, int]:
    """The rectangular (h, w) a validation batch at imgsz can have: imgsz x 0.6, a multiple of 32."""
    return max(MAX_STRIDE, round(imgsz * RECT_FACTOR / MAX_STRIDE) * MAX_STRIDE), imgsz


def probe_sizes(imgsz: int) -> list[tuple[int, int]]:
    """Every (h, w) a built model is run at: the stride probe, imgsz square, and the rect size."""
    return list(dict.fromkeys([(STRIDE_PROBE, STRIDE_PROBE), (imgsz, imgsz), rect_size(imgsz)]))
