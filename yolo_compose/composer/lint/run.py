"""Linting files: the entry points (text, file, paths, with drift against a provenance line) and ``--fix``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ...errors import ComposeError
from ..files import STDIN, STDIN_NAME, read_input, write_output
from ..layout import apply_patches
from ..provenance import provenance_drift
from ..templates import find_template
from .checks import Collector, lint_model
from .codes import FileReport, Finding
from .names import KnownNames, known_names
from .read import Stop, read_model


def lint_text(text: str, path: str = "<text>", names: KnownNames | None = None) -> FileReport:
    """Every finding of one YAML text; a YAML that is not a model comes back with is_model False."""
    names = names or known_names()
    out = Collector(path)
    report = FileReport(path, text=text)
    try:
        model = read_model(text)
    except Stop as stop:
        out.add(stop.code, stop.message, (stop.line, stop.col))
        report.findings = out.findings
        return report
    if model is None:
        report.is_model = False
        return report
    lint_model(*model, text, names, report, out)
    _check_provenance(text, path, out)
    report.findings = sorted(out.findings, key=lambda f: (f.line, f.col))
    return report


def _check_provenance(text: str, path: str, out: Collector) -> None:
    """A file whose first line names what made it must still be what that makes (YC070)."""
    drift = provenance_drift(text, path, find_template=find_template)
    if drift is not None:
        out.add("YC070", drift[1], (drift[0], 1))


def lint_file(path: str | Path, names: KnownNames | None = None) -> FileReport:
    """Read and lint one file (``-``: stdin); read problems become a YC001 finding."""
    from_stdin = str(path) == STDIN
    shown = STDIN_NAME if from_stdin else str(path)
    try:
        text, shown = read_input(str(path))
    except ComposeError as exc:
        return FileReport(shown, findings=[Finding(shown, exc.line or 1, 1, "YC001", exc.message)])
    report = lint_text(text, shown, names)
    report.from_stdin = from_stdin
    return report


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; a folder stands for the ``*.yaml``/``*.yml`` files under it, sorted."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()))
        else:
            files.append(path)
    return files


def lint_paths(paths: Iterable[str | Path]) -> list[FileReport]:
    """Lint several files (folders expanded) with one set of known names; --import modules first."""
    names = known_names()
    return [lint_file(path, names) for path in expand_paths(paths)]


def fix_file(report: FileReport) -> int:
    """Rewrite the fixable findings of a linted file in place (atomically); returns how many."""
    fixes = [f.fix for f in report.findings if f.fix is not None]
    if not fixes or report.text is None or report.from_stdin:
        return 0
    write_output(report.path, apply_patches(report.text, fixes), force=True)
    report.findings = [f for f in report.findings if f.fix is None]
    return len(fixes)
