"""How a sweep measures: the probes' image sizes, the latency repeats and the threads.

Its own module so that planning, measuring and the command line share it without importing
each other (and without torch: the command line checks its options before any import).
"""

from __future__ import annotations

from dataclasses import dataclass

MEMORY_BATCH = 8  # the batch of the training-step memory probe (ultralytics trains at 16 by default)


@dataclass(frozen=True)
class MeasureOptions:
    """What to measure and how big the probes are (see :mod:`.measure`)."""

    imgsz: int = 640
    memory_imgsz: int = 128  # 0: no memory probe
    latency_imgsz: int = 256
    latency_repeats: int = 3  # 0: no latency
    threads: int | None = None  # None: the cores this process may use, at most 4

    @property
    def memory_size(self) -> int:
        """The memory probe's image size: memory_imgsz, or imgsz when that is smaller."""
        return min(self.memory_imgsz, self.imgsz)

    @property
    def latency_size(self) -> int:
        """The latency forward's image size: latency_imgsz, or imgsz when that is smaller."""
        return min(self.latency_imgsz, self.imgsz) if self.latency_imgsz else self.imgsz
