"""Static checks of model YAMLs: every problem in a file, each with path, line, column and a code.

The lint tier never imports torch or ultralytics. It reads a file with the project's one reader
(:mod:`.reader`), the way ultralytics reads it — PyYAML's ``CSafeLoader``, so YAML 1.1 booleans,
octals and the "last duplicate key wins" rule are what the linter sees too — with tags, anchors
and sizes checked on the node graph before any value is constructed.

Ultralytics' own module names come from its installed ``nn/tasks.py``, read with :mod:`ast`:
a YAML module name is looked up in that file's globals by ``parse_model``, so a name is a layer
only when it is a class imported from ``ultralytics.nn.modules`` (checked against the class
definitions there). Any other global (``torch_load``, ``yaml_model_load``, ``DetectionModel``)
would be *called* with the row's args: such names are errors here, before anything is built.

Findings never stop at the first problem (unlike :class:`~.spec.ModelSpec`); every code is listed
in :data:`CODES` and documented in the README. ``--fix`` rewrites stale ``# N`` index comments
only, by editing the text of the comment in place.

The parts: :mod:`.codes` (findings and the code table), :mod:`.names` (ultralytics' names, from
its source), :mod:`.read` (the node graph), :mod:`.checks` and :mod:`.run` (entry points, ``--fix``).
"""

from __future__ import annotations

from .checks import (
    ACCEPTS_LIST,
    END_MODULES,
    MAX_CHANNELS,
    MAX_CLASSES,
    MAX_MULTIPLE,
    MAX_REPEATS,
)
from .codes import CODES, MAX_MESSAGE, Code, FileReport, Finding, FindingCounts, Severity, clip
from .names import KnownNames, known_names
from .run import expand_paths, fix_file, lint_file, lint_paths, lint_text

__all__ = [
    "ACCEPTS_LIST",
    "CODES",
    "END_MODULES",
    "MAX_CHANNELS",
    "MAX_CLASSES",
    "MAX_MESSAGE",
    "MAX_MULTIPLE",
    "MAX_REPEATS",
    "Code",
    "FileReport",
    "Finding",
    "FindingCounts",
    "KnownNames",
    "Severity",
    "clip",
    "expand_paths",
    "fix_file",
    "known_names",
    "lint_file",
    "lint_paths",
    "lint_text",
]
