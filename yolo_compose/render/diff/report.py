"""The text forms of `yolo-compose diff`: a Rich report, GitHub annotations, a one-line stat.

Every renderer reads the same :class:`~yolo_compose.composer.diff.DiffResult`. Layers are named
the way a reader thinks of them — ``9 HaloAttention [2, 1]``, ``input 8 C3k2 → 9 HaloAttention`` —
never as index arithmetic. Indices are B's unless marked ``A``.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rich import box
from rich.table import Table
from rich.text import Text

from ...composer.diff import (
    DiffResult,
    LayerLabel,
    ScaleCost,
)
from ...composer.gitdiff import DriverReport
from ..console import fits, github_data, github_property, print_json, print_table, printable, stdout_console

_BARE = re.compile(r"^[A-Za-z_][\w.]*$")


def flow(value: Any) -> str:
    """A plain value written as a YAML flow item, the way model files write args."""
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bool):
        return "True" if value else "False"
    if value is None:
        return "null"
    if isinstance(value, str):
        return value if _BARE.match(value) else json.dumps(value, ensure_ascii=False)
    return str(value)


def _labels(labels: Sequence[LayerLabel]) -> str:
    return ", ".join(str(label) for label in labels)


#: The report's sections, in order: the layer changes (a LayerChangeKind each), then the rest.
FindingSection = Literal["inserted", "removed", "changed", "rewired", "renumbered", "top-level", "comments"]


@dataclass(frozen=True)
class Finding:
    """One reportable difference: its section, the sentence, and where it sits in file B (or A)."""

    section: FindingSection
    message: str
    line: int | None
    in_a: bool = False  # the line is in file A (a removed layer or key)


def findings(result: DiffResult, *, verbose: bool = False) -> list[Finding]:
    """Every difference as a sentence, in report order; renumbered refs only with ``verbose``."""
    found: list[Finding] = []
    for ins in result.inserted:
        feeds_text = f"; feeds {_labels(ins.readers)}" if ins.readers else ""
        after = f"after A {ins.after_a}" if ins.after_a else "at the start"
        found.append(
            Finding(
                "inserted",
                f"inserted {ins.index} {ins.node.module} {flow(ins.node.args)} "
                f"(repeats {flow(ins.node.repeats)}, from {flow(ins.from_)} = {_labels(ins.sources)}), "
                f"{after}{feeds_text}",
                ins.line,
            )
        )
    for rem in result.removed:
        found.append(
            Finding(
                "removed",
                f"removed A {rem.index} {rem.node.module} {flow(rem.node.args)} "
                f"(repeats {flow(rem.node.repeats)}, from {flow(rem.from_)}), before {rem.before_b}",
                rem.line,
                in_a=True,
            )
        )
    for chg in result.changed:
        changes = "; ".join(f"{c.field} {flow(c.old)} → {flow(c.new)}" for c in chg.changes)
        where = f"{chg.b_index}" if chg.a_index == chg.b_index else f"{chg.b_index} (A {chg.a_index})"
        found.append(Finding("changed", f"changed {where}: {changes}", chg.b_line))
    for rew in result.rewired:
        where = f"{rew.b_index}" if rew.a_index == rew.b_index else f"{rew.b_index} (A {rew.a_index})"
        found.append(
            Finding(
                "rewired",
                f"rewired {where} {rew.module}: inputs A [{_labels(rew.old_sources)}] "
                f"→ [{_labels(rew.new_sources)}] "
                f"(from {flow(rew.old_from)} → {flow(rew.new_from)})",
                rew.b_line,
            )
        )
    if verbose:
        for ren in result.renumbered:
            found.append(
                Finding(
                    "renumbered",
                    f"renumbered {ren.b_index} {ren.module} input {ren.position + 1}: {ren.old} → {ren.new} "
                    f"(still reads {ren.source})",
                    ren.b_line,
                )
            )
    for t in result.top_level:
        if t.kind == "changed":
            message = f"{t.key}: {flow(t.old)} → {flow(t.new)}"
        elif t.kind == "added":
            message = f"{t.key} added: {flow(t.new)}"
        else:
            message = f"{t.key} removed (was {flow(t.old)})"
        found.append(Finding("top-level", message, t.line, in_a=t.kind == "removed"))
    if result.comments_shown:
        for c in result.comments:
            layer = f" on layer {c.layer}" if c.layer is not None else ""
            if c.kind == "changed":
                message = f"comment{layer}: {c.old} → {c.new}"
            else:
                message = f"comment {c.kind}{layer}: {c.new if c.kind == 'added' else c.old}"
            found.append(Finding("comments", message, c.line, in_a=c.kind == "removed"))
    return found


def headline(result: DiffResult) -> str:
    """One line: same or different, and how many of each kind of difference."""
    if result.same_graph and not result.renumbered and not result.comments:
        return "same"
    counts = result.summary()
    parts = [f"{counts[k]} {k.replace('_', '-')}" for k in ("inserted", "removed", "changed", "rewired")
             if counts[k]]
    if counts["top_level"]:
        parts.append(f"{counts['top_level']} top-level change{'s' * (counts['top_level'] != 1)}")
    if counts["renumbered"]:
        plural = "s" * (counts["renumbered"] != 1)
        parts.append(f"{counts['renumbered']} reference{plural} renumbered consistently")
    if counts["comments"]:
        ignored = "" if result.comments_shown else " (ignored)"
        n = counts["comments"]
        lines = "1 comment line differs" if n == 1 else f"{n} comment lines differ"
        parts.append(f"{lines}{ignored}")
    state = "same graph" if result.same_graph else "different"
    return f"{state}: {', '.join(parts)}"


_STYLES: dict[FindingSection, str] = {
    "inserted": "green",
    "removed": "red",
    "changed": "yellow",
    "rewired": "magenta",
    "renumbered": "cyan",
    "top-level": "blue",
    "comments": "dim",
}


def render_rich(
    result: DiffResult, *, verbose: bool = False, costs: Sequence[ScaleCost] | None = None
) -> None:
    """The report, then (with --build) one params/GFLOPs table per scale."""
    _render_report(result, verbose=verbose)
    console = stdout_console()
    for cost in costs or ():
        for table in cost_tables(console, cost):
            print_table(console, table, cost_title(cost))


def cost_tables(console: Any, cost: ScaleCost) -> list[Table]:
    """The --build table, folded until it fits: no kind column, then params and GFLOPs apart.

    The report above already says each layer's kind; no cell ever wraps or is cut.
    """
    for tables in (
        [cost_table(cost)],
        [cost_table(cost, with_kind=False)],
        [cost_table(cost, with_kind=False, measures=(m,)) for m in ("params", "GFLOPs")],
    ):
        if all(fits(console, table) for table in tables):
            return tables
    return tables


def _render_report(result: DiffResult, *, verbose: bool) -> None:
    """A headline, then one line per difference, grouped and coloured by kind."""
    console = stdout_console()
    head = headline(result)
    if head == "same":
        console.print("same")
        return
    console.print(Text(f"{result.a.name} → {result.b.name}: {head}", style="bold"), soft_wrap=True)
    current: FindingSection | None = None
    for finding in findings(result, verbose=verbose):
        if finding.section != current:
            current = finding.section
            console.print(Text(current.capitalize(), style=f"bold {_STYLES[current]}"), soft_wrap=True)
        where = f"  (line {finding.line}{' of A' if finding.in_a else ''})" if finding.line else ""
        console.print(Text(f"  {finding.message}{where}", style=_STYLES[current]), soft_wrap=True)
    if result.renumbered and not verbose:
        console.print("renumbered references not listed (--verbose lists them)", soft_wrap=True)
    if result.comments and not result.comments_shown:
        console.print("comments ignored (--comments lists them)", soft_wrap=True)


def _params(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _gflops(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def _delta(old: float | None, new: float | None, fmt: str) -> str:
    """New minus old; a layer missing on one side counts as 0 there."""
    if old is None and new is None:
        return ""
    return format((new or 0) - (old or 0), "+" + fmt)


def cost_title(cost: ScaleCost) -> str:
    return f"--build: scale {cost.scale or '(none)'}, {cost.imgsz}x{cost.imgsz}"


def cost_table(
    cost: ScaleCost, *, with_kind: bool = True, measures: tuple[str, ...] = ("params", "GFLOPs")
) -> Table:
    """Params and GFLOPs of both sides at one scale: the differing layers, then the totals.

    `with_kind` False leaves out the kind column and `measures` picks params, GFLOPs or both
    (for a narrow terminal; no cell ever wraps).
    """
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("layer", no_wrap=True)
    if with_kind:
        table.add_column("kind", no_wrap=True)
    for measure in measures:
        for column in (f"{measure} A", f"{measure} B", f"Δ {measure}"):
            table.add_column(column, justify="right", no_wrap=True)
    rows: list[tuple[str, str, tuple[int | None, int | None], tuple[float | None, float | None]]] = [
        (printable(f"{x.b_index if x.b_index is not None else f'A {x.a_index}'} {x.module}"), x.kind,
         (x.a_params, x.b_params), (x.a_gflops, x.b_gflops))
        for x in cost.layers
    ]
    rows.append(("total", "", (cost.a_params, cost.b_params), (cost.a_gflops, cost.b_gflops)))
    for label, kind, params, gflops in rows:
        cells = [label, kind] if with_kind else [label]
        if "params" in measures:
            cells += [_params(params[0]), _params(params[1]), _delta(*params, ",")]
        if "GFLOPs" in measures:
            cells += [_gflops(gflops[0]), _gflops(gflops[1]), _delta(*gflops, ".3f")]
        table.add_row(*cells)
    return table


def github_lines(result: DiffResult, *, a_file: str, b_file: str, verbose: bool = False) -> list[str]:
    """GitHub Actions workflow commands: one ``::notice`` per difference, with file and line."""
    lines = []
    for finding in findings(result, verbose=verbose):
        file = a_file if finding.in_a else b_file
        location = f"file={github_property(file)}"
        if finding.line:
            location += f",line={finding.line}"
        title = github_property(f"yolo-compose diff: {finding.section}")
        lines.append(f"::notice {location},title={title}::{github_data(finding.message)}")
    return lines


def render_github(
    result: DiffResult,
    *,
    a_file: str,
    b_file: str,
    verbose: bool = False,
    costs: Sequence[ScaleCost] | None = None,
) -> None:
    """Print the annotations (and one per built scale), then the headline as a plain line."""
    console = stdout_console()
    for line in github_lines(result, a_file=a_file, b_file=b_file, verbose=verbose):
        console.print(line, soft_wrap=True)
    for cost in costs or ():
        message = (
            f"scale {cost.scale}: params {cost.a_params:,} → {cost.b_params:,} "
            f"({cost.b_params - cost.a_params:+,}), GFLOPs {cost.a_gflops:.3f} → {cost.b_gflops:.3f}"
        )
        console.print(f"::notice file={github_property(b_file)},title=yolo-compose diff%3A build::"
                      f"{github_data(message)}", soft_wrap=True)
    console.print(f"{result.a.name} → {result.b.name}: {headline(result)}", soft_wrap=True)


def stat_line(result: DiffResult) -> str:
    """One line per compared file, like ``git diff --stat``: the B file and its counts."""
    counts = result.summary()
    parts = ", ".join(f"{counts[k]} {k.replace('_', '-')}" for k in counts if k != "comments")
    return f"{result.b.name} | {'same' if result.same_graph else 'different'}: {parts}"


def render_stat(result: DiffResult, *, as_json: bool = False) -> None:
    """The stat line, or the summary counts as JSON."""
    if as_json:
        print_json({"a": result.a.name, "b": result.b.name, "same_graph": result.same_graph,
                    "summary": result.summary()})
        return
    stdout_console().print(stat_line(result), soft_wrap=True)


def render_driver(report: DriverReport) -> None:
    """Git driver mode, when not both sides are models: a headline, then layers or a plain diff."""
    layers = [f"  {x.index} {x.module} {flow(list(x.args))} (from {flow(x.from_)})" for x in report.layers]
    lines = [report.headline, *layers, *report.diff_lines]
    sys.stdout.write("".join(f"{printable(line)}\n" for line in lines))
    sys.stdout.flush()
