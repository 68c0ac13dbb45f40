"""The `yolo-compose` command line: a thin layer over the library, with the same verbs.

Each command parses its arguments, makes one library call, and hands the result to one renderer.
Library errors (:class:`~yolo_compose.errors.ComposeError`) become one line on stderr
and a non-zero exit, never a traceback. The static commands import no torch or ultralytics;
anything that builds imports them inside the function, only when asked to build.

The parts: :mod:`.app` (the app and what commands share), :mod:`.edits`, :mod:`.sweep`,
:mod:`.train` and :mod:`.readonly` (the commands, registered on import), :mod:`.main` (the entry point).
"""

from __future__ import annotations

from .app import (
    AllScalesOption,
    ForceOption,
    JsonReportOption,
    NoProvenanceOption,
    SpecCommand,
    app,
    fail,
    negative_positionals_last,
)
from .edits import apply_command, insert_command, remove_command, replace_command, templates_command
from .main import app_for, main
from .readonly import diff_command, modules_command, validate_command
from .sweep import sweep_command
from .train import transfer_command, yolo_command

__all__ = [
    "AllScalesOption",
    "ForceOption",
    "JsonReportOption",
    "NoProvenanceOption",
    "SpecCommand",
    "app",
    "app_for",
    "apply_command",
    "diff_command",
    "fail",
    "insert_command",
    "main",
    "modules_command",
    "negative_positionals_last",
    "remove_command",
    "replace_command",
    "sweep_command",
    "templates_command",
    "transfer_command",
    "validate_command",
    "yolo_command",
]
