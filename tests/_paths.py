"""Which attention path a module's forward took: a spy on SDPA and on the CPU kernels' entry points."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import torch.nn.functional as F

from yolo_compose.modules._common import CpuAttention
from yolo_compose.modules._halo_kernel import WindowAttention

#: The paths a test forces; "auto" resolves to one of them.
FORCED_PATHS = ("kernel", "math", "sdpa")


class PathSpy:
    """Counts calls of ``F.scaled_dot_product_attention`` ("sdpa") and of the CPU kernels ("kernel").

    The math path calls neither, so a forward on it leaves the counts empty.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: Counter[str] = Counter()
        sdpa = self._counting("sdpa", F.scaled_dot_product_attention)
        monkeypatch.setattr(F, "scaled_dot_product_attention", sdpa)
        for kernel in (CpuAttention, WindowAttention):
            monkeypatch.setattr(kernel, "apply", self._counting("kernel", kernel.apply))

    def _counting(self, path: str, function: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[path] += 1
            return function(*args, **kwargs)

        return counted

    def taken(self) -> set[str]:
        """The paths run since the last call ("math": neither SDPA nor a kernel); resets the counts."""
        seen = set(self.calls) or {"math"}
        self.calls.clear()
        return seen
