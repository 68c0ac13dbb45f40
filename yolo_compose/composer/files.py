"""Reading and writing the user's files safely: bounded reads, exclusive creates, no clobbering.

Reading (:func:`read_input`): a path or ``-`` (stdin). A path is opened without blocking and
checked with ``fstat`` before a byte is read, so a FIFO, a device (``/dev/zero``), a socket or a
folder is refused at once with one line; a regular file is read to at most
:data:`MAX_INPUT_BYTES` + 1 bytes, so nothing is ever read without bound.

Writing (:func:`write_output`): the text goes to a temporary file in the target's folder first.
Without ``force`` the temporary file is then hard-linked to the target name, which fails
atomically when the name exists, so of several runs racing for one name exactly one wins;
with ``force`` it atomically replaces the target. Either way no reader ever sees a partial
file. A symlink is written through (its target is replaced, the link stays); devices, FIFOs and
sockets are refused, even with ``force``. A new file gets the mode the umask gives
(``0o666 & ~umask``), a replaced file keeps its own mode. :func:`emit_output` is the same, or
stdout when there is no file (``-o -``).

Nothing here imports torch, ultralytics or a YAML library.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from ..errors import FileAccessError, OutputExistsError

#: Inputs larger than this are refused (a model YAML is a few KiB).
MAX_INPUT_BYTES = 2 * 1024 * 1024
STDIN = "-"
STDIN_NAME = "<stdin>"
_READ_CHUNK = 64 * 1024
#: os.link errors that mean "this file system has no hard links", not "the name exists".
_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK}


def kind_of(mode: int) -> str:
    """What a file of this ``st_mode`` is, in words: 'a FIFO', 'a character device', ..."""
    for test, words in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return words
    return "not a regular file"


# --- reading ----------------------------------------------------------------------------------------


def read_input(path_or_dash: str | Path, *, stdin: BinaryIO | None = None) -> tuple[str, str]:
    """(text, name to show) of a YAML input: a regular file, or stdin for ``-``.

    Every problem (missing, a folder, a FIFO or device, too large, binary, not UTF-8) raises a
    :class:`FileAccessError` of one line that names the input.
    """
    if str(path_or_dash) == STDIN:
        stream = stdin if stdin is not None else sys.stdin.buffer
        return _decode(_read_bounded(stream.read, STDIN_NAME), STDIN_NAME), STDIN_NAME
    shown = str(path_or_dash)
    fd = _open_regular(shown)
    with os.fdopen(fd, "rb") as handle:
        data = _read_bounded(handle.read, shown)
    return _decode(data, shown), shown


def _open_regular(shown: str) -> int:
    """A read-only descriptor of a regular file; anything else is refused before reading."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(shown, flags)  # non-blocking: opening a FIFO with no writer returns at once
    except FileNotFoundError:
        raise FileAccessError("no such file", path=shown) from None
    except PermissionError:
        raise FileAccessError("permission denied", path=shown) from None
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket (or a FIFO opened for writing)
            raise FileAccessError("is a socket, not a YAML file", path=shown) from None
        raise FileAccessError(f"cannot read: {exc.strerror or exc}", path=shown) from None
    info = os.fstat(fd)
    problem = ""
    if not stat.S_ISREG(info.st_mode):
        problem = f"is {kind_of(info.st_mode)}, not a YAML file"
    elif info.st_size > MAX_INPUT_BYTES:
        problem = _too_large(info.st_size)
    if problem:
        os.close(fd)
        raise FileAccessError(problem, path=shown)
    with contextlib.suppress(OSError):  # blocking again: a regular file never blocks anyway
        os.set_blocking(fd, True)
    return fd


def _too_large(size: int | None) -> str:
    amount = f"{size:,} bytes" if size is not None else f"over {MAX_INPUT_BYTES:,} bytes"
    return f"file is {amount}; a model YAML is expected under {MAX_INPUT_BYTES:,} bytes (2 MiB)"


def _read_bounded(read: Callable[[int], bytes], shown: str) -> bytes:
    """At most MAX_INPUT_BYTES bytes from a read(n) callable; more is refused, not read."""
    chunks: list[bytes] = []
    total = 0
    while total <= MAX_INPUT_BYTES:
        chunk = read(min(_READ_CHUNK, MAX_INPUT_BYTES + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > MAX_INPUT_BYTES:
        raise FileAccessError(_too_large(None), path=shown)
    return b"".join(chunks)


def _decode(data: bytes, shown: str) -> str:
    """UTF-8 text, a BOM kept (an edit gives every byte back); binary data is refused."""
    if b"\x00" in data:
        raise FileAccessError("binary file, not YAML", path=shown)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileAccessError(f"not UTF-8 (byte {exc.start})", path=shown) from None


# --- writing ----------------------------------------------------------------------------------------


def output_problem(path: str | Path) -> str:
    """Why `path` can never be written as an output file ('' when it can): checked before any work."""
    target = Path(os.path.realpath(path))
    try:
        info = target.stat()
    except FileNotFoundError:
        return "" if target.parent.is_dir() else f"folder {str(target.parent)!r} does not exist"
    except OSError as exc:
        return f"cannot write: {exc.strerror or exc}"
    if stat.S_ISREG(info.st_mode):
        return ""
    return f"is {kind_of(info.st_mode)}; refusing to replace it with a file"


def write_output(path: str | Path, text: str, *, force: bool) -> Path:
    """Write `text` to `path` atomically; returns the file written (a symlink's target).

    Without `force` an existing name makes it fail (atomically: racing writers cannot both
    win); with `force` the file is replaced and keeps its mode. Raises OutputExistsError or
    FileAccessError with one line.
    """
    shown = str(path)
    problem = output_problem(path)
    if problem:
        raise FileAccessError(problem, path=shown)
    target = Path(os.path.realpath(path))
    old_mode = _regular_mode(target)
    if old_mode is not None and not force:
        raise _exists(shown)
    try:
        tmp = _write_temp(target, text, old_mode if old_mode is not None else _new_file_mode())
    except OSError as exc:
        raise FileAccessError(f"cannot write: {exc.strerror or exc}", path=shown) from None
    try:
        if force:
            os.replace(tmp, target)
        else:
            _create_exclusive(tmp, target, shown)
    except OSError as exc:
        raise FileAccessError(f"cannot write: {exc.strerror or exc}", path=shown) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return target


def emit_output(text: str, target: Path | None, *, force: bool) -> None:
    """Write `text` atomically to `target` (never clobbering without `force`), or to stdout for
    None (``-o -``): the one place a command's file result is written."""
    if target is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    write_output(target, text, force=force)


def _exists(shown: str) -> OutputExistsError:
    """The name is taken (typically by another run that got there first): nothing is overwritten."""
    return OutputExistsError("exists (created by another run meanwhile?); not overwritten", path=shown)


def _regular_mode(target: Path) -> int | None:
    """The permission bits of an existing regular file, None when there is none."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        return None


def _new_file_mode() -> int:
    """The mode `open()` would give a new file: 0o666 less the process umask.

    The umask can only be read by setting it; it is set back at once (the CLI is one thread).
    """
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _write_temp(target: Path, text: str, mode: int) -> str:
    """A fully written, flushed temporary file next to `target` (same file system), with `mode`."""
    import tempfile  # only when a file is written: `-o -` and the checks need none of it

    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), mode)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return tmp


def _create_exclusive(tmp: str, target: Path, shown: str) -> None:
    """Give the finished temp file the target name, failing if the name exists."""
    try:
        os.link(tmp, target)
        return
    except FileExistsError:
        raise _exists(shown) from None
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
    # No hard links here: claim the name exclusively, then move the content over it atomically.
    try:
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise _exists(shown) from None
    os.replace(tmp, target)
