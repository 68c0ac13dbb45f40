"""Where ultralytics is in its model code: the ``parse_model`` frame and the layer that failed.

Both are read from running frames (a traceback's, or the caller's), never by patching ultralytics:
``parse_model``'s locals ``ch``, ``f`` and ``i`` and ``_predict_once``'s ``m`` have kept their names
since YOLOv5, and ``tests/test_integration.py`` fails loudly when a release renames one.
"""

from __future__ import annotations

import sys
from types import FrameType, TracebackType

#: The module whose globals ``parse_model`` looks YAML module names up in.
TASKS_MODULE = "ultralytics.nn.tasks"
PARSE_MODEL = "parse_model"
PREDICT_ONCE = "_predict_once"
_MAX_FRAMES_UP = 8  # parse_model -> genexpr (n > 1) -> adapter.__new__: a few frames at most


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


def unknown_module_name(exc: BaseException) -> str | None:
    """The YAML module name ``parse_model`` found in no namespace, when `exc` is that lookup failing.

    ``parse_model`` looks a row's module up with ``globals()[m]``: a ``KeyError`` raised in its own
    frame is that lookup. One raised deeper (inside a layer's ``__init__``) is a bug of the layer,
    reported as what it is.
    """
    if not isinstance(exc, KeyError) or len(exc.args) != 1 or not isinstance(exc.args[0], str):
        return None
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return None
    frame = tb.tb_frame
    in_parse_model = frame.f_code.co_name == PARSE_MODEL and frame.f_globals.get("__name__") == TASKS_MODULE
    return exc.args[0] if in_parse_model else None
