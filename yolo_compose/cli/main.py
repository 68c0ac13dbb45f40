"""The console-script entry point: the app with only the invoked command, usage errors as one line."""

from __future__ import annotations

import sys

import typer

from ..render.console import print_error
from .app import APP_SETTINGS, app


def app_for(args: list[str]) -> typer.Typer:
    """The app holding only the command that `args` runs; the whole app when they name none.

    Typer turns every registered command's signature into Click parameters at each start, about
    30 ms for the eleven commands here: the largest cost of a static ``insert`` after the
    interpreter's own start-up. A run needs only its own command, so the group is made with that
    one (same settings, same root callback: ``--version``, the usage line and the command's
    ``--help`` are unchanged). Top-level help, options before the command and unknown names get
    the whole app, which lists every command or says which name is unknown.
    """
    chosen = [info for info in app.registered_commands if args and info.name == args[0]]
    if not chosen:
        return app
    single = typer.Typer(**APP_SETTINGS)
    single.registered_callback = app.registered_callback
    single.registered_commands = chosen
    return single


def main() -> None:
    """Console-script entry point: a usage error is one line too (exit 2), like every other error."""
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
    from typer.exceptions import Abort

    try:
        code = app_for(sys.argv[1:])(prog_name="yolo-compose", standalone_mode=False)
    except NoArgsIsHelpError as exc:
        exc.show()
        code = exc.exit_code
    except UsageError as exc:
        where = f" (see {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
        print_error(f"{exc.format_message()}{where}")
        code = exc.exit_code
    except ClickException as exc:
        print_error(exc.format_message())
        code = exc.exit_code
    except Abort:
        code = 130  # Ctrl-C at a prompt or while running
    finally:
        _skip_exit_collections()
    sys.exit(code if isinstance(code, int) else 0)


def _skip_exit_collections() -> None:
    """Spare the interpreter's shutdown a garbage-collection sweep over torch's objects.

    Once torch is imported, Python's finalization spends about 0.45 s collecting (longer than
    our forward passes at 640); everything the command made is already written and flushed, so
    freezing the surviving objects first makes the exit immediate. A no-op on the static path.
    """
    if "torch" in sys.modules:
        import gc

        gc.freeze()
