"""Renderers for `yolo-compose modules`: the registry as a table, or one module in detail."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.table import Table

from ..modules.registry import ModuleSpec
from .console import print_json, print_table, stdout_console


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
    names = [(s.name, ", ".join(s.aliases), "\n".join((s.yaml_name, *s.yaml_aliases))) for s in specs]
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for position, column in enumerate(("name", "aliases", "YAML class")):  # copied by users: never cut
        longest = max((len(line) for row in names for line in row[position].splitlines()), default=0)
        table.add_column(column, no_wrap=True, min_width=max(len(column), longest))
    table.add_column("default args")
    table.add_column("cost", no_wrap=True)
    table.add_column("levels")
    for spec, (name, aliases, classes) in zip(specs, names, strict=True):
        table.add_row(name, aliases, classes, str(spec.default_args), spec.complexity, ", ".join(spec.levels))
    console = stdout_console()
    print_table(console, table, "Attention modules")


def render_module_detail(spec: ModuleSpec, *, as_json: bool) -> None:
    """One module: what it is, its arguments, metadata and an example command."""
    if as_json:
        print_json(spec_to_dict(spec))
        return
    console = stdout_console()
    console.print(f"{spec.name} ({spec.yaml_name}): {spec.summary}", soft_wrap=True)
    if spec.aliases:
        console.print(f"aliases: {', '.join(spec.aliases)}", soft_wrap=True)
    table = Table()
    for column in ("#", "name", "type", "default", "meaning"):
        table.add_column(column)
    for i, arg in enumerate(spec.args):
        meaning = arg.help + (" (filled from imgsz and stride)" if arg.resolution else "")
        table.add_row(str(i), arg.name, arg.type, repr(arg.default), meaning)
    print_table(console, table, "YAML args (input channels are injected, never written)")
    for label, value in (
        ("complexity", spec.complexity),
        ("recommended levels", ", ".join(spec.levels)),
        ("size constraints", spec.size_constraints),
        ("AMP", spec.amp_notes),
        ("paper", spec.paper),
    ):
        if value:
            console.print(f"{label}: {value}", soft_wrap=True)
    console.print(f"example: yolo-compose insert {spec.name} --after SPPF --base yolo11n", soft_wrap=True)
