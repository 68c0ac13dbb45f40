"""A yolo-compose run's process (the CLI, the build child): its environment and its heavy imports.

Importing the library does none of this; the CLI entry point and the build child call
:func:`prepare_process` first.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Iterator

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
