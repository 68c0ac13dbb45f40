"""The names a YAML row's module may resolve to: ultralytics' layers and globals, torch's, ours.

What ultralytics and torch define is the bridge's to read (:mod:`yolo_compose.integration.names`);
this is the lint's view of it, with the registered attention modules beside.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...integration.names import torch_names, ultralytics_names
from ...modules.registry import ModuleSpec, yaml_names


@dataclass(frozen=True)
class KnownNames:
    """Module names a YAML row may use, and globals it must not."""

    layers: frozenset[str]  # ultralytics layer classes found by parse_model's globals() lookup
    base_modules: frozenset[str]  # layers whose first arg is an output channel count
    non_layers: dict[str, str]  # other globals of ultralytics.nn.tasks -> what they are
    torch_nn: frozenset[str]  # nn.X names that are torch.nn Module classes
    torchvision_ops: frozenset[str]  # torchvision.ops.X names that are classes
    ours: dict[str, ModuleSpec]  # YAML names of registered attention modules


def known_names() -> KnownNames:
    """Everything a module name may resolve to now (call after ``--import`` modules are imported)."""
    layers, base, non_layers = ultralytics_names()
    torch_nn, tv_ops = torch_names()
    return KnownNames(layers, base, non_layers, torch_nn, tv_ops, yaml_names())
