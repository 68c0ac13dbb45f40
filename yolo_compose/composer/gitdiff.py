"""`yolo-compose diff` run by git as a diff driver: every file gets a diff, and git never sees a failure.

Git runs the driver for every path its ``.gitattributes`` marks, model or not, and stops the
whole ``git diff`` ("external diff died") at the first non-zero exit. So in driver mode:

- two model YAMLs get the layer report (:func:`~.diff.diff_specs`);
- a new or deleted model file is listed layer by layer;
- anything else (a ``data.yaml``, a model with a syntax error, a file that cannot be read) gets
  a plain unified text diff, as git itself would show it, with one line saying why.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from ..errors import ComposeError, NotAModelError
from .files import read_input
from .spec import Layer, ModelSpec

NULL_FILE = "/dev/null"


@dataclass
class DriverSide:
    """One side as git passed it: its text ('' for /dev/null) and its spec when it is a model."""

    name: str  # a/path or b/path
    text: str = ""
    spec: ModelSpec | None = None
    problem: str = ""  # why it is not read as a model ('' when it is one, or absent)
    absent: bool = False  # /dev/null: the file is new (A) or deleted (B)


@dataclass
class DriverReport:
    """What the driver shows for one path: a layer listing, a plain diff, or both sides as models."""

    path: str
    a: DriverSide
    b: DriverSide
    headline: str = ""
    layers: list[Layer] = field(default_factory=list)  # of a new or deleted model file
    diff_lines: list[str] = field(default_factory=list)  # the plain text diff otherwise

    @property
    def both_models(self) -> bool:
        """True when the layer-aware diff applies."""
        return self.a.spec is not None and self.b.spec is not None


def read_side(file: str, name: str) -> DriverSide:
    """Read one side git passed; a read or model problem is kept as text, never raised."""
    if file == NULL_FILE:
        return DriverSide(name, absent=True)
    try:
        text, _shown = read_input(file)
    except ComposeError as exc:
        return DriverSide(name, problem=exc.message)
    try:
        return DriverSide(name, text, ModelSpec.from_text(text, source=name))
    except NotAModelError:
        return DriverSide(name, text)  # a data.yaml or CI config: nothing to explain
    except ComposeError as exc:
        return DriverSide(name, text, problem=str(exc))


def driver_report(path: str, old_file: str, new_file: str) -> DriverReport:
    """The report for one path git diffs (see the module docstring)."""
    a, b = read_side(old_file, f"a/{path}"), read_side(new_file, f"b/{path}")
    report = DriverReport(path, a, b)
    if report.both_models:
        return report
    present = b if a.absent else a if b.absent else None
    if present is not None and present.spec is not None:
        state = "new" if a.absent else "deleted"
        report.headline = f"{path}: {state} model file, {len(present.spec.layers)} layers"
        report.layers = list(present.spec.layers)
        return report
    state = "new file" if a.absent else "deleted file" if b.absent else "changed"
    why = next((side.problem for side in (a, b) if side.problem), "")
    report.headline = f"{path}: {state}, not a model YAML{f' ({why})' if why else ''}: plain text diff"
    report.diff_lines = plain_diff(a, b)
    return report


def plain_diff(a: DriverSide, b: DriverSide) -> list[str]:
    """A unified text diff of both sides, named as git names them."""
    return [
        line.rstrip("\n")
        for line in difflib.unified_diff(
            a.text.splitlines(keepends=True),
            b.text.splitlines(keepends=True),
            fromfile=NULL_FILE if a.absent else a.name,
            tofile=NULL_FILE if b.absent else b.name,
        )
    ]
