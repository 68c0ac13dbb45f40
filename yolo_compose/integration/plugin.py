"""Ultralytics builds our modules from a plain YAML: adapters in its namespace, registered on import.

See the package docstring for how (adapters, when they are registered, fresh processes, restricted
loading). Importing this imports neither torch nor ultralytics; registering does.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.machinery
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from .frames import TASKS_MODULE, input_channels_from_parse_model

CALLBACKS_MODULE = "ultralytics.utils.callbacks.base"
#: Marks an adapter class so a second registration can tell ours from ultralytics' own names.
ADAPTER_FLAG = "__yolo_compose_adapter__"
#: The callback event our DDP hook rides on (runs once, before training starts).
DDP_CALLBACK_EVENT = "on_pretrain_routine_start"

_lock = threading.Lock()
_hook_installed = False


def make_adapter(yaml_name: str, target: str, injected_channels: int = 1) -> type:
    """An nn.Module subclass named `yaml_name` whose construction returns the real module.

    Inside parse_model it returns ``Real(ch[f], *yaml_args)`` (``ch[f]`` given `injected_channels`
    times: twice for a block taking c1 and c2, never for one that needs no channels); anywhere
    else it passes the arguments through unchanged (``Real(*args)``), so calling it by hand works
    like the class.
    """
    import torch

    from ..modules.registry import import_target

    module_name = target.partition(":")[0]

    def load_real() -> type:
        return import_target(target)

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        real = load_real()
        c1 = input_channels_from_parse_model(yaml_name) if injected_channels else None
        return real(*args, **kwargs) if c1 is None else real(*[c1] * injected_channels, *args, **kwargs)

    namespace = {
        "__new__": __new__,
        "__module__": module_name,
        "__qualname__": yaml_name,
        "__doc__": f"Builds {target} with the input channels injected (see yolo_compose.integration.plugin).",
        ADAPTER_FLAG: target,
        "load_real": staticmethod(load_real),
    }
    return type(yaml_name, (torch.nn.Module,), namespace)


def is_adapter(obj: Any) -> bool:
    """True for a class made by :func:`make_adapter`."""
    return isinstance(obj, type) and ADAPTER_FLAG in obj.__dict__


def _module_classes(target: str) -> list[type]:
    """The real class of a target and every nn.Module class defined in its package's loaded files.

    A module may hold submodules of classes from a sibling file (a shared helpers file), and a
    checkpoint pickles each of them by name.
    """
    import torch

    from ..modules.registry import import_target

    module_name = target.partition(":")[0]
    module = importlib.import_module(module_name)
    classes = [import_target(target)]
    if module_name.startswith("ultralytics."):  # ultralytics' own block: allow just that class
        return classes
    package = module_name.rpartition(".")[0]
    siblings = [m for name, m in list(sys.modules.items()) if package and name.startswith(f"{package}.")]
    for source in [module, *siblings]:
        for obj in vars(source).values():
            if (
                isinstance(obj, type)
                and issubclass(obj, torch.nn.Module)
                and obj.__module__ == getattr(source, "__name__", None)
                and obj not in classes
            ):
                classes.append(obj)
    return classes


def _allow_for_safe_load(targets: list[str]) -> list[str]:
    """Allow-list our module classes for ``torch.load(weights_only=True)``; returns failures.

    A target that cannot be imported is skipped (building it later raises the import error where
    it is used) and reported, so one broken user module never breaks ``import ultralytics``.
    """
    import torch

    failures, classes = [], []
    for target in targets:
        try:
            classes.extend(_module_classes(target))
        except Exception as exc:  # any import-time error of a user module
            failures.append(f"{target}: {exc}")
    allowed = set(torch.serialization.get_safe_globals())
    new: list[Callable[..., Any] | tuple[Callable[..., Any], str]] = [
        cls for cls in dict.fromkeys(classes) if cls not in allowed
    ]
    if new:
        torch.serialization.add_safe_globals(new)
    return failures


def ensure_registered(*_args: Any) -> None:
    """Register our modules with ultralytics now (idempotent); also used as a training callback.

    As a callback it does nothing new in the process that trains, but being pickled by reference
    into the DDP worker's state makes the worker import yolo_compose before it reads the YAML.
    """
    if TASKS_MODULE in sys.modules:
        register_with_ultralytics(sys.modules[TASKS_MODULE])


def _add_ddp_callback() -> None:
    """Put :func:`ensure_registered` into the callbacks every new ultralytics model starts with."""
    callbacks = importlib.import_module(CALLBACKS_MODULE).default_callbacks
    event = callbacks.setdefault(DDP_CALLBACK_EVENT, [])
    if ensure_registered not in event:
        event.append(ensure_registered)


def register_with_ultralytics(tasks: ModuleType | None = None) -> dict[str, str]:
    """Place an adapter for every registered YAML name into ``ultralytics.nn.tasks``.

    Idempotent and cheap: call it again after registering a user module at run time. A name that
    ultralytics itself defines is never replaced. Returns {yaml name: why it was skipped}.
    """
    from ..modules.registry import yaml_names

    tasks = tasks if tasks is not None else importlib.import_module(TASKS_MODULE)
    skipped: dict[str, str] = {}
    with _lock:
        new_targets = []
        for yaml_name, spec in yaml_names().items():
            current = tasks.__dict__.get(yaml_name)
            if current is not None and not is_adapter(current):
                skipped[yaml_name] = "ultralytics defines this name; its own class is used"
                continue
            if current is not None and current.__dict__[ADAPTER_FLAG] == spec.target:
                continue
            setattr(tasks, yaml_name, make_adapter(yaml_name, spec.target, spec.injected_channels))
            new_targets.append(spec.target)
        for failure in _allow_for_safe_load(sorted(set(new_targets))):
            skipped[failure.partition(":")[0]] = failure
        _add_ddp_callback()
    return skipped


# --- registering when ultralytics gets imported -----------------------------------------------


if TYPE_CHECKING:
    from importlib.abc import Loader as _LoaderProtocol
else:
    _LoaderProtocol = object


class _RegisteringLoader(_LoaderProtocol):
    """Wraps the loader of ``ultralytics.nn.tasks``: executes it, then registers our modules.

    The import system's loader and finder protocols are duck-typed, so neither class here derives
    from ``importlib.abc``: importing that module loads ``importlib.resources`` as well, a cost
    every ``import yolo_compose`` (every static command) would pay for two base classes.
    """

    def __init__(self, wrapped: _LoaderProtocol) -> None:
        self.wrapped = wrapped

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.wrapped.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.wrapped.exec_module(module)
        register_with_ultralytics(module)

    def __getattr__(self, name: str) -> Any:  # get_source, get_filename, ... for tracebacks
        return getattr(self.wrapped, name)


class _TasksImportHook:
    """One-shot finder that hands ``ultralytics.nn.tasks`` a registering loader."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != TASKS_MODULE:
            return None
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _RegisteringLoader(spec.loader)
        return spec


def activate() -> None:
    """Register now if ultralytics' model code is loaded, else when it gets imported.

    Called by ``import yolo_compose``; imports neither torch nor ultralytics by itself.
    """
    global _hook_installed
    if TASKS_MODULE in sys.modules:
        register_with_ultralytics(sys.modules[TASKS_MODULE])
        return
    if not _hook_installed:
        _hook_installed = True
        sys.meta_path.insert(0, _TasksImportHook())
