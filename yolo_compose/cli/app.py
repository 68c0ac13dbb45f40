"""The Typer app, its root callback, and what the commands share: option types, help, errors."""

from __future__ import annotations

import re
import sys
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperCommand

from .. import __version__
from ..errors import ComposeError
from ..render.console import print_error

APP_SETTINGS: dict[str, Any] = dict(
    name="yolo-compose",
    help=(
        "Insert attention modules into Ultralytics YOLO model YAMLs: every index renumbered, "
        "the result built and summarised.\n\n"
        "Example: yolo-compose insert halo --after 8 --base yolo11n"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


app = typer.Typer(**APP_SETTINGS)


def _print_version(value: bool) -> None:
    """--version: print the version and stop."""
    if value:
        sys.stdout.write(f"yolo-compose {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Insert attention modules into Ultralytics YOLO model YAMLs.

    Example: yolo-compose insert halo --after 8 --base yolo11n
    """
    from ..integration import prepare_process

    prepare_process()  # a run's environment and quiet imports; importing the library sets none


_NEGATIVE_NUMBER = re.compile(r"^-\d+$")


class SpecCommand(TyperCommand):
    """A command whose positional SPEC may be a negative index (``remove -2``).

    Click reads any token that starts with ``-`` as an option. Before parsing, a bare negative
    number that is not the value of an option is moved behind ``--``, where Click reads it as
    the positional argument it is; option values such as ``--after -1`` are left in place.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        takes_value = {
            name
            for param in self.get_params(ctx)
            if param.param_type_name == "option" and not param.is_flag and not param.count  # type: ignore[attr-defined]
            for name in param.opts
        }
        return super().parse_args(ctx, negative_positionals_last(args, takes_value))


def negative_positionals_last(args: list[str], takes_value: set[str]) -> list[str]:
    """`args` with bare negative numbers in positional places moved behind a ``--``."""
    kept: list[str] = []
    moved: list[str] = []
    tokens = iter(args)
    for token in tokens:
        if token == "--":
            return [*kept, "--", *moved, *tokens]
        if token in takes_value:
            kept.append(token)
            value = next(tokens, None)
            if value is not None:
                kept.append(value)
        elif _NEGATIVE_NUMBER.match(token):
            moved.append(token)
        else:
            kept.append(token)
    return [*kept, "--", *moved] if moved else kept


#: Options several commands share, spelled once.
ForceOption = Annotated[bool, typer.Option("--force", "-f", help="Overwrite an existing output file.")]


JsonReportOption = Annotated[bool, typer.Option("--json", help="Print one JSON report on stdout.")]


AllScalesOption = Annotated[bool, typer.Option("--all-scales", help="Build every scale the model defines.")]


ImportOption = Annotated[
    list[str] | None,
    typer.Option("--import", help="Import a Python module that registers extra modules."),
]
TrustCheckpointOption = Annotated[
    bool,
    typer.Option(
        "--trust-checkpoint",
        help="Unpickle --weights without restrictions (only for a file you trust: unpickling can run code).",
    ),
]
NoProvenanceOption = Annotated[
    bool,
    typer.Option(
        "--no-provenance",
        help="Write the edited YAML only: no first line naming yolo-compose, the base and the command.",
    ),
]


def fail(exc: ComposeError) -> NoReturn:
    """Print a library error as one line on stderr, in the CLI's words, and exit with its code."""
    from ..render.errors import cli_error_line

    print_error(cli_error_line(exc))
    raise typer.Exit(exc.exit_code) from None


SPEC_HELP = "SPEC: an index (8; -1 = last), a module name (SPPF), Module:k (C3k2:2, C3k2:last) or `backbone`"


MULTI_SPEC_HELP = (
    "Repeat it, or select several layers with Module:all (C3k2:all); a section qualifier counts in one "
    "section (head:C3k2:2, head:C3k2:all, backbone:Conv:all). Every SPEC names a layer of the base"
)


AFTER_HELP = (
    f"Insert after this layer; its consumers then read the new one. {SPEC_HELP}. {MULTI_SPEC_HELP}."
)


BEFORE_HELP = (
    "Insert in front of this layer; it then reads the new one. Before a multi-input layer (Detect, "
    f"Concat, ...) one new layer per input, read only by it. SPEC as for --after. {MULTI_SPEC_HELP}."
)


BASE_HELP = (
    "Bundled ultralytics model (yolo11n, yolov8s-seg, yolov8n-p2, ...), a model YAML file, or '-' for stdin."
)


IMGSZ_HELP = "Image size the build checks: a positive multiple of 32."


OUTPUT_HELP = (
    "Output file; default <base name with scale>-<module>.yaml in the current folder "
    "(e.g. yolo11n-halo.yaml). '-' writes the YAML to stdout."
)


def check_imgsz(value: int) -> int:
    """--imgsz must be a positive multiple of the largest stride (32): checked before any build."""
    if value < 32 or value % 32:
        raise typer.BadParameter(f"must be a positive multiple of 32, got {value}")
    return value

