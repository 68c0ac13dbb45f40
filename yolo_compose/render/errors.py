"""How the CLI words a library error: its options in place of the library's parameter names.

Library errors name no command-line option (:mod:`yolo_compose.errors`); an error carries the
parameter it is about and the remedy it suggests, and this file says both the way a CLI user
types them (``--force``, ``-o``).
"""

from __future__ import annotations

from ..errors import ComposeError, Hint, Param

#: The option of each parameter an error can be about.
CLI_PARAMS: dict[Param, str] = {
    Param.args: "--args",
    Param.scale: "--scale",
    Param.imports: "--import",
    Param.weights: "--weights",
}

#: Each remedy in the CLI's words: a template over the error's hint_values, like the library's.
CLI_HINTS: dict[Hint, str] = {
    Hint.overwrite: "pass --force to overwrite it or -o another name",
    Hint.other_output: "choose another name with -o",
    Hint.output_file: "give a file name with -o",
    Hint.trust_checkpoint: "pass --trust-checkpoint only for a file you trust: unpickling can run code",
    Hint.give_base: "pass --base",
    Hint.give_place: "give --after SPEC or --before SPEC (either may be repeated)",
    Hint.insert_instead: "insert it instead: yolo-compose insert {module} --after {index} --base {base}",
}


def cli_error_line(error: ComposeError) -> str:
    """The error's one line as the CLI prints it (after ``error:``)."""
    param = CLI_PARAMS[error.param] if error.param is not None else None
    hint = CLI_HINTS[error.hint] if error.hint is not None else None
    return error.phrased(param=param, hint=hint)
