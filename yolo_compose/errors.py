"""Errors a user can fix, each one line that names the file, line and layer where it applies.

Every error raised by the composer derives from :class:`ComposeError`. The CLI prints
``str(error)`` on one line and exits non-zero; nothing else of the traceback reaches the user.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict


class Location(TypedDict, total=False):
    """Where an error applies, as :class:`ComposeError` takes it (``raise E(msg, **where)``)."""

    path: str | Path | None
    line: int | None
    layer: int | None
    column: int | None


class ComposeError(Exception):
    """Base of every problem in a model YAML or a composer request that the user can fix."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        layer: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line  # 1-based, as editors show it
        self.layer = layer
        self.column = column  # 1-based, shown after the line where the reader knows it

    def located(self, path: str | Path | None) -> ComposeError:
        """Fill in the file name when the raiser did not know it; returns self for chaining."""
        if self.path is None and path is not None:
            self.path = str(path)
        return self

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
            where += f":{self.column}: " if self.line is not None and self.column is not None else ": "
        layer = f"layer {self.layer}: " if self.layer is not None else ""
        return f"{where}{layer}{self.message}"


class YamlSyntaxError(ComposeError):
    """The file is not valid YAML, or is not a text a model YAML can be (too large, binary)."""


class UnsafeYamlError(YamlSyntaxError):
    """The YAML uses a tag that is not a plain value (``!!python/...`` would construct objects)."""


class YamlExpansionError(YamlSyntaxError):
    """Anchors and aliases expand too far (an alias bomb) or an alias contains itself."""


class NotAModelError(ComposeError):
    """The YAML parses but is not an Ultralytics model: no backbone/head lists."""


class LayerRowError(ComposeError):
    """A layer row is not of the form [from, repeats, module, args]."""


class LayerReferenceError(ComposeError):
    """A layer's `from` points forward, out of range, or is missing where inputs are required."""


class UnknownBaseError(ComposeError):
    """A base name is neither a bundled ultralytics model nor an existing file."""


class LayerSpecError(ComposeError):
    """A layer spec (index, module name, `backbone`) does not address exactly one layer."""


class UnknownModuleError(ComposeError):
    """A module name is not in the registry (nor an ultralytics or user-imported module)."""


class EditError(ComposeError):
    """An insert or remove cannot be done at the requested place."""


class FileAccessError(ComposeError):
    """An input cannot be read (missing, a FIFO or device, too large, binary) or an output written."""


class OutputExistsError(ComposeError):
    """The output file exists and --force was not given, or it would overwrite the input."""


class BuildError(ComposeError):
    """Ultralytics failed to build or run the composed model."""


class CheckpointError(ComposeError):
    """A checkpoint cannot be read safely, or does not fit the model it is said to be."""
