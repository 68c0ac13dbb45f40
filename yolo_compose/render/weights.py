"""Renderers for a weight transfer (`insert/remove --weights`, `transfer`): Rich text or JSON.

The Rich report goes to stderr, like the edit report; the JSON is :func:`transfer_dict`.
Nothing here imports torch: the report is plain data.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from rich import box
from rich.table import Table
from rich.text import Text

from .console import no_color, print_json, stderr_console

if TYPE_CHECKING:
    from rich.console import Console, JustifyMethod

    from ..weights import LayerTransfer, TransferReport, TransferStatus

_COLUMNS: tuple[tuple[str, JustifyMethod], ...] = (
    ("old", "right"),
    ("new", "right"),
    ("module", "left"),
    ("tensors", "right"),
    ("status", "left"),
    ("why", "left"),
)
_STATUS_STYLE: dict[TransferStatus, str] = {
    "new": "bold green",
    "removed": "red",
    "replaced": "red",
    "partial": "yellow",
    "not transferred": "yellow",
}


def headline(report: TransferReport) -> str:
    """One line: how many of the checkpoint's tensors were transferred, and into what."""
    where = f" -> {report.output}" if report.output else ""
    return (
        f"weights: {report.transferred}/{report.total} tensors of {report.checkpoint} transferred "
        f"into {report.model}{where}"
    )


def _index(value: int | None) -> str:
    return "-" if value is None else str(value)


def _shown(layer: LayerTransfer) -> bool:
    """Rows worth a line: anything but a layer fully transferred to the same index."""
    return layer.status != "transferred" or layer.old != layer.new


def layer_table(report: TransferReport) -> Table:
    """The layers that moved, are new, or were not (fully) transferred."""
    table = Table(title="Weights per layer", title_justify="left", box=box.SIMPLE_HEAD, show_edge=False)
    for name, justify in _COLUMNS:
        table.add_column(name, justify=justify, overflow="fold")
    for layer in filter(_shown, report.layers):
        tensors = f"{layer.transferred}/{layer.tensors}" if layer.old is not None else str(layer.tensors)
        style = None if no_color() else _STATUS_STYLE.get(layer.status)
        table.add_row(
            _index(layer.old),
            _index(layer.new),
            layer.module,
            tensors,
            layer.status,
            layer.reason,
            style=style,
        )
    return table


def summary_lines(report: TransferReport) -> list[str]:
    """Counts by status, in-place layers, skipped tensors by reason, and the notes."""
    statuses = Counter(layer.status for layer in report.layers)
    in_place = sum(1 for layer in report.layers if not _shown(layer))
    lines = [
        "layers: "
        + ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()))
        + (f" ({in_place} at the same index)" if in_place else ""),
    ]
    if report.new_layers:
        lines.append(f"new layers (keep their initialisation): {', '.join(map(str, report.new_layers))}")
    if report.replaced_layers:
        replaced = ", ".join(map(str, report.replaced_layers))
        lines.append(f"replaced base layers (their tensors are not loaded into the new ones): {replaced}")
    reasons = Counter(item.reason for item in report.skipped)
    lines.extend(f"not transferred: {count} tensor(s): {reason}" for reason, count in reasons.most_common())
    lines.extend(report.notes)
    return lines


def render_transfer_rich(report: TransferReport, *, console: Console | None = None) -> None:
    """Print the transfer report on stderr."""
    console = console or stderr_console()
    console.print(Text(headline(report), style="" if no_color() else "bold"), soft_wrap=True)
    if any(_shown(layer) for layer in report.layers):
        console.print(layer_table(report))
    for line in summary_lines(report):
        console.print(line, soft_wrap=True)


def transfer_dict(report: TransferReport) -> dict[str, Any]:
    """The report as JSON: its fields in order (``nc`` named), each layer's status, then the new,
    removed and replaced layers."""
    data = asdict(report)
    data["nc"] = {"checkpoint": report.nc[0], "model": report.nc[1]}
    for layer, row in zip(report.layers, data["layers"], strict=True):
        row["status"] = layer.status
    data["new_layers"] = report.new_layers
    data["removed_layers"] = report.removed_layers
    data["replaced_layers"] = report.replaced_layers
    return data


def render_transfer_json(report: TransferReport) -> None:
    """Print the report alone as JSON on stdout."""
    print_json(transfer_dict(report))
