"""Errors a user can fix, each one line that names the file, line and layer where it applies.

Every error raised by the composer derives from :class:`ComposeError`. The CLI prints it on one
line and exits non-zero; nothing else of the traceback reaches the user.

Library messages name no command-line option. An error about one request parameter says which
(:class:`Param`), and a remedy it suggests is a :class:`Hint`; ``str(error)`` words both in the
library's terms, and the CLI words them with its own options (``render/errors.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import TypedDict


class Location(TypedDict, total=False):
    """Where an error applies, as :class:`ComposeError` takes it (``raise E(msg, **where)``)."""

    path: str | Path | None
    line: int | None
    layer: int | None
    column: int | None


class Param(str, Enum):
    """A request parameter an error is about, by its library name (shown before the message)."""

    args = "args"
    scale = "scale"
    imports = "imports"
    weights = "weights"


class Hint(Enum):
    """A remedy an error suggests; its value is the library's wording (shown after the message).

    The value is a :meth:`str.format` template over the error's ``hint_values``.
    """

    overwrite = "overwrite it (force), or choose another output"
    other_output = "choose another output"
    output_file = "give a file as the output"
    trust_checkpoint = "load it unrestricted only if you trust the file: unpickling can run code"
    give_base = "give a base"
    give_place = "name a layer to insert after or before (a SPEC)"
    insert_instead = "insert it instead: {module} after layer {index} of {base}"


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
        param: Param | None = None,
        hint: Hint | None = None,
        hint_values: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line  # 1-based, as editors show it
        self.layer = layer
        self.column = column  # 1-based, shown after the line where the reader knows it
        self.param = param
        self.hint = hint
        self.hint_values = dict(hint_values or {})

    def located(self, path: str | Path | None) -> ComposeError:
        """Fill in the file name when the raiser did not know it; returns self for chaining."""
        if self.path is None and path is not None:
            self.path = str(path)
        return self

    def phrased(self, *, param: str | None = None, hint: str | None = None) -> str:
        """The one line: where, the parameter at fault, the message, the remedy.

        `param` and `hint` replace the library's wording of the parameter's name and of the
        remedy's template (the CLI passes its options); the template is filled from hint_values.
        """
        where = ""
        if self.path is not None:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
            where += f":{self.column}: " if self.line is not None and self.column is not None else ": "
        layer = f"layer {self.layer}: " if self.layer is not None else ""
        about = ""
        if self.param is not None:
            about = f"{param if param is not None else self.param.value}: "
        remedy = ""
        if self.hint is not None:
            template = hint if hint is not None else self.hint.value
            remedy = "; " + template.format(**self.hint_values)
        return f"{where}{layer}{about}{self.message}{remedy}"

    def __str__(self) -> str:
        return self.phrased()


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
    """The output file exists and overwriting was not asked for, or it would overwrite the input."""


class BuildError(ComposeError):
    """Ultralytics failed to build or run the composed model."""


class CheckpointError(ComposeError):
    """A checkpoint cannot be read safely, or does not fit the model it is said to be."""


def exception_line(exc: BaseException, *, limit: int | None = None) -> str:
    """An exception that is not one of ours as one line: ``Type: message``, whitespace folded.

    How a module's own bug or a torch error is worded inside one of our one-line errors and
    records, the same everywhere; `limit` cuts the line for a record kept short.
    """
    line = f"{type(exc).__name__}: {' '.join(str(exc).split()) or '(no message)'}"
    return line if limit is None else line[:limit]
