"""Small base checkpoints written by the tests: an ultralytics model with non-trivial weights, no download."""

from __future__ import annotations

from pathlib import Path

import torch


def perturb(model: torch.nn.Module, seed: int = 0) -> None:
    """Give every float tensor deterministic non-trivial values (fresh BNs are 1/0/0/1 everywhere).

    Running variances stay positive; the DFL's fixed integral weights stay as they are.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for key, tensor in model.state_dict().items():
            if not tensor.is_floating_point() or ".dfl." in key:
                continue
            noise = torch.rand(tensor.shape, generator=generator)
            if key.endswith("running_var"):
                tensor.copy_(noise + 0.5)
            else:
                tensor.add_((noise - 0.5) * 0.1)


def make_base_checkpoint(
    path: Path, yaml_name: str = "yolo11n.yaml", *, seed: int = 0, nc: int | None = None
) -> Path:
    """Build `yaml_name` with ultralytics, perturb its weights and save it as ultralytics saves a model."""
    from ultralytics import YOLO
    from ultralytics.nn.tasks import DetectionModel

    import yolo_compose  # noqa: F401  (a composed YAML needs our modules registered)

    model = YOLO(yaml_name)
    if nc is not None:
        model.model = DetectionModel(yaml_name, nc=nc, verbose=False)
        model.model.names = {k: f"c{k}" for k in range(nc)}
    perturb(model.model, seed)
    model.save(str(path))
    return path
