"""Make ultralytics build our modules from a plain model YAML, without editing ultralytics.

This is the only file of yolo-compose that touches ultralytics internals. It relies on exactly
these names (``tests/test_integration.py::test_ultralytics_internals_we_rely_on`` fails loudly
when a release renames one):

* ``ultralytics.nn.tasks`` - the module whose globals ``parse_model`` looks module names up in;
* ``ultralytics.nn.tasks.parse_model`` and its local variables ``ch`` (output channels of every
  earlier layer), ``f`` (the row's ``from``) and ``i`` (the row's index), read from its running
  frame (stable since YOLOv5);
* ``ultralytics.nn.tasks.BaseModel._predict_once`` and its local ``m`` (the running layer, with
  the ``.i`` index that ``parse_model`` attaches), read from a traceback to name a failing layer;
* ``ultralytics.nn.tasks._SafeLoad._local.active`` - the thread-local flag that puts
  ``parse_model`` in restricted mode (no ``eval()`` of ``activation:``, only nn.Module layers);
* ``ultralytics.utils.callbacks.base.default_callbacks`` - the dict every new model copies its
  callbacks from; our callback in it is pickled by reference into the DDP worker's state;
* ``ultralytics.nn.tasks._SafeLoad.loading(path)`` - the context manager that allow-lists the
  ultralytics and torch classes a checkpoint names before a ``torch.load(weights_only=True)``
  (how ``torch_safe_load`` reads a checkpoint under ``ULTRALYTICS_SAFE_LOAD=1``);
* the checkpoint layout of ``ultralytics.utils.torch_utils.strip_optimizer`` (a trained model's
  final ``best.pt``): the model under ``"model"`` (``load_checkpoint`` takes ``"ema"`` first, so it
  is None), ``"train_args"``, ``"epoch"`` -1, and ``"date"``/``"version"``/``"license"``/``"docs"``;
  the model's ``yaml`` (the dict it was built from, with the real ``nc``, re-read by the
  trainer), ``names``, ``args``, ``model`` (its layers in YAML order) and the head's ``nc``;
* ``ultralytics.cfg.entrypoint`` - ultralytics' own command line (``yolo ...``);
* ``YOLO(source).train(...)`` and what its trainer leaves: ``trainer.save_dir``, ``trainer.metrics``
  (the final validation of ``best.pt``, keys ``metrics/mAP50(B)`` and ``metrics/mAP50-95(B)``) and
  ``results.csv`` in the run folder (one row per epoch; ``time`` is seconds since training began);
* what its import reads and binds: ``YOLO_OFFLINE``, ``YOLO_AUTOINSTALL`` and ``OMP_NUM_THREADS``
  from the environment, its log handler to the ``sys.stdout`` of that moment, and the
  "Creating new Ultralytics Settings" notice it logs for a fresh settings folder.

How it works:

1. **Adapters.** For every YAML name in the registry, an adapter class is put into
   ``ultralytics.nn.tasks``' namespace. ``parse_model`` calls it with the YAML args only (it does
   not know our modules); the adapter's ``__new__`` reads ``ch`` and ``f`` from the running
   ``parse_model`` frame and returns the *real* module built as ``Module(ch[f], *args)``. The
   built model holds only real classes, so checkpoints pickle ``yolo_compose.modules.*`` names,
   never the adapter.
2. **When.** ``import yolo_compose`` registers at once when ``ultralytics.nn.tasks`` is already
   imported, and otherwise installs a one-shot import hook that registers right after it is.
   ``import yolo_compose`` itself never imports torch or ultralytics.
3. **Fresh processes.** Unpickling a checkpoint imports ``yolo_compose.modules.*``, hence this
   package, hence registration (``YOLO("last.pt")`` in a new process needs no import). The DDP
   worker re-reads the YAML: a callback of ours is in every model's callbacks, is pickled by
   reference into the worker's state, and unpickling it imports this package first.
4. **Restricted loading.** Our module classes (and every nn.Module class in their files) are
   allow-listed with ``torch.serialization.add_safe_globals`` on registration, so
   ``ULTRALYTICS_SAFE_LOAD=1`` loads our checkpoints once ``yolo_compose`` is imported.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import importlib.machinery
import importlib.util
import os
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType, ModuleType, TracebackType
from typing import TYPE_CHECKING, Any

TASKS_MODULE = "ultralytics.nn.tasks"
#: Keys of a final ultralytics checkpoint that hold no model (see :func:`checkpoint_dict`).
EMPTY_CHECKPOINT_KEYS = ("ema", "optimizer", "best_fitness", "stopper", "updates", "scaler")
CALLBACKS_MODULE = "ultralytics.utils.callbacks.base"
PARSE_MODEL = "parse_model"
PREDICT_ONCE = "_predict_once"
#: Marks an adapter class so a second registration can tell ours from ultralytics' own names.
ADAPTER_FLAG = "__yolo_compose_adapter__"
#: The callback event our DDP hook rides on (runs once, before training starts).
DDP_CALLBACK_EVENT = "on_pretrain_routine_start"
_MAX_FRAMES_UP = 8  # parse_model -> genexpr (n > 1) -> adapter.__new__: a few frames at most

#: ``DetectionModel.__init__`` runs one forward at this size to find the strides.
STRIDE_PROBE = 256
#: Validation batches are rectangular: the short side is about this fraction of imgsz.
RECT_FACTOR = 0.6
#: The largest stride of a P3-P5 model: every size a model meets is a multiple of it.
MAX_STRIDE = 32
#: The box metrics a detection-family trainer reports (its final metrics and results.csv columns).
MAP50_KEY = "metrics/mAP50(B)"
MAP50_95_KEY = "metrics/mAP50-95(B)"
RESULTS_CSV = "results.csv"

_lock = threading.Lock()


def rect_size(imgsz: int) -> tuple[int, int]:
    """The rectangular (h, w) a validation batch at imgsz can have: imgsz x 0.6, a multiple of 32."""
    return max(MAX_STRIDE, round(imgsz * RECT_FACTOR / MAX_STRIDE) * MAX_STRIDE), imgsz


def probe_sizes(imgsz: int) -> list[tuple[int, int]]:
    """Every (h, w) a built model is run at: the stride probe, imgsz square, and the rect size."""
    return list(dict.fromkeys([(STRIDE_PROBE, STRIDE_PROBE), (imgsz, imgsz), rect_size(imgsz)]))
_hook_installed = False


# --- a yolo-compose run's process (the CLI, the build child) --------------------------------------

#: Set for a run before torch or ultralytics is imported, each only where the user has not: no
#: network, no pip install at run time, and the one intra-op thread ultralytics itself picks when it
#: is imported before torch (here torch comes first).
RUN_ENVIRONMENT = {"YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "False", "OMP_NUM_THREADS": "1"}
_SETTINGS_NOTICE = "Creating new Ultralytics Settings"


class _Process:
    """What :func:`prepare_process` did: whether it ran, and whether the user chose the threads."""

    prepared = False
    user_threads = True  # OMP_NUM_THREADS came from the user (or from nobody we know of)


def prepare_process() -> None:
    """Tune this process for a yolo-compose run: the CLI calls it first, and so does the build child.

    Importing the library does none of this: it sets :data:`RUN_ENVIRONMENT` where unset, and
    makes :func:`heavy_imports` quiet and quick. Calling it again changes nothing.
    """
    if _Process.prepared:
        return
    _Process.user_threads = "OMP_NUM_THREADS" in os.environ
    for name, value in RUN_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    _Process.prepared = True


def threads_are_ours() -> bool:
    """True when a prepared process set OMP_NUM_THREADS itself: the build may use a few idle cores."""
    return _Process.prepared and not _Process.user_threads


@contextlib.contextmanager
def heavy_imports() -> Iterator[None]:
    """Around the first import of torch and ultralytics; in a prepared process, quiet and quick.

    There the garbage collector is paused (its sweeps find nothing to free among new modules and
    took about 0.1 s of a 2.5 s `insert`), stdout goes to stderr (ultralytics binds its log handler
    to the stdout of its import, and stdout carries the command's result) and the settings notice
    is dropped (it would land in the middle of a one-line error). A library caller's process
    imports them untouched.
    """
    if not _Process.prepared:
        yield
        return
    import logging  # only here: the static commands never reach this, and logging costs their start

    collecting = gc.isenabled()
    gc.disable()
    logger = logging.getLogger("ultralytics")

    def not_the_notice(record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_SETTINGS_NOTICE)

    logger.addFilter(not_the_notice)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        logger.removeFilter(not_the_notice)
        if collecting:
            gc.enable()


# --- finding parse_model's state --------------------------------------------------------------


def _parse_model_frame(start: FrameType | None) -> FrameType | None:
    """The nearest enclosing frame of ultralytics' parse_model, or None when not inside one."""
    frame = start
    for _ in range(_MAX_FRAMES_UP):
        if frame is None:
            return None
        if frame.f_code.co_name == PARSE_MODEL and frame.f_globals.get("__name__") == TASKS_MODULE:
            return frame
        frame = frame.f_back
    return None


def input_channels_from_parse_model(yaml_name: str) -> int | None:
    """Input channels of the row parse_model is building (``ch[f]``), or None outside parse_model."""
    frame = _parse_model_frame(sys._getframe(2))
    if frame is None:
        return None
    ch, f = frame.f_locals["ch"], frame.f_locals["f"]
    if not isinstance(f, int):
        raise TypeError(f"{yaml_name} reads one layer; `from` must be one index, got {f!r}")
    return int(ch[f])


def failing_layer(tb: TracebackType | None) -> int | None:
    """Index of the layer that was being built or run when an exception was raised, if known.

    The innermost ultralytics frame wins: ``_predict_once`` holds the running layer ``m`` (its
    ``.i`` index), ``parse_model`` the row index ``i``.
    """
    found = None
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_globals.get("__name__") == TASKS_MODULE:
            if frame.f_code.co_name == PREDICT_ONCE and hasattr(frame.f_locals.get("m"), "i"):
                found = int(frame.f_locals["m"].i)
            elif frame.f_code.co_name == PARSE_MODEL and isinstance(frame.f_locals.get("i"), int):
                found = frame.f_locals["i"]
        tb = tb.tb_next
    return found


# --- adapters ---------------------------------------------------------------------------------


def make_adapter(yaml_name: str, target: str, injected_channels: int = 1) -> type:
    """An nn.Module subclass named `yaml_name` whose construction returns the real module.

    Inside parse_model it returns ``Real(ch[f], *yaml_args)`` (``ch[f]`` given `injected_channels`
    times: twice for a block taking c1 and c2, never for one that needs no channels); anywhere
    else it passes the arguments through unchanged (``Real(*args)``), so calling it by hand works
    like the class.
    """
    import torch

    from .modules.registry import import_target

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
        "__doc__": f"Builds {target} with the input channels injected (see yolo_compose.integration).",
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

    from .modules.registry import import_target

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
    from .modules.registry import yaml_names

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


# --- restricted building ----------------------------------------------------------------------


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


def run_ultralytics_cli(args: list[str]) -> None:
    """Run ultralytics' own command line (``yolo ARGS``) in this process, our modules registered.

    ``entrypoint()`` reads ``ultralytics.cfg.ARGV``, which is the ``sys.argv`` list object itself
    (and its help text quotes the arguments as they were at import): its contents are replaced in
    place before ultralytics is imported (so arguments with spaces survive), then restored.
    """
    saved = list(sys.argv)
    sys.argv[:] = ["yolo", *args]
    try:
        register_with_ultralytics()
        from ultralytics.cfg import entrypoint

        entrypoint()
    finally:
        sys.argv[:] = saved


def train_model(source: str, **train_args: Any) -> dict[str, Any]:
    """Train with plain ultralytics (``YOLO(source).train(**train_args)``), our modules registered.

    `source` is a model YAML or a checkpoint. Returns the run folder, mAP50 and mAP50-95 of the
    final validation (results.csv's last row when the trainer kept no final metrics) and the mean
    wall time of an epoch (validation included), read from results.csv.
    """
    import csv
    from pathlib import Path

    register_with_ultralytics()
    from ultralytics.models import YOLO

    model = YOLO(source)
    model.train(**train_args)
    trainer: Any = model.trainer
    save_dir = Path(trainer.save_dir)
    rows = []
    if (save_dir / RESULTS_CSV).is_file():
        with (save_dir / RESULTS_CSV).open(encoding="utf-8", newline="") as handle:
            rows = [{k.strip(): v for k, v in row.items()} for row in csv.DictReader(handle)]
    final = dict(trainer.metrics or {}) if isinstance(trainer.metrics, dict) else {}
    last = rows[-1] if rows else {}

    def metric(key: str) -> float | None:
        value = final.get(key, last.get(key))
        return None if value in (None, "") else float(value)

    epoch_time = float(last["time"]) / len(rows) if rows and last.get("time") else None
    return {
        "run_dir": str(save_dir),
        "map50": metric(MAP50_KEY),
        "map50_95": metric(MAP50_95_KEY),
        "epoch_time_s": epoch_time,
    }
