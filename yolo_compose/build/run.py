"""Running a built model at a size: the forward, finite outputs, the first layer that is not (step 3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from .. import integration
from ..errors import BuildError
from .model import one_line

if TYPE_CHECKING:
    pass

def first_tensor(value: Any) -> torch.Tensor | None:
    """The first tensor in a (nested) output."""
    if isinstance(value, torch.Tensor):
        return value
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
    for item in items:
        found = first_tensor(item)
        if found is not None:
            return found
    return None


def _all_finite(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return bool(torch.isfinite(value).all()) if value.is_floating_point() else True
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
    return all(_all_finite(item) for item in items)


def random_input(size: tuple[int, int], channels: int = 3) -> torch.Tensor:
    """A fixed pseudo-random image batch of one (zeros would hide a NaN-producing softmax)."""
    generator = torch.Generator().manual_seed(0)
    return torch.rand(1, channels, *size, generator=generator)


def model_layers(model: torch.nn.Module) -> list[torch.nn.Module]:
    return list(model.model)


def _first_nonfinite_layer(model: torch.nn.Module, x: torch.Tensor) -> int | None:
    """Index of the first layer whose output holds NaN or Inf (slow path, only after a failure)."""
    bad: list[int] = []

    def hook(module: torch.nn.Module, _inputs: Any, output: Any) -> None:
        if not bad and not _all_finite(output):
            bad.append(int(module.i))

    handles = [m.register_forward_hook(hook) for m in model_layers(model)]
    try:
        with torch.inference_mode():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return bad[0] if bad else None


def run_once(model: torch.nn.Module, size: tuple[int, int]) -> Any:
    """One eval forward at (h, w); a failure or a non-finite output is a BuildError naming the layer."""
    x = random_input(size, in_channels(model))
    h, w = size
    try:
        with torch.inference_mode(), sdpa_kernel([SDPBackend.MATH]):
            out = model(x)
    except Exception as exc:
        layer = integration.failing_layer(exc.__traceback__)
        raise BuildError(f"forward at {h}x{w} failed: {one_line(exc)}", layer=layer) from None
    if not _all_finite(out):
        layer = _first_nonfinite_layer(model, x)
        raise BuildError(f"forward at {h}x{w} gives NaN or Inf", layer=layer)
    return out


def in_channels(model: torch.nn.Module) -> int:
    return int(model.yaml.get("channels", 3)) if hasattr(model, "yaml") else 3


def check_forward(model: torch.nn.Module, sizes: list[tuple[int, int]]) -> None:
    """Run the model at every (h, w) in eval mode; raises BuildError naming the layer and size."""
    for size in sizes:
        run_once(model, size)
