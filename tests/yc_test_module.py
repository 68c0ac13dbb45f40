"""Tiny user modules for the tests: registered with `register()` the way a user's package would.

``ChannelGate`` keeps its input shape (a depthwise 3x3 conv gated by a sigmoid); its YAML args are
``[kernel]``. ``SquareOnly`` fails on rectangular maps; ``LookupBug`` raises a ``KeyError`` of its
own while it is built. Importing this file registers them under those YAML names.
"""

from __future__ import annotations

import torch
from torch import nn

from yolo_compose.modules import ArgSpec, ModuleSpec, register


class ChannelGate(nn.Module):
    """Depthwise conv gate. Args: c1 input channels, kernel size. Shape: (B, C, H, W) -> (B, C, H, W)."""

    def __init__(self, c1: int, kernel: int = 3) -> None:
        super().__init__()
        self.c1 = c1
        self.conv = nn.Conv2d(c1, c1, kernel, padding=kernel // 2, groups=c1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != self.c1:
            raise ValueError(f"ChannelGate was built for {self.c1} channels but got {x.shape[1]}")
        return x * torch.sigmoid(self.conv(x))


SPEC = register(
    ModuleSpec(
        name="gate",
        yaml_name="ChannelGate",
        target="yc_test_module:ChannelGate",
        summary="test-only depthwise gate",
        args=(ArgSpec("kernel", "int", 3, "depthwise kernel size"),),
    ),
    replace=True,
)


class SquareOnly(nn.Module):
    """Fails on non-square maps (as a module with a fixed position table might). Shape kept."""

    def __init__(self, c1: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(c1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[2] != x.shape[3]:
            raise ValueError(f"SquareOnly needs a square map, got {x.shape[2]}x{x.shape[3]}")
        return x * self.scale


SQUARE_SPEC = register(
    ModuleSpec(
        name="squareonly",
        yaml_name="SquareOnly",
        target="yc_test_module:SquareOnly",
        summary="test-only module that fails on rectangular maps",
    ),
    replace=True,
)


class LookupBug(nn.Module):
    """Raises a KeyError of its own while it is built (a bug in a user's module). Shape kept."""

    def __init__(self, c1: int) -> None:
        super().__init__()
        settings: dict[str, int] = {}
        self.scale = settings["scale"]


LOOKUP_BUG_SPEC = register(
    ModuleSpec(
        name="lookupbug",
        yaml_name="LookupBug",
        target="yc_test_module:LookupBug",
        summary="test-only module whose constructor raises KeyError('scale')",
    ),
    replace=True,
)
