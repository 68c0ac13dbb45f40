"""Build a composed model with ultralytics, run it at every size it will meet, and measure it.

What `insert` does after the edit (``--no-build`` skips all of it):

1. **Build** the YAML with ultralytics' own ``DetectionModel`` (or the task's model class) for one
   scale, in ultralytics' *restricted* mode: no ``eval()`` of ``activation:``, only nn.Module
   layers. ``ULTRALYTICS_SAFE_LOAD=1`` is read once, when ultralytics is imported, so instead of
   a child process (which would pay the ~2 s import twice) the build sets the thread-local flag
   ultralytics itself uses while loading a checkpoint (:func:`yolo_compose.integration.restricted_mode`);
   that works whether or not ultralytics was already imported. The CLI runs it offline and without
   AutoInstall (:func:`yolo_compose.integration.prepare_process`; importing this module sets
   nothing), and nothing here downloads.
2. **Fill resolution args** (a module's trained feature-map size) from imgsz and the stride at the
   insertion point, which the stride-probe forward measures; the YAML row gets the values.
3. **Run** the model at the stride probe (256), at imgsz and at a rectangular size (imgsz x 0.6
   rounded to 32, as validation's rect batches are). A failure is a :class:`BuildError` naming the
   layer, the size and why, in one line.
4. **Measure** per layer: params, output shape, and FLOPs counted exactly at imgsz from the aten
   ops that run (convolutions, matmuls, attention) under the math attention kernel, with the
   counter of :mod:`yolo_compose.flops` (equal to torch's ``FlopCounterMode``, without its import
   cost); ultralytics' own GFLOPs figure (thop on small proxy images, extrapolated) is reported
   beside it, labelled as such.

FLOPs are counted during the imgsz forward itself, so checking and counting cost one pass.

The parts: :mod:`.model` (1), :mod:`.resolution` (2), :mod:`.run` (3), :mod:`.measure` (4),
:mod:`.results` and :mod:`.step` (all of it after an edit). Importing the package imports torch and
ultralytics once, under :func:`yolo_compose.integration.heavy_imports`.
"""

from __future__ import annotations

from .. import integration

with integration.heavy_imports():  # quiet and quick in the CLI's process; plain for a library caller
    import torch  # noqa: F401  (the first import of torch and ultralytics: one pause covers both)

    integration.import_model_code()

from .measure import Shapes, count_layers, measure_built, measure_model
from .model import build_from_dict, build_model, parse_model_dict, restricted
from .resolution import (
    ATTENTION_BATCH,
    ATTENTION_WARN_BYTES,
    attention_warnings,
    fill_resolution_args,
    resolution_values,
)
from .results import BuildSummary, FilledArg, LayerMeasure, ModelMeasure, ScaleResult
from .run import check_forward, run_once
from .step import (
    MAX_VALIDATION_THREADS,
    BuiltEdit,
    base_totals,
    build_and_summarize,
    build_edit,
    check_replaced_shapes,
    edit_scale,
    measure_input,
    validation_thread_count,
    validation_threads,
)

__all__ = [
    "ATTENTION_BATCH",
    "ATTENTION_WARN_BYTES",
    "MAX_VALIDATION_THREADS",
    "BuildSummary",
    "BuiltEdit",
    "FilledArg",
    "LayerMeasure",
    "ModelMeasure",
    "ScaleResult",
    "Shapes",
    "attention_warnings",
    "base_totals",
    "build_and_summarize",
    "build_edit",
    "build_from_dict",
    "build_model",
    "check_forward",
    "check_replaced_shapes",
    "count_layers",
    "edit_scale",
    "fill_resolution_args",
    "measure_built",
    "measure_input",
    "measure_model",
    "parse_model_dict",
    "resolution_values",
    "restricted",
    "run_once",
    "validation_thread_count",
    "validation_threads",
]
