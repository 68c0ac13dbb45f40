"""Reading model YAML files as text, and writing composed ones.

A file is read as UTF-8 *with* a byte-order mark kept, so that an edit gives every byte back; the
reader (:mod:`.reader`) knows how libyaml counts past it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..errors import YamlSyntaxError
from .reader import MAX_YAML_BYTES


def read_text(path: str | Path) -> str:
    """Read a YAML file as UTF-8; size, encoding and missing-file problems become one line."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise YamlSyntaxError(
                f"file is {size:,} bytes; a model YAML is expected under {MAX_YAML_BYTES:,}", path=path
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise YamlSyntaxError("no such file", path=path) from None
    except IsADirectoryError:
        raise YamlSyntaxError("is a directory, not a YAML file", path=path) from None
    except PermissionError:
        raise YamlSyntaxError("permission denied", path=path) from None
    if b"\x00" in data:
        raise YamlSyntaxError("binary file, not YAML", path=path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlSyntaxError(f"not UTF-8 (byte {exc.start})", path=path) from None


def write_atomic(path: str | Path, text: str) -> None:
    """Write text to path through a temp file in the same folder, so no partial file is left."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
