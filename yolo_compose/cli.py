"""The `yolo-compose` command line: a thin layer over the library, with the same verbs.

Each command parses its arguments, makes one library call, and hands the result to one renderer.
Library errors (:class:`~yolo_compose.errors.ComposeError`) become one line on stderr
and a non-zero exit, never a traceback. The static commands import no torch or ultralytics;
anything that builds imports them inside the function, only when asked to build.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer.core import TyperCommand

from . import __version__
from .errors import ComposeError
from .render.console import print_error

if TYPE_CHECKING:
    from .composer.edit import EditAction, EditResult

_APP_SETTINGS: dict[str, Any] = dict(
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
app = typer.Typer(**_APP_SETTINGS)


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
    from .integration import prepare_process

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
NoProvenanceOption = Annotated[
    bool,
    typer.Option(
        "--no-provenance",
        help="Write the edited YAML only: no first line naming yolo-compose, the base and the command.",
    ),
]


def fail(exc: ComposeError) -> NoReturn:
    """Print a library error as one line on stderr, in the CLI's words, and exit with its code."""
    from .render.errors import cli_error_line

    print_error(cli_error_line(exc))
    raise typer.Exit(exc.exit_code) from None


# --- insert / remove (composer) -------------------------------------------------------------
_SPEC_HELP = "SPEC: an index (8; -1 = last), a module name (SPPF), Module:k (C3k2:2, C3k2:last) or `backbone`"
_MULTI_SPEC_HELP = (
    "Repeat it, or select several layers with Module:all (C3k2:all); a section qualifier counts in one "
    "section (head:C3k2:2, head:C3k2:all, backbone:Conv:all). Every SPEC names a layer of the base"
)
_AFTER_HELP = (
    f"Insert after this layer; its consumers then read the new one. {_SPEC_HELP}. {_MULTI_SPEC_HELP}."
)
_BEFORE_HELP = (
    "Insert in front of this layer; it then reads the new one. Before a multi-input layer (Detect, "
    f"Concat, ...) one new layer per input, read only by it. SPEC as for --after. {_MULTI_SPEC_HELP}."
)
_BASE_HELP = (
    "Bundled ultralytics model (yolo11n, yolov8s-seg, yolov8n-p2, ...), a model YAML file, or '-' for stdin."
)
_IMGSZ_HELP = "Image size the build checks: a positive multiple of 32."
_OUTPUT_HELP = (
    "Output file; default <base name with scale>-<module>.yaml in the current folder "
    "(e.g. yolo11n-halo.yaml). '-' writes the YAML to stdout."
)


def _check_imgsz(value: int) -> int:
    """--imgsz must be a positive multiple of the largest stride (32): checked before any build."""
    if value < 32 or value % 32:
        raise typer.BadParameter(f"must be a positive multiple of 32, got {value}")
    return value


def _emit_yaml(text: str, target: Path | None, *, force: bool) -> None:
    """Write the YAML atomically to `target` (never clobbering without force), or to stdout."""
    if target is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from .composer.files import write_output

    write_output(target, text, force=force)


def _input_path(edit: Any) -> str | None:
    """The file the edit read (a bundled base's real path), which an output may never overwrite."""
    return str(edit.base.path) if edit.base is not None else edit.spec.source


def _report(
    edit: Any, target: Path | None, *, as_json: bool, summary: Any = None, transfer: Any = None
) -> None:
    """Hand the edit (build summary, weight transfer) to the renderers; stdout gets the result only."""
    from .render.insert import render_edit_json, render_edit_text

    output = "-" if target is None else str(target)
    if as_json:
        render_edit_json(
            edit,
            output=output,
            build=None if summary is None else summary.to_dict(),
            weights=None if transfer is None else transfer.report.to_dict(),
        )
        return
    render_edit_text(edit, output=output if summary is None else None)  # the summary says where it went
    if summary is not None:
        from .render.summary import render_summary

        render_summary(summary, as_json=False, output=output)
    if transfer is not None:
        from .render.weights import render_transfer_rich

        render_transfer_rich(transfer.report)
    if target is not None:
        sys.stdout.write(f"{target}\n")
    if transfer is not None:
        sys.stdout.write(f"{transfer.report.output}\n")


_WEIGHTS_HELP = (
    "Base checkpoint (.pt) of the base YAML: its tensors are carried to their new indices and "
    "written beside the YAML as <output stem>.pt."
)
_TRUST_HELP = "Unpickle --weights without restrictions (only for a file you trust: unpickling can run code)."


def _check_weights_output(weights: str | None, output: str | None) -> None:
    if weights is not None and output == "-":
        fail(ComposeError("--weights writes <output>.pt beside the YAML; give -o a file name, not '-'"))


def _check_weights(
    edit: Any, weights: str | None, target: Path | None, *, scale: str | None, trust: bool, force: bool
) -> tuple[Any, Path | None]:
    """--weights, before the edited model is built: the checkpoint read and checked against the
    base (a bad one stops here, in one line), and the path the new checkpoint will take."""
    if weights is None or target is None:
        return None, None
    from .weights import check_edit_checkpoint

    return check_edit_checkpoint(edit, weights, target, scale=scale, trust_checkpoint=trust, force=force)


def _carry_weights(edit: Any, checked: Any, target: Path | None) -> Any:
    """--weights: the checked checkpoint carried across the edit (not yet written)."""
    if checked is None or target is None:
        return None
    from .weights import transfer_edit_checkpoint

    return transfer_edit_checkpoint(edit, checked, target)


def _yaml_text(edit: EditResult, target: Path | None, made_by: str | None) -> str:
    """The YAML to write: the edited text, its first line naming what made it (`made_by`, the
    command or recipe run; None for --no-provenance). An old provenance line is replaced."""
    if made_by is None:
        return edit.dump()
    from .composer.provenance import base_shown, provenance_line, with_provenance

    line = provenance_line(__version__, base_shown(edit.base, target), edit.source_text, made_by)
    return with_provenance(edit.dump(), line)


def _edit_command(action: EditAction, edit: Any, *, target: str = "", after: list[str] | None = None,
                  before: list[str] | None = None, args: list[Any] | None = None) -> str:
    """The command a provenance line records for one edit (its module by its catalogue name)."""
    from .composer.provenance import command_line

    module = edit.module.name if edit.module is not None else ""
    subject = module if action == "insert" else target
    return command_line(action, subject, after=after or (), before=before or (),
                        with_module=module if action == "replace" else None, args=args)


def _write_outputs(
    edit: Any, target: Path | None, transfer: Any, checkpoint: Path | None, *, force: bool,
    made_by: str | None,
) -> None:
    """The YAML (and the checkpoint, with --weights): both written, or neither."""
    text = _yaml_text(edit, target, made_by)
    if transfer is None:
        _emit_yaml(text, target, force=force)
        return
    from .weights import write_yaml_and_checkpoint

    write_yaml_and_checkpoint(lambda: _emit_yaml(text, target, force=force), transfer, checkpoint)


@app.command("insert", cls=SpecCommand)
def insert_command(
    module: Annotated[str, typer.Argument(help="Module to insert (see `yolo-compose modules`), e.g. halo.")],
    base: Annotated[str, typer.Option("--base", "-b", help=_BASE_HELP)],
    after: Annotated[
        list[str] | None,
        typer.Option("--after", help=_AFTER_HELP),
    ] = None,
    before: Annotated[
        list[str] | None,
        typer.Option("--before", help=_BEFORE_HELP),
    ] = None,
    args: Annotated[
        str | None,
        typer.Option("--args", help="Module YAML args as a JSON list, e.g. '[2, 1]' (default: the module's)"),
    ] = None,
    scale: Annotated[
        str | None, typer.Option("--scale", help="Scale letter to build and to name the output (n/s/m/l/x).")
    ] = None,
    imgsz: Annotated[int, typer.Option("--imgsz", callback=_check_imgsz, help=_IMGSZ_HELP)] = 640,
    all_scales: AllScalesOption = False,
    output: Annotated[str | None, typer.Option("--output", "-o", help=_OUTPUT_HELP)] = None,
    force: ForceOption = False,
    no_build: Annotated[
        bool, typer.Option("--no-build", help="Only edit the YAML; skip the build (imports no torch).")
    ] = False,
    json_output: JsonReportOption = False,
    import_: Annotated[
        list[str] | None,
        typer.Option("--import", help="Import a Python module that registers extra modules."),
    ] = None,
    weights: Annotated[str | None, typer.Option("--weights", help=_WEIGHTS_HELP)] = None,
    trust_checkpoint: Annotated[bool, typer.Option("--trust-checkpoint", help=_TRUST_HELP)] = False,
    no_zero_init: Annotated[
        bool,
        typer.Option(
            "--no-zero-init",
            help="With --weights: the paper's initialisation, not zero_init=True (identity at start).",
        ),
    ] = False,
    no_provenance: NoProvenanceOption = False,
) -> None:
    """Insert an attention module after (or before) layers; every reference is renumbered.

    Consumers of the --after layer read the new layer; all other refs keep their layers. The YAML
    is written only after the edit (and the build, unless --no-build) succeeded. --after and
    --before may be repeated and may select several layers (C3k2:all); all are one edit.

    Example: yolo-compose insert halo --after 8 --base yolo11n   (writes yolo11n-halo.yaml)

    Example: yolo-compose insert halo --before Detect --base yolo11n   (one per detection scale)

    With --weights yolo11n.pt it also writes yolo11n-halo.pt, the base's tensors at their new indices.
    """
    from .composer.edit import compose_insert, note_unfilled_resolution, output_target, parse_args_json
    from .modules import get, import_user_modules

    if json_output and output == "-":
        fail(ComposeError("--json and -o - both write to stdout; choose one"))
    _check_weights_output(weights, output)
    try:
        import_user_modules(import_ or [])
        row_args = parse_args_json(args) if args is not None else None
        if weights is not None and not no_zero_init:
            from .modules.registry import identity_init_args

            row_args = identity_init_args(get(module), row_args)
        edit = compose_insert(base, module, after=after, before=before, args=row_args, scale=scale)
        target = output_target(output, edit.default_output_name, source=_input_path(edit), force=force)
        checked, checkpoint = _check_weights(
            edit, weights, target, scale=scale, trust=trust_checkpoint, force=force
        )
        summary = None
        if no_build:
            note_unfilled_resolution(edit)
        else:
            from .build import build_and_summarize

            written_as = None if target is None else str(target)
            summary = build_and_summarize(
                edit, scale=scale, imgsz=imgsz, all_scales=all_scales, output_name=written_as
            )
        transfer = _carry_weights(edit, checked, target)
        made_by = None if no_provenance else _edit_command("insert", edit, after=after, before=before,
                                                           args=row_args)
        _write_outputs(edit, target, transfer, checkpoint, force=force, made_by=made_by)
    except ComposeError as exc:
        fail(exc)
    _report(edit, target, as_json=json_output, summary=summary, transfer=transfer)


@app.command("remove", cls=SpecCommand)
def remove_command(
    layer: Annotated[str, typer.Argument(help=f"Layer to remove (single-input). {_SPEC_HELP}.")],
    base: Annotated[str, typer.Option("--base", "-b", help=_BASE_HELP)],
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="Output file; default <base>-no<N>.yaml. '-' writes to stdout."),
    ] = None,
    force: ForceOption = False,
    json_output: JsonReportOption = False,
    weights: Annotated[str | None, typer.Option("--weights", help=_WEIGHTS_HELP)] = None,
    trust_checkpoint: Annotated[bool, typer.Option("--trust-checkpoint", help=_TRUST_HELP)] = False,
    no_provenance: NoProvenanceOption = False,
) -> None:
    """Remove a single-input layer; its consumers read its input and every reference is renumbered.

    Example: yolo-compose remove 9 --base yolo11n-halo.yaml -o yolo11n-back.yaml
    """
    from .composer.edit import compose_remove, output_target

    if json_output and output == "-":
        fail(ComposeError("--json and -o - both write to stdout; choose one"))
    _check_weights_output(weights, output)
    try:
        edit = compose_remove(base, layer)
        target = output_target(output, edit.default_output_name, source=_input_path(edit), force=force)
        checked, checkpoint = _check_weights(
            edit, weights, target, scale=None, trust=trust_checkpoint, force=force
        )
        transfer = _carry_weights(edit, checked, target)
        made_by = None if no_provenance else _edit_command("remove", edit, target=layer)
        _write_outputs(edit, target, transfer, checkpoint, force=force, made_by=made_by)
    except ComposeError as exc:
        fail(exc)
    _report(edit, target, as_json=json_output, transfer=transfer)


@app.command("replace")
def replace_command(
    layer: Annotated[str, typer.Argument(help=f"Layer to replace (single-input). {_SPEC_HELP}.")],
    module: Annotated[str, typer.Option("--with", help="Module to put in its place, e.g. halo.")],
    base: Annotated[str, typer.Option("--base", "-b", help=_BASE_HELP)],
    args: Annotated[
        str | None,
        typer.Option("--args", help="Module YAML args as a JSON list, e.g. '[2, 1]' (default: the module's)"),
    ] = None,
    scale: Annotated[
        str | None, typer.Option("--scale", help="Scale letter to build and to name the output (n/s/m/l/x).")
    ] = None,
    imgsz: Annotated[int, typer.Option("--imgsz", help="Image size the build checks.")] = 640,
    all_scales: AllScalesOption = False,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="Output file; default <base>-<module>-for<N>.yaml. '-': stdout."),
    ] = None,
    force: ForceOption = False,
    no_build: Annotated[
        bool, typer.Option("--no-build", help="Only edit the YAML; skip the build and its channel check.")
    ] = False,
    json_output: JsonReportOption = False,
    import_: Annotated[
        list[str] | None,
        typer.Option("--import", help="Import a Python module that registers extra modules."),
    ] = None,
    weights: Annotated[str | None, typer.Option("--weights", help=_WEIGHTS_HELP)] = None,
    trust_checkpoint: Annotated[bool, typer.Option("--trust-checkpoint", help=_TRUST_HELP)] = False,
    no_provenance: NoProvenanceOption = False,
) -> None:
    """Replace a layer by a module: its row is swapped, its consumers read the new one (same index).

    Refused when the module cannot give the replaced layer's output channels (the build measures
    them; our modules keep their input's channels), naming the `insert` that works instead.

    Example: yolo-compose replace SPPF --with halo --base yolo11n

    With --weights yolo11n.pt every other layer keeps its trained tensors; the new layer starts fresh.
    """
    from .composer.edit import (
        compose_replace,
        note_unchecked_replace,
        note_unfilled_resolution,
        output_target,
    )
    from .modules import import_user_modules

    if json_output and output == "-":
        fail(ComposeError("--json and -o - both write to stdout; choose one"))
    _check_weights_output(weights, output)
    try:
        import_user_modules(import_ or [])
        from .composer.edit import parse_args_json

        row_args = parse_args_json(args) if args is not None else None
        edit = compose_replace(base, layer, module, args=row_args, scale=scale)
        target = output_target(output, edit.default_output_name, source=_input_path(edit), force=force)
        checked, checkpoint = _check_weights(
            edit, weights, target, scale=scale, trust=trust_checkpoint, force=force
        )
        summary = None
        if no_build:
            note_unfilled_resolution(edit)
            note_unchecked_replace(edit)
        else:
            from .build import build_and_summarize

            summary = build_and_summarize(edit, scale=scale, imgsz=imgsz, all_scales=all_scales)
        transfer = _carry_weights(edit, checked, target)
        made_by = None if no_provenance else _edit_command("replace", edit, target=layer, args=row_args)
        _write_outputs(edit, target, transfer, checkpoint, force=force, made_by=made_by)
    except ComposeError as exc:
        fail(exc)
    _report(edit, target, as_json=json_output, summary=summary, transfer=transfer)


# --- apply / templates (recipes) ------------------------------------------------------------
_TEMPLATES_HELP = "Folder of user templates (repeatable; also $YOLO_COMPOSE_TEMPLATES)."


def _parse_sets(sets: list[str]) -> dict[str, str]:
    """--set KEY=VALUE pairs as a dict."""
    values = {}
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ComposeError(f"--set {item!r}: expected KEY=VALUE, e.g. --set module=cbam")
        values[key] = value
    return values


@app.command("apply")
def apply_command(
    recipe: Annotated[str, typer.Argument(help="Recipe file (.yaml) or template name (see `templates`).")],
    base: Annotated[
        str | None, typer.Option("--base", "-b", help=f"{_BASE_HELP} Default: the recipe's `base:`.")
    ] = None,
    sets: Annotated[
        list[str] | None, typer.Option("--set", help="Recipe param KEY=VALUE, e.g. --set module=cbam.")
    ] = None,
    scale: Annotated[
        str | None, typer.Option("--scale", help="Scale to build and to name the output (default: recipe's).")
    ] = None,
    imgsz: Annotated[
        int | None, typer.Option("--imgsz", help="Image size the build checks (default: recipe's, else 640).")
    ] = None,
    all_scales: AllScalesOption = False,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="Output file; default <base>-<recipe name>.yaml. '-': stdout."),
    ] = None,
    force: ForceOption = False,
    no_build: Annotated[
        bool, typer.Option("--no-build", help="Only edit the YAML; skip the build (imports no torch).")
    ] = False,
    json_output: JsonReportOption = False,
    templates: Annotated[list[str] | None, typer.Option("--templates", help=_TEMPLATES_HELP)] = None,
    import_: Annotated[
        list[str] | None,
        typer.Option("--import", help="Import a Python module that registers extra modules."),
    ] = None,
    weights: Annotated[str | None, typer.Option("--weights", help=_WEIGHTS_HELP)] = None,
    trust_checkpoint: Annotated[bool, typer.Option("--trust-checkpoint", help=_TRUST_HELP)] = False,
    zero_init: Annotated[
        bool | None,
        typer.Option(
            "--zero-init/--no-zero-init",
            help="The recipe's inserts get zero_init=True (identity at start); default: on with --weights.",
        ),
    ] = None,
    no_provenance: NoProvenanceOption = False,
) -> None:
    """Apply a recipe (several insert/remove/replace edits) to a base, build it and summarise.

    The written file starts with one comment line naming the base, its hash and the recipe;
    `validate` reports the file once the recipe no longer makes it (YC070).

    Example: yolo-compose apply attention-after-sppf --base yolov8s

    With --weights yolov8s.pt it also writes the checkpoint, every kept layer's tensors at its new index.
    """
    from .composer.edit import note_unchecked_replace, note_unfilled_resolution, output_target
    from .composer.provenance import recipe_command, recipe_ref
    from .composer.recipe import apply_recipe
    from .composer.templates import load_named
    from .modules import import_user_modules

    if json_output and output == "-":
        fail(ComposeError("--json and -o - both write to stdout; choose one"))
    _check_weights_output(weights, output)
    identity = weights is not None if zero_init is None else zero_init
    try:
        import_user_modules(import_ or [])
        values = _parse_sets(sets or [])
        loaded = load_named(recipe, templates or [])
        loaded = loaded.with_params(values) if values else loaded
        chosen_scale = scale or (loaded.scales[0] if loaded.scales else None)
        edit = apply_recipe(loaded.with_identity_init() if identity else loaded, base, scale=chosen_scale)
        target = output_target(output, edit.default_output_name, source=_input_path(edit), force=force)
        checked, checkpoint = _check_weights(
            edit, weights, target, scale=chosen_scale, trust=trust_checkpoint, force=force
        )
        summary = None
        if no_build:
            note_unfilled_resolution(edit)
            note_unchecked_replace(edit)
        else:
            from .build import build_and_summarize

            summary = build_and_summarize(edit, scale=chosen_scale, imgsz=imgsz or loaded.imgsz or 640,
                                          all_scales=all_scales)
        ref = loaded.ref if loaded.ref != loaded.path else recipe_ref(loaded.path, target)
        transfer = _carry_weights(edit, checked, target)
        made_by = None if no_provenance else recipe_command(ref, values, zero_init=identity)
        _write_outputs(edit, target, transfer, checkpoint, force=force, made_by=made_by)
    except ComposeError as exc:
        fail(exc)
    _report(edit, target, as_json=json_output, summary=summary, transfer=transfer)


@app.command("templates")
def templates_command(
    name: Annotated[str | None, typer.Argument(help="Show one template: its recipe and an example.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    templates: Annotated[list[str] | None, typer.Option("--templates", help=_TEMPLATES_HELP)] = None,
) -> None:
    """List the bundled (and your) templates: name, what, where, which bases; or show one.

    Example: yolo-compose templates attention-before-detect
    """
    from .composer.templates import all_templates, load_named
    from .render.templates import render_template_detail, render_template_table

    try:
        if name is None:
            render_template_table(all_templates(templates or []), as_json=json_output)
        else:
            render_template_detail(load_named(name, templates or []), as_json=json_output)
    except ComposeError as exc:
        fail(exc)


# --- end apply / templates ------------------------------------------------------------------

# --- end insert / remove --------------------------------------------------------------------

# --- sweep ----------------------------------------------------------------------------------
_AT_HELP = (
    f"A placement: after SPEC, or `before:SPEC` in front of it (`after:SPEC` also works). {_SPEC_HELP}; "
    "Module:all gives one variant per layer. Repeatable. Without --at and --template: after every layer "
    "insert accepts, plus before the head (before:Detect)."
)
_SORT_HELP = (
    "Sort the table by this column, ascending: position, name, params, d_params, gflops, d_gflops, "
    "train_mem_mib, latency_ms, latency_ratio, map50, map50_95 or epoch_time_s."
)


def _check_sort(value: str) -> str:
    from .render.sweep import SORT_COLUMNS

    if value not in SORT_COLUMNS:
        raise typer.BadParameter(f"must be one of {', '.join(SORT_COLUMNS)}, got {value!r}")
    return value


def _check_executor(value: str) -> str:
    if value not in ("local", "ray"):
        raise typer.BadParameter(f"must be local or ray, got {value!r}")
    return value


def _training_request(
    data: str | None,
    *,
    epochs: int | None,
    imgsz: int,
    weights: str | None,
    trust_checkpoint: bool,
    train_args: list[str],
    scales: list[str],
    executor: str,
    workers: int | None,
    address: str | None,
    ray_cpus: int | None,
) -> tuple[Any, Any] | None:
    """The training options checked before any work: (settings, executor), None without --train."""
    from .errors import CheckpointError
    from .sweep.executors import make_executor
    from .sweep.train import TrainSettings, parse_train_args

    if data is None:
        given = [epochs, weights, workers, address, ray_cpus, *train_args]
        if any(value is not None for value in given) or executor != "local":
            raise ComposeError(
                "--epochs, --weights, --workers, --executor and --train-arg need --train DATA.yaml"
            )
        return None
    if epochs is None:
        raise ComposeError("--train needs --epochs N")
    if executor != "ray" and (address is not None or ray_cpus is not None):
        raise ComposeError("--address and --ray-cpus apply to --executor ray only")
    try:
        parsed = parse_train_args(train_args)
    except ComposeError as exc:  # worded with the option: "train arg K: ..." -> "--train-arg K: ..."
        raise ComposeError(f"--train-arg {exc.message.removeprefix('train arg ')}") from None
    if weights is not None and not Path(weights).is_file():
        raise CheckpointError("no such checkpoint file", path=weights)
    if weights is not None and len(scales) > 1:
        raise ComposeError("--weights is a checkpoint of one scale: sweep one --scale with it")
    try:
        chosen = make_executor(executor, workers=workers or 1, address=address, cpus=ray_cpus)
    except ComposeError as exc:  # worded with the option: "the Ray executor ..." -> "--executor ray ..."
        raise ComposeError(exc.message.replace("the Ray executor", "--executor ray", 1)) from None
    return TrainSettings(data, epochs, imgsz, parsed, weights, trust_checkpoint), chosen


def _train_sweep(plan: Any, results: Any, folder: Path, settings: Any, executor: Any) -> None:
    """--train: every row that built trained, its columns filled and the files rewritten as each ends."""
    from .render.train import print_train_outcome
    from .sweep.train import train_sweep

    train_sweep(
        results, folder, settings, executor,
        edits={variant.name: (variant.edit, variant.scale) for variant in plan.variants},
        save=lambda: _save_sweep(results, folder),
        progress=lambda outcome, done, total: print_train_outcome(outcome, done=done, total=total),
    )


def _check_probe_size(value: int) -> int:
    """A probe's image size: 0 (off) or a positive multiple of 32."""
    return value if value == 0 else _check_imgsz(value)


def _save_sweep(results: Any, folder: Path) -> None:
    """Rewrite results.json, results.csv (each atomically) and sweep.png from the rows.

    Called once the variants are measured, and again by training after each finished run, so an
    interrupted sweep keeps everything done so far.
    """
    from .render.sweep import write_plot
    from .sweep.results import PLOT_FILE

    results.write(folder)
    write_plot(results, folder / PLOT_FILE)


@app.command("sweep", cls=SpecCommand)
def sweep_command(
    module: Annotated[str, typer.Argument(help="Module to place (see `yolo-compose modules`), e.g. halo.")],
    base: Annotated[str, typer.Option("--base", "-b", help=_BASE_HELP)],
    at: Annotated[list[str] | None, typer.Option("--at", help=_AT_HELP)] = None,
    template: Annotated[
        list[str] | None,
        typer.Option("--template", help="A template's placement (its `module` param set); repeatable."),
    ] = None,
    scale: Annotated[
        list[str] | None, typer.Option("--scale", help="Scale to build (repeatable; default: the base's).")
    ] = None,
    imgsz: Annotated[
        int, typer.Option("--imgsz", callback=_check_imgsz, help="Image size of the GFLOPs and shapes.")
    ] = 640,
    args: Annotated[
        str | None,
        typer.Option("--args", help="Module YAML args as a JSON list, e.g. '[2, 1]' (templates keep theirs)"),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="Folder to write (default sweep-<base>-<module>)"),
    ] = None,
    sort: Annotated[
        str, typer.Option("--sort", callback=_check_sort, help=_SORT_HELP)
    ] = "position",
    json_output: Annotated[bool, typer.Option("--json", help="Print the results document on stdout")] = False,
    memory_imgsz: Annotated[
        int, typer.Option("--memory-imgsz", callback=_check_probe_size,
                          help="Image size of the batch-8 training-step memory probe; 0 skips it.")
    ] = 128,
    latency_imgsz: Annotated[
        int, typer.Option("--latency-imgsz", callback=_check_probe_size,
                          help="Image size of the timed eval forward (at most imgsz; 0: imgsz).")
    ] = 256,
    latency_repeats: Annotated[
        int, typer.Option("--latency-repeats", min=0, help="Timed forwards per model (median); 0 skips.")
    ] = 3,
    threads: Annotated[
        int | None, typer.Option("--threads", min=1, help="torch threads, fixed (default: cores, at most 4)")
    ] = None,
    templates: Annotated[list[str] | None, typer.Option("--templates", help=_TEMPLATES_HELP)] = None,
    import_: Annotated[
        list[str] | None,
        typer.Option("--import", help="Import a Python module that registers extra modules."),
    ] = None,
    train: Annotated[
        str | None,
        typer.Option("--train", metavar="DATA.yaml", help="Then train the base and every variant on it."),
    ] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", min=1, help="With --train: epochs a run.")] = None,
    weights: Annotated[
        str | None,
        typer.Option("--weights", help="With --train: the base's checkpoint; variants start from it."),
    ] = None,
    trust_checkpoint: Annotated[bool, typer.Option("--trust-checkpoint", help=_TRUST_HELP)] = False,
    no_zero_init: Annotated[
        bool,
        typer.Option("--no-zero-init", help="With --weights: paper's init, not zero_init (identity)."),
    ] = False,
    train_arg: Annotated[
        list[str] | None,
        typer.Option("--train-arg", metavar="KEY=VALUE", help="With --train: a train arg (batch=8)."),
    ] = None,
    executor: Annotated[
        str, typer.Option("--executor", callback=_check_executor, help="With --train: local or ray.")
    ] = "local",
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="With --train: runs at once (local: one GPU each).")
    ] = None,
    address: Annotated[
        str | None, typer.Option("--address", help="With --executor ray: the cluster (default: Ray's own).")
    ] = None,
    ray_cpus: Annotated[
        int | None, typer.Option("--ray-cpus", min=1, help="With --executor ray: CPUs per run, not one GPU.")
    ] = None,
) -> None:
    """Try a module at every placement: one variant per place, each built and measured side by side.

    Each variant is composed as `insert` would (one file per variant, named so ultralytics reads its
    scale), built restricted and measured: params, exact GFLOPs at --imgsz and their deltas against
    the base, the output shape at the insertion point, a batch-8 training step's memory, and the
    eval latency (measured in turn, so ratios hold). The folder (-o) gets the YAMLs, results.csv, results.json
    and sweep.png. Exit 0 when every variant built, 1 when some failed (a row says why), 2 on a
    usage error.

    Example: yolo-compose sweep halo --base yolo11n   (24 variants into sweep-yolo11n-halo/)

    Example: yolo-compose sweep cbam --base yolov8s --at SPPF --at C2f:all --at before:Detect --sort d_gflops

    With --train DATA.yaml --epochs N the base and every variant are then trained (resumable: a
    rerun skips finished runs), into DIR/runs/<name>; exit 1 if a training failed.

    Example: yolo-compose sweep halo --base yolo11n --at 8 --train coco8.yaml --epochs 10 --weights yolo11n.pt
    """
    from .composer.edit import parse_args_json
    from .composer.templates import load_named
    from .modules import get, import_user_modules
    from .render.sweep import render_sweep_json, render_sweep_rich, sweep_progress
    from .sweep.pipeline import MeasureOptions, check_output_folder, measure_steps, run_sweep
    from .sweep.plan import default_output_folder, plan_sweep

    options = MeasureOptions(imgsz=imgsz, memory_imgsz=memory_imgsz, latency_imgsz=latency_imgsz,
                             latency_repeats=latency_repeats, threads=threads)
    try:
        import_user_modules(import_ or [])
        module_spec = get(module)
        row_args = parse_args_json(args) if args is not None else None
        recipes = [load_named(name, templates or []) for name in template or []]
        if weights is not None and not no_zero_init:
            from .modules.registry import identity_init_args

            row_args = identity_init_args(module_spec, row_args)
        plan = plan_sweep(module_spec, base, at=at or [], templates=recipes, scales=scale or [],
                          args=row_args)
        training = _training_request(
            train, epochs=epochs, imgsz=imgsz, weights=weights, trust_checkpoint=trust_checkpoint,
            train_args=train_arg or [], scales=plan.scales, executor=executor, workers=workers,
            address=address, ray_cpus=ray_cpus,
        )
        folder = check_output_folder(output or default_output_folder(plan.base, module_spec, plan.scales[0]))
        with sweep_progress(measure_steps(plan, options), enabled=not json_output) as step:
            results = run_sweep(plan, options, folder, on_step=step)
        _save_sweep(results, folder)
        if training is not None:
            _train_sweep(plan, results, folder, *training)
    except ComposeError as exc:
        fail(exc)
    if json_output:
        render_sweep_json(results)
    else:
        render_sweep_rich(results, folder=folder, sort=sort)
    raise typer.Exit(results.exit_code)


# --- end sweep ------------------------------------------------------------------------------

# --- transfer (weights) ---------------------------------------------------------------------
@app.command("transfer")
def transfer_command(
    checkpoint: Annotated[str, typer.Argument(help="Checkpoint (.pt) to carry over; its model.yaml is read")],
    model: Annotated[str, typer.Argument(help="The new model: a YAML file or a bundled name.")],
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Checkpoint to write; default <model stem>.pt.")
    ] = None,
    scale: Annotated[
        str | None, typer.Option("--scale", help="Scale to build the new model at (default: its name's).")
    ] = None,
    force: ForceOption = False,
    trust_checkpoint: Annotated[bool, typer.Option("--trust-checkpoint", help=_TRUST_HELP)] = False,
    json_output: JsonReportOption = False,
) -> None:
    """Carry a checkpoint's weights to another model YAML, pairing layers as `diff` aligns them.

    A layer's tensors move only to the layer it is aligned with, and only when module, repeats,
    args and shapes agree; everything else is reported (new, removed, changed, why).

    Example: yolo-compose transfer yolo11n.pt my-yolo11n.yaml -o my-yolo11n.pt
    """
    from .render.weights import render_transfer_json, render_transfer_rich
    from .weights import transfer_to_yaml

    try:
        transfer = transfer_to_yaml(
            checkpoint, model, output=output, scale=scale, trust_checkpoint=trust_checkpoint, force=force
        )
    except ComposeError as exc:
        fail(exc)
    if json_output:
        render_transfer_json(transfer.report)
        return
    render_transfer_rich(transfer.report)
    sys.stdout.write(f"{transfer.report.output}\n")


# --- end transfer ---------------------------------------------------------------------------

# --- yolo (ultralytics' own command line) ---------------------------------------------------
@app.command(
    "yolo",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
def yolo_command(ctx: typer.Context) -> None:
    """Run ultralytics' own command line with our modules registered: all arguments pass through.

    Example: yolo-compose yolo train model=yolo11n-halo.yaml data=coco8.yaml epochs=100
    """
    from .integration import run_ultralytics_cli

    run_ultralytics_cli(list(ctx.args))


# --- end yolo -------------------------------------------------------------------------------

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
from .render.console import OutputFormat  # noqa: E402  (Typer reads the Enum at import)

_GIT_DRIVER_ARGS = 7  # path old-file old-hex old-mode new-file new-hex new-mode


def _diff_sides(files: list[str]) -> tuple[str, str, str | None, str | None, bool]:
    """(A, B, name shown for A, name shown for B, git mode) from the positional arguments."""
    if len(files) == 2:
        if files == ["-", "-"]:
            raise ComposeError("only one side can be read from stdin ('-')")
        return files[0], files[1], None, None, False
    if len(files) == _GIT_DRIVER_ARGS:
        path, old_file, _, _, new_file, _, _ = files
        return old_file, new_file, f"a/{path}", f"b/{path}", True
    raise ComposeError(
        f"expected two models A B (or the {_GIT_DRIVER_ARGS} arguments git passes a diff driver), "
        f"got {len(files)} argument{'s' * (len(files) != 1)}"
    )


@app.command("diff")
def diff_command(
    files: Annotated[
        list[str],
        typer.Argument(
            help="A and B: model YAML files, bundled names (yolo11n) or '-' for stdin on one side.",
            metavar="A B",
            show_default=False,
        ),
    ],
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON (same as --format json).")] = False,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="rich report, json, or github annotations.")
    ] = OutputFormat.rich,
    stat: Annotated[bool, typer.Option("--stat", help="One line per file with the counts.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List each renumbered reference.")] = False,
    comments: Annotated[bool, typer.Option("--comments", help="List comment changes too.")] = False,
    build: Annotated[
        bool, typer.Option("--build", help="Build both sides: params and GFLOPs per changed layer.")
    ] = False,
    scale: Annotated[
        str | None,
        typer.Option("--scale", help="Scale for --build (default: B's name, else A's, else the first)."),
    ] = None,
    all_scales: Annotated[bool, typer.Option("--all-scales", help="--build every scale.")] = False,
) -> None:
    """Compare two model YAMLs layer by layer: inserted, removed, changed, rewired, renumbered.

    Exit 0 when both build the same graph (renumbering and comments don't count), 1 when they
    differ, 2 on an error. Run by git as a diff driver (7 arguments) it exits 0 either way.

    Example: yolo-compose diff yolo11n yolo11n-halo.yaml
    """
    from .composer.diff import diff_specs, load_model
    from .render import diff as render

    try:
        a_arg, b_arg, a_shown, b_shown, git_mode = _diff_sides(files)
        if git_mode:
            from .composer.gitdiff import driver_report

            report = driver_report(files[0], a_arg, b_arg)
            if not report.both_models:
                render.render_driver(report)  # git stops at a driver's non-zero exit: always 0
                return
        a = load_model(a_arg, read_stdin=_read_stdin, shown_as=a_shown)
        b = load_model(b_arg, read_stdin=_read_stdin, shown_as=b_shown)
        result = diff_specs(a.spec, b.spec, a_name=a.name, b_name=b.name, comments=comments)
        costs = _diff_costs(a, b, result, scale=scale, all_scales=all_scales) if build else None
        fmt = OutputFormat.json if json_output else output_format
        if stat:
            render.render_stat(result, as_json=fmt is OutputFormat.json)
        elif fmt is OutputFormat.json:
            render.render_json(result, costs=costs)
        elif fmt is OutputFormat.github:
            render.render_github(result, a_file=a.name, b_file=b.name, verbose=verbose, costs=costs)
        else:
            render.render_rich(result, verbose=verbose, costs=costs)
    except ComposeError as exc:
        fail(exc)
    if not result.same_graph and not git_mode:
        raise typer.Exit(1)


def _read_stdin() -> str:
    """Stdin as text, read with the same bound and checks as a file."""
    from .composer.files import STDIN, read_input

    return read_input(STDIN)[0]


def _build_scales(a: Any, b: Any, scale: str | None, all_scales: bool) -> list[str | None]:
    """Scales to build: --scale, every scale of B (--all-scales), else the one B's (or A's) name implies."""
    names = list(b.spec.scales) or list(a.spec.scales)
    if scale:
        return [scale]
    if all_scales:
        return list(names) or [None]
    return [b.scale or a.scale or (names[0] if names else None)]


def _diff_costs(a: Any, b: Any, result: Any, *, scale: str | None, all_scales: bool) -> list[Any]:
    """--build: measure both sides with ultralytics at each scale (the only path that imports torch)."""
    import contextlib

    from .composer.diff import compare_costs

    costs = []
    # ultralytics logs to stdout (and binds its handler to sys.stdout at import): results own stdout
    with contextlib.redirect_stdout(sys.stderr):
        from .build import measure_model

        for name in _build_scales(a, b, scale, all_scales):
            measure_a = measure_model(a.text, source_name=a.name, scale=name)
            measure_b = measure_model(b.text, source_name=b.name, scale=name)
            costs.append(compare_costs(result, measure_a, measure_b, scale=name))
    return costs


# --- end diff -------------------------------------------------------------------------------

# --- validate -------------------------------------------------------------------------------

@app.command("validate")
def validate_command(
    files: Annotated[
        list[Path], typer.Argument(metavar="FILES...", help="YAML files or folders; non-models pass.")
    ],
    build: Annotated[bool, typer.Option("--build", help="Also build models, run forwards.")] = False,
    all_scales: Annotated[bool, typer.Option("--all-scales", help="With --build: every scale.")] = False,
    scale: Annotated[str | None, typer.Option("--scale", help="With --build: build this scale.")] = None,
    imgsz: Annotated[
        int, typer.Option("--imgsz", callback=_check_imgsz, help="With --build: forward size, x32.")
    ] = 640,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings fail too (exit 1).")] = False,
    fix: Annotated[bool, typer.Option("--fix", help="Rewrite stale `# N` index comments only.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON (same as --format json).")] = False,
    output_format: Annotated[
        str, typer.Option("--format", help="Output: rich (path:line:col lines), json or github.")
    ] = "rich",
    import_: Annotated[
        list[str] | None,
        typer.Option("--import", help="Import a Python module that registers extra modules."),
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="With --build: s per file.")] = 300.0,
    memory_mb: Annotated[
        int, typer.Option("--memory-mb", min=1024, help="With --build: address-space limit (MB).")
    ] = 8192,
) -> None:
    """Check model YAMLs: refs, module names, args, sizes, unsafe YAML; optionally build them.

    Exit 0 clean, 1 problems found, 2 usage error.

    Example: yolo-compose validate models/*.yaml --build --all-scales
    """
    from .modules import import_user_modules
    from .render.console import OutputFormat
    from .render.validate import render_validation
    from .validate_build import BuildOptions, validate

    if all_scales and scale is not None:
        raise typer.BadParameter("give --scale or --all-scales, not both", param_hint="--scale")
    try:
        chosen = OutputFormat.json if json_output else OutputFormat(output_format)
    except ValueError:
        raise typer.BadParameter("must be rich, json or github", param_hint="--format") from None
    options = BuildOptions(scale, all_scales, imgsz, timeout, memory_mb, tuple(import_ or ()))
    try:
        import_user_modules(import_ or [])
        result = validate(files, fix=fix, strict=strict, build=build, options=options)
    except ComposeError as exc:
        fail(exc)
    render_validation(result, chosen)
    raise typer.Exit(result.exit_code)


# --- end validate ---------------------------------------------------------------------------


def app_for(args: list[str]) -> typer.Typer:
    """The app holding only the command that `args` runs; the whole app when they name none.

    Typer turns every registered command's signature into Click parameters at each start, about
    30 ms for the ten commands here: the largest cost of a static ``insert`` after the
    interpreter's own start-up. A run needs only its own command, so the group is made with that
    one (same settings, same root callback: ``--version``, the usage line and the command's
    ``--help`` are unchanged). Top-level help, options before the command and unknown names get
    the whole app, which lists every command or says which name is unknown.
    """
    chosen = [info for info in app.registered_commands if args and info.name == args[0]]
    if not chosen:
        return app
    single = typer.Typer(**_APP_SETTINGS)
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
