"""Renderers for `yolo-compose insert` and `remove`: the edit report as plain text or as JSON.

The text report goes to stderr (it is a summary; stdout carries the result: the written path, or
the YAML itself with ``-o -``). The JSON report is the only thing on stdout.

The report is plain aligned columns, as pip-audit's ``columns`` format is, not a Rich table:
it is the whole output of a static edit (``--no-build``), and importing and laying out Rich
would cost about a third of that command's run. The build's summary, which follows it when the
model is built, is the Rich table.
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ..composer.edit import EditResult, EditStep, Rewire
from .console import plain_columns, print_json, printable

if TYPE_CHECKING:
    from ..build import BuildSummary
    from ..composer.bases import Base
    from ..weights import TransferReport


def _base_dict(base: Base | None) -> dict[str, Any] | None:
    """A base YAML as JSON: its name, path, scale (null when none) and whether it is bundled."""
    if base is None:
        return None
    return {"name": base.name, "path": str(base.path), "scale": base.scale or None, "bundled": base.bundled}


def _step_dict(step: EditStep) -> dict[str, Any]:
    """One edit of a change as JSON: what, where, and the rows it wrote."""
    return {
        "action": step.action,
        "module": step.module or None,
        "placement": step.placement or None,
        "target": {"index": step.target, "module": step.target_module},
        "new_indices": list(step.new_indices),
        "rows": [list(row) for row in step.rows],
    }


def edit_dict(edit: EditResult) -> dict[str, Any]:
    """The edit report as JSON (index_map keys become strings, as JSON requires)."""
    return {
        "action": edit.action,
        "base": _base_dict(edit.base),
        "source": edit.spec.source,
        "module": None
        if edit.module is None
        else {"name": edit.module.name, "yaml_name": edit.module.yaml_name},
        "target": {"index": edit.target, "module": edit.target_module},
        "placement": edit.placement or None,
        "new_index": edit.new_index,
        "removed_index": edit.removed_index,
        "row": edit.row,
        "inserted": list(edit.inserted),
        "replaced": list(edit.replaced),
        "steps": [_step_dict(step) for step in edit.steps],
        "index_map": {str(old): new for old, new in sorted(edit.index_map.items())},
        "rewired": [asdict(item) for item in edit.rewired],
        "comments_renumbered": edit.comments_renumbered,
        "layers": len(edit.spec.layers),
        "default_output_name": edit.default_output_name,
        "warnings": list(edit.warnings),
    }


def edit_report_dict(
    edit: EditResult,
    *,
    output: str | None,
    summary: BuildSummary | None = None,
    transfer: TransferReport | None = None,
) -> dict[str, Any]:
    """The JSON document printed by `--json`: the edit report, where it went, the build, the weights.

    The build and weights sections are their own renderers' JSON; those modules are imported only
    when there is such a section, since they import Rich and a static edit's report needs none.
    """
    data = edit_dict(edit)
    data["output"] = output
    if summary is not None:
        from .summary import summary_dict

        data["build"] = summary_dict(summary)
    if transfer is not None:
        from .weights import transfer_dict

        data["weights"] = transfer_dict(transfer)
    return data


def render_edit_json(
    edit: EditResult,
    *,
    output: str | None,
    summary: BuildSummary | None = None,
    transfer: TransferReport | None = None,
) -> None:
    """Print the edit report (and the build summary and weight transfer, when done) as one JSON document."""
    print_json(edit_report_dict(edit, output=output, summary=summary, transfer=transfer))


def headline(edit: EditResult) -> str:
    """What the edit did, e.g. 'inserted layer 9 HaloAttention after layer 8 (C3k2)'; a change of
    several edits gets one line per edit under a line that counts them."""
    if len(edit.steps) > 1 or (edit.steps and len(edit.steps[0].new_indices) > 1):
        base = f" to {printable(edit.base.name)}" if edit.base is not None else ""
        lines = [f"{len(edit.steps)} edit{'s' * (len(edit.steps) != 1)}{base}:"]
        lines += [f"  {step_line(step)}" for step in edit.steps]
        return "\n".join(lines)
    base = f" into {printable(edit.base.name)}" if edit.base is not None else ""
    if edit.action == "insert":
        row = _row_text(edit.row)
        return (
            f"inserted layer {edit.new_index} {row}{base}, {edit.placement} layer "
            f"{edit.target} ({printable(edit.target_module)})"
        )
    if edit.action == "replace":
        of = f" of {printable(edit.base.name)}" if edit.base is not None else ""
        return f"replaced layer {edit.target} ({edit.target_module}){of} by {_row_text(edit.row)}"
    source = printable(edit.base.name) if edit.base is not None else "the model"
    return f"removed layer {edit.removed_index} {_row_text(edit.row)} from {source}"


def step_line(step: EditStep) -> str:
    """One edit of a change: 'insert HaloAttention before layer 23 (Detect) -> layers 23, 24, 25'."""
    rows = ", ".join(_row_text(row) for row in step.rows)
    if step.action == "remove":
        return f"remove layer {step.target} {rows}"
    where = f"{step.placement + ' ' if step.placement else ''}layer {step.target} ({step.target_module})"
    written = ", ".join(str(i) for i in step.new_indices)
    noun = "layer" if len(step.new_indices) == 1 else "layers"
    return f"{step.action} {step.module} {where} -> {noun} {written}: {rows}"


def moved_ranges(index_map: dict[int, int]) -> list[str]:
    """Runs of layers that moved, as 'old_a..old_b -> new_a..new_b' strings."""
    moved = sorted((old, new) for old, new in index_map.items() if old != new)
    runs: list[list[tuple[int, int]]] = []
    for pair in moved:
        if runs and pair[0] == runs[-1][-1][0] + 1 and pair[1] == runs[-1][-1][1] + 1:
            runs[-1].append(pair)
        else:
            runs.append([pair])
    return [f"{run[0][0]}..{run[-1][0]} -> {run[0][1]}..{run[-1][1]}" for run in runs]


REWIRE_COLUMNS = ("layer", "was", "module", "from", "why")


def rewire_rows(rewired: list[Rewire]) -> list[tuple[str, ...]]:
    """The references the edit rewrote or redirected, one row each, in REWIRE_COLUMNS order."""
    rows: list[tuple[str, ...]] = []
    for item in rewired:
        ref = (
            f"{item.old_ref} -> {item.new_ref}"
            if item.old_ref != item.new_ref
            else f"{item.new_ref} (same text)"
        )
        rows.append((str(item.layer), str(item.old_layer), printable(item.module), ref, item.reason))
    return rows


def edit_report_lines(edit: EditResult, *, output: str | None) -> list[str]:
    """The edit report: what was done, which layers moved, which refs changed, where it went."""
    ranges = moved_ranges(edit.index_map)
    lines = [
        headline(edit),
        f"renumbered: {', '.join(ranges) if ranges else 'nothing moved'}"
        f"; {edit.comments_renumbered} index comments updated",
    ]
    if edit.rewired:
        lines += ["References", *plain_columns(REWIRE_COLUMNS, rewire_rows(edit.rewired))]
    if output is not None:
        lines.append(f"wrote {printable(output)}" if output != "-" else "YAML written to stdout")
    lines += [f"warning: {printable(warning)}" for warning in edit.warnings]
    return lines


def render_edit_text(edit: EditResult, *, output: str | None) -> None:
    """Print the edit report on stderr (see edit_report_lines)."""
    sys.stderr.write("".join(f"{line}\n" for line in edit_report_lines(edit, output=output)))
    sys.stderr.flush()


def _row_text(row: list[Any]) -> str:
    """A row in YAML flow form, e.g. '[-1, 1, HaloAttention, [2, 1]]'."""
    if isinstance(row, list):
        return "[" + ", ".join(_row_text(item) for item in row) + "]"
    return printable(str(row))
