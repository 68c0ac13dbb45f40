"""Ultralytics' model code as the build uses it: the class a task builds, its GFLOPs, its version.

Everything here imports ultralytics when called (the build has imported torch by then); nothing
happens on import.
"""

from __future__ import annotations

import importlib
from typing import Any

from .frames import TASKS_MODULE

#: The model class ``ultralytics.nn.tasks`` builds for each task ``guess_model_task`` names.
TASK_MODEL_CLASSES = {
    "detect": "DetectionModel",
    "segment": "SegmentationModel",
    "pose": "PoseModel",
    "obb": "OBBModel",
    "classify": "ClassificationModel",
}


def import_model_code() -> None:
    """Import ultralytics' model code (``ultralytics.nn.tasks``): the build's one heavy import."""
    importlib.import_module(TASKS_MODULE)


def model_task(model_dict: dict[str, Any]) -> str:
    """The task ultralytics infers from a model dict (its head), as ``YOLO(path)`` does."""
    from ultralytics.nn.tasks import guess_model_task

    return str(guess_model_task(model_dict))


def model_class(task: str) -> type | None:
    """Ultralytics' model class for a task; None for a task it has no model class for here."""
    name = TASK_MODEL_CLASSES.get(task)
    return None if name is None else getattr(importlib.import_module(TASKS_MODULE), name)


def ultralytics_gflops(model: Any, imgsz: int) -> float:
    """The GFLOPs figure ultralytics itself prints for a model (0.0 when it cannot count it)."""
    from ultralytics.utils.torch_utils import get_flops

    return float(get_flops(model, imgsz))


def ultralytics_version() -> str:
    """The installed ultralytics version, as its package reports it."""
    from ultralytics import __version__

    return str(__version__)
