"""Renderers for `yolo-compose modules`: the registry as a table, or one module in detail."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from ..modules.registry import ModuleSpec
from .console import print_json, stdout_console


def spec_to_dict(spec: ModuleSpec) -> dict[str, Any]:
    """A module spec as plain JSON-ready data."""
    return {
        "name": spec.name,
        "aliases": list(spec.aliases),
        "yaml_name": spec.yaml_name,
        "yaml_aliases": list(spec.yaml_aliases),
        "summary": spec.summary,
        "default_args": spec.default_args,
        "args": [
            {"name": a.name, "type": a.type, "default": a.default, "help": a.help, "resolution": a.resolution}
            for a in spec.args
        ],
        "complexity": spec.complexity,
        "levels": list(spec.levels),
        "keeps_channels": spec.keeps_channels,
        "size_constraints": spec.size_constraints,
        "amp_notes": spec.amp_notes,
        "paper": spec.paper,
    }


def render_module_table(specs: list[ModuleSpec], *, as_json: bool) -> None:
    """Every registered module, one row each."""
    if as_json:
        print_json([spec_to_dict(s) for s in specs])
        return
    table = Table(title="Attention modules", title_justify="left")
    for column in ("name", "aliases", "YAML class", "default args", "complexity", "levels"):
        table.add_column(column)
    for spec in specs:
        table.add_row(
            spec.name,
            ", ".join(spec.aliases),
            " / ".join((spec.yaml_name, *spec.yaml_aliases)),
            str(spec.default_args),
            spec.complexity,
            ", ".join(spec.levels),
        )
    stdout_console().print(table)


def render_module_detail(spec: ModuleSpec, *, as_json: bool) -> None:
    """One module: what it is, its arguments, metadata and an example command."""
    if as_json:
        print_json(spec_to_dict(spec))
        return
    console = stdout_console()
    console.print(f"{spec.name} ({spec.yaml_name}): {spec.summary}")
    if spec.aliases:
        console.print(f"aliases: {', '.join(spec.aliases)}")
    table = Table(title="YAML args (input channels are injected, never written)", title_justify="left")
    for column in ("#", "name", "type", "default", "meaning"):
        table.add_column(column)
    for i, arg in enumerate(spec.args):
        meaning = arg.help + (" (filled from imgsz and stride)" if arg.resolution else "")
        table.add_row(str(i), arg.name, arg.type, repr(arg.default), meaning)
    console.print(table)
    for label, value in (
        ("complexity", spec.complexity),
        ("recommended levels", ", ".join(spec.levels)),
        ("size constraints", spec.size_constraints),
        ("AMP", spec.amp_notes),
        ("paper", spec.paper),
    ):
        if value:
            console.print(f"{label}: {value}")
    console.print(f"example: yolo-compose insert {spec.name} --after SPPF --base yolo11n")
