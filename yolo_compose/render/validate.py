"""Print the findings of `yolo-compose validate`: compiler-style lines, GitHub annotations or JSON.

Each finding is one line on stdout, ``path:line:col: error|warning: text [code]``, the form editors
and CI log viewers turn into links. The summary goes to stderr so that stdout stays the findings
alone; ``--json`` prints one JSON document and nothing else on stdout.
"""

from __future__ import annotations

import sys
from typing import Any

from ..composer.lint import CODES, Finding, Severity
from ..validate_build import ValidationResult
from .console import OutputFormat, github_data, github_property, print_json


def finding_line(finding: Finding) -> str:
    """``path:line:col: severity: text [code]``."""
    return (
        f"{finding.path}:{finding.line}:{finding.col}: {finding.severity.value}: "
        f"{finding.message} [{finding.code}]"
    )


def github_line(finding: Finding) -> str:
    """A GitHub Actions annotation: ``::error file=...,line=...,col=...,title=CODE::text``."""
    level = "error" if finding.severity is Severity.error else "warning"
    props = ",".join(
        (
            f"file={github_property(finding.path)}",
            f"line={finding.line}",
            f"col={finding.col}",
            f"title={finding.code}",
        )
    )
    return f"::{level} {props}::{github_data(finding.message)}"


def _count(number: int, noun: str) -> str:
    """'1 error', '2 errors'."""
    return f"{number} {noun}{'s' * (number != 1)}"


def summary_line(result: ValidationResult) -> str:
    """One line: errors and warnings, model files checked, other files skipped, fixes and builds."""
    models = sum(report.is_model for report in result.reports)
    line = (
        f"{_count(len(result.errors), 'error')}, {_count(len(result.warnings), 'warning')} "
        f"in {_count(models, 'model file')}"
    )
    extras = []
    if len(result.reports) > models:
        extras.append(f"{_count(len(result.reports) - models, 'other file')} skipped")
    if result.fixed:
        extras.append(f"{_count(result.fixed, 'comment')} fixed")
    if result.built:
        extras.append(f"{_count(result.built, 'build')} run")
    if result.strict and result.warnings:
        extras.append("warnings fail (--strict)")
    return "; ".join([line, *extras])


def result_json(result: ValidationResult) -> dict[str, Any]:
    """The whole result as JSON-ready data."""
    return {
        "files": [
            {
                "path": report.path,
                "model": report.is_model,
                "findings": [
                    {
                        "line": f.line,
                        "col": f.col,
                        "severity": f.severity.value,
                        "code": f.code,
                        "title": CODES[f.code].title,
                        "message": f.message,
                        "fixable": f.fix is not None,
                    }
                    for f in report.findings
                ],
            }
            for report in result.reports
        ],
        "summary": {
            "errors": len(result.errors),
            "warnings": len(result.warnings),
            "files": len(result.reports),
            "models": sum(report.is_model for report in result.reports),
            "fixed": result.fixed,
            "builds": result.built,
            "exit_code": result.exit_code,
        },
    }


def render_validation(result: ValidationResult, output: OutputFormat) -> None:
    """Print a validation result in the chosen format."""
    if output is OutputFormat.json:
        print_json(result_json(result))
        return
    to_line = github_line if output is OutputFormat.github else finding_line
    lines = [to_line(finding) for finding in result.findings]
    if lines:
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
    sys.stderr.write(summary_line(result) + "\n")
    sys.stderr.flush()
