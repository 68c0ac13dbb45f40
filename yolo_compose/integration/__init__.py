"""Make ultralytics build our modules from a plain model YAML, without editing ultralytics.

This package is the only place in yolo-compose that knows ultralytics internals. It relies on exactly
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
* its installed files, read without importing it: the model YAMLs under ``cfg/models``, the
  globals of ``nn/tasks.py`` and ``parse_model``'s ``base_modules`` set (with :mod:`ast`), and the
  classes of ``nn/modules/*.py``.

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

Where: ``installed.py`` and ``names.py`` (its files, read) and ``roles.py`` (its heads and
multi-input layers) are what the composer asks, so this package imports nothing of ours but the
module catalogue. ``plugin.py`` holds the adapters and registration, ``frames.py`` the
``parse_model`` frame and the failing layer, ``models.py`` the class a task builds and
ultralytics' own GFLOPs, ``checkpoints.py`` restricted mode and the checkpoint layout,
``process.py`` a run's environment and heavy imports, ``sizes.py`` the sizes a model meets, and
``training.py`` ultralytics' command line and ``YOLO().train``.
"""

from .checkpoints import (
    EMPTY_CHECKPOINT_KEYS,
    checkpoint_dict,
    checkpoint_model,
    default_train_args,
    restricted_mode,
    safe_checkpoint_load,
)
from .frames import (
    PARSE_MODEL,
    PREDICT_ONCE,
    TASKS_MODULE,
    failing_layer,
    input_channels_from_parse_model,
    unknown_module_name,
)
from .models import (
    TASK_MODEL_CLASSES,
    import_model_code,
    model_class,
    model_task,
    ultralytics_gflops,
    ultralytics_version,
)
from .plugin import (
    DDP_CALLBACK_EVENT,
    activate,
    ensure_registered,
    is_adapter,
    make_adapter,
    register_with_ultralytics,
)
from .process import RUN_ENVIRONMENT, heavy_imports, prepare_process, threads_are_ours
from .sizes import MAX_STRIDE, STRIDE_PROBE, probe_sizes, rect_size
from .training import MAP50_95_KEY, MAP50_KEY, RESULTS_CSV, run_ultralytics_cli, train_model

__all__ = [
    "DDP_CALLBACK_EVENT",
    "EMPTY_CHECKPOINT_KEYS",
    "MAP50_95_KEY",
    "MAP50_KEY",
    "MAX_STRIDE",
    "PARSE_MODEL",
    "PREDICT_ONCE",
    "RESULTS_CSV",
    "RUN_ENVIRONMENT",
    "STRIDE_PROBE",
    "TASKS_MODULE",
    "TASK_MODEL_CLASSES",
    "activate",
    "checkpoint_dict",
    "checkpoint_model",
    "default_train_args",
    "ensure_registered",
    "failing_layer",
    "heavy_imports",
    "import_model_code",
    "input_channels_from_parse_model",
    "is_adapter",
    "make_adapter",
    "model_class",
    "model_task",
    "prepare_process",
    "probe_sizes",
    "rect_size",
    "register_with_ultralytics",
    "restricted_mode",
    "run_ultralytics_cli",
    "safe_checkpoint_load",
    "threads_are_ours",
    "train_model",
    "ultralytics_gflops",
    "ultralytics_version",
    "unknown_module_name",
]
