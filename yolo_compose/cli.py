"""The `yolo-compose` command line: a thin layer over the library, with the same verbs.

Each command parses its arguments, makes one library call, and hands the result to one renderer.
Library errors (:class:`~yolo_compose.composer.errors.ComposeError`) become one line on stderr
and a non-zero exit, never a traceback. The static commands import no torch or ultralytics;
anything that builds imports them inside the function, only when asked to build.
"""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer

from .composer.errors import ComposeError
from .render.console import print_error

app = typer.Typer(
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


@app.callback()
def _root() -> None:
    """Insert attention modules into Ultralytics YOLO model YAMLs.

    Example: yolo-compose insert halo --after 8 --base yolo11n
    """


def fail(exc: ComposeError) -> NoReturn:
    """Print a library error as one line on stderr and exit with its code."""
    print_error(str(exc))
    raise typer.Exit(exc.exit_code) from None


# --- insert / remove (composer) -------------------------------------------------------------
# --- end insert / remove --------------------------------------------------------------------

# --- modules (registry) ---------------------------------------------------------------------
@app.command("modules")
def modules_command(
    name: Annotated[str | None, typer.Argument(help="Show one module (name or alias).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    import_: Annotated[
        list[str] | None,
        typer.Option("--import", help="Import a Python module that registers extra modules."),
    ] = None,
) -> None:
    """List the attention modules, or show one with its arguments.

    Example: yolo-compose modules halo
    """
    from .modules import all_specs, get, import_user_modules
    from .render.modules import render_module_detail, render_module_table

    try:
        import_user_modules(import_ or [])
        if name is None:
            render_module_table(all_specs(), as_json=json_output)
        else:
            render_module_detail(get(name), as_json=json_output)
    except ComposeError as exc:
        fail(exc)


# --- end modules ----------------------------------------------------------------------------

# --- diff -----------------------------------------------------------------------------------
# --- end diff -------------------------------------------------------------------------------

# --- validate -------------------------------------------------------------------------------
# --- end validate ---------------------------------------------------------------------------


def main() -> None:
    """Console-script entry point."""
    app()
