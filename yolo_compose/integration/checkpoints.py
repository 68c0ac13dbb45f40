"""Ultralytics' restricted mode and its checkpoints: how it loads one safely, and how it writes one.

The layout is that of ``ultralytics.utils.torch_utils.strip_optimizer`` (a trained model's final
``best.pt``); ``tests/test_integration.py`` fails loudly when a release changes what is read here.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from typing import Any

from .frames import TASKS_MODULE
from .plugin import register_with_ultralytics

#: Keys of a final ultralytics checkpoint that hold no model (see :func:`checkpoint_dict`).
EMPTY_CHECKPOINT_KEYS = ("ema", "optimizer", "best_fitness", "stopper", "updates", "scaler")


@contextlib.contextmanager
def restricted_mode() -> Iterator[bool]:
    """Build in ultralytics' restricted mode on this thread; yields whether it is available.

    ``ULTRALYTICS_SAFE_LOAD=1`` is read once, when ultralytics is imported; the thread-local flag
    that ultralytics sets while it loads a checkpoint works whenever ultralytics was imported, so a
    library caller's process keeps its own setting.
    """
    tasks = importlib.import_module(TASKS_MODULE)
    safe_load = getattr(tasks, "_SafeLoad", None)
    local = getattr(safe_load, "_local", None)
    if local is None or not getattr(safe_load, "SUPPORTED", False):
        yield False
        return
    previous = getattr(local, "active", False)
    local.active = True
    try:
        yield True
    finally:
        local.active = previous


# --- checkpoints ------------------------------------------------------------------------------


@contextlib.contextmanager
def safe_checkpoint_load(path: str) -> Iterator[None]:
    """Allow-list what ultralytics allows for the checkpoint at `path`, for one weights_only load.

    Inside it ``torch.load(path, weights_only=True)`` accepts exactly what ultralytics' own
    restricted loading accepts (the torch and ultralytics classes the file names, numpy scalars,
    ultralytics' namespace class, paths) plus our module classes, allow-listed on registration.
    """
    tasks = importlib.import_module(TASKS_MODULE)
    register_with_ultralytics(tasks)
    with tasks._SafeLoad.loading(path):
        yield


def checkpoint_model(ckpt: dict[str, Any]) -> Any:
    """The model a checkpoint holds, as ultralytics' ``load_checkpoint`` picks it (EMA first)."""
    return ckpt.get("ema") or ckpt.get("model")


def checkpoint_dict(model: Any, *, train_args: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """A final ultralytics checkpoint of `model`, laid out as ``strip_optimizer`` writes ``best.pt``.

    `extra` keys (our provenance) are added beside ultralytics' own; it ignores keys it does not know.
    """
    from datetime import datetime

    from ultralytics import __version__

    ckpt: dict[str, Any] = dict.fromkeys(EMPTY_CHECKPOINT_KEYS)
    ckpt.update(
        {
            "epoch": -1,
            "model": model,
            "train_args": train_args,
            "date": datetime.now().astimezone().isoformat(),
            "version": __version__,
            "license": "AGPL-3.0 License (https://ultralytics.com/license)",
            "docs": "https://docs.ultralytics.com",
        }
    )
    ckpt.update(extra)
    return ckpt


def default_train_args(train_args: dict[str, Any] | None) -> dict[str, Any]:
    """A checkpoint's training args restricted to ultralytics' known keys, as strip_optimizer keeps them."""
    from ultralytics.utils import DEFAULT_CFG_DICT, DEFAULT_CFG_KEYS

    merged = {**DEFAULT_CFG_DICT, **(train_args or {})}
    return {k: v for k, v in merged.items() if k in DEFAULT_CFG_KEYS}
