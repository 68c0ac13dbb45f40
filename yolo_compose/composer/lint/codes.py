"""What a lint finding is: its code (the table every code is documented in), severity and place."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from ..layout import Patch

MAX_MESSAGE = 300  # characters; values quoted from the file are cut, never the location or code


class Severity(str, Enum):
    """How bad a finding is: errors fail the check, warnings only with --strict."""

    error = "error"
    warning = "warning"


@dataclass(frozen=True)
class Code:
    """One documented finding code."""

    code: str
    severity: Severity
    title: str


_E, _W = Severity.error, Severity.warning


CODES: dict[str, Code] = {
    c.code: c
    for c in (
        Code("YC001", _E, "file cannot be read as YAML text (missing, binary, not UTF-8, too large)"),
        Code("YC002", _E, "YAML syntax error"),
        Code("YC003", _E, "YAML tag that could construct Python objects, or an unknown tag"),
        Code("YC004", _E, "anchors/aliases expand too far (alias bomb) or refer to themselves"),
        Code("YC010", _E, "not a usable model: empty, `backbone`/`head` missing or not lists, no layers"),
        Code("YC011", _E, "a top-level key has the wrong type or value (nc, scales, multiples, ...)"),
        Code("YC012", _E, "a top-level key appears twice: the last one silently wins, as in ultralytics"),
        Code("YC020", _E, "layer row is not [from, repeats, module, args] with the right types"),
        Code("YC021", _E, "`from` points forward, out of range, or at the input image"),
        Code("YC022", _E, "single-input module given a list `from`, or Concat/head given one ref"),
        Code("YC023", _E, "the last layer is not a head (Detect, Segment, Classify, ...)"),
        Code("YC030", _E, "unknown module name (with did-you-mean)"),
        Code("YC031", _E, "module name is a non-layer global of ultralytics.nn.tasks (it would be called)"),
        Code("YC032", _E, "args do not match the module's schema"),
        Code("YC033", _E, "size out of bounds: repeats, channels, multiples, nc or layers too many"),
        Code("YC034", _W, "a TorchVision layer downloads pretrained weights when built (a build refuses it)"),
        Code("YC040", _E, "`activation:` is not a plain nn.Activation(...) call; ultralytics eval()s it"),
        Code("YC050", _W, "a layer's output is never used"),
        Code("YC051", _W, "a `# N` index comment disagrees with the layer's index (fixable)"),
        Code("YC060", _E, "build failed (build tier)"),
        Code("YC061", _E, "forward pass failed at a size (build tier)"),
        Code("YC062", _E, "build exceeded its time or memory limit (build tier)"),
        Code("YC063", _E, "not built: building would download or load a checkpoint (build tier)"),
        Code("YC070", _E, "the first line names a command or recipe that no longer makes this file (drift)"),
    )
}


@dataclass(frozen=True)
class Finding:
    """One problem at one place in one file."""

    path: str
    line: int  # 1-based; 1 when the problem concerns the whole file
    col: int  # 1-based
    code: str
    message: str
    fix: Patch | None = None  # the text edit that fixes it, where one does

    @property
    def severity(self) -> Severity:
        """The severity documented for this finding's code."""
        return CODES[self.code].severity


class FindingCounts:
    """Errors and warnings of anything that holds a `findings` list (one file, or a whole run)."""

    if TYPE_CHECKING:  # a subclass holds them as a field (FileReport) or computes them

        @property
        def findings(self) -> list[Finding]: ...

    @property
    def errors(self) -> list[Finding]:
        """Findings of error severity."""
        return [f for f in self.findings if f.severity is Severity.error]

    @property
    def warnings(self) -> list[Finding]:
        """Findings of warning severity."""
        return [f for f in self.findings if f.severity is Severity.warning]


@dataclass
class FileReport(FindingCounts):
    """Every finding of one file, plus what the build tier needs to know about it."""

    path: str
    is_model: bool = True
    findings: list[Finding] = field(default_factory=list)
    text: str | None = None
    scales: list[str] = field(default_factory=list)  # keys of `scales:` in file order
    layer_lines: dict[int, int] = field(default_factory=dict)  # layer index -> 1-based line
    from_stdin: bool = False  # read from '-': --fix has no file to rewrite


def clip(message: str) -> str:
    """A message cut to :data:`MAX_MESSAGE` characters: a finding stays one readable line."""
    message = " ".join(message.split())
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 3] + "..."
