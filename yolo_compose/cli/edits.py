"""The editing commands: `insert`, `remove`, `replace`, `apply`, `templates` (weights, provenance line)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .. import __version__
from ..errors import ComposeError
from .app import (
    AFTER_HELP,
    BASE_HELP,
    BEFORE_HELP,
    IMGSZ_HELP,
    OUTPUT_HELP,
    SPEC_HELP,
    AllScalesOption,
    ForceOption,
    ImportOption,
    JsonReportOption,
    NoProvenanceOption,
    SpecCommand,
    TrustCheckpointOption,
    app,
    check_imgsz,
    emit_yaml,
    fail,
    input_path,
)

if TYPE_CHECKING:
    from ..composer.edit import EditAction, EditResult

def _report(
    edit: Any, target: Path | None, *, as_json: bool, summary: Any = None, transfer: Any = None
) -> None:
    """Hand the edit (build summary, weight transfer) to the renderers; stdout gets the result only."""
    from ..render.insert import render_edit_json, render_edit_text

    output = "-" if target is None else str(target)
    if as_json:
        render_edit_json(
            edit, output=output, summary=summary, transfer=None if transfer is None else transfer.report
        )
        return
    render_edit_text(edit, output=output if summary is None else None)  # the summary says where it went
    if summary is not None:
        from ..render.summary import render_summary

        render_summary(summary, as_json=False, output=output)
    if transfer is not None:
        from ..render.weights import render_transfer_rich

        render_transfer_rich(transfer.report)
    if target is not None:
        sys.stdout.write(f"{target}\n")
    if transfer is not None:
        sys.stdout.write(f"{transfer.report.output}\n")


WeightsOption = Annotated[
    str | None,
    typer.Option(
        "--weights",
        help="Base checkpoint (.pt) of the base YAML: its tensors are carried to their new indices and "
        "written beside the YAML as <output stem>.pt.",
    ),
]




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
    from ..weights import check_edit_checkpoint

    return check_edit_checkpoint(edit, weights, target, scale=scale, trust_checkpoint=trust, force=force)


def _carry_weights(edit: Any, checked: Any, target: Path | None) -> Any:
    """--weights: the checked checkpoint carried across the edit (not yet written)."""
    if checked is None or target is None:
        return None
    from ..weights import transfer_edit_checkpoint

    return transfer_edit_checkpoint(edit, checked, target)


def _yaml_text(edit: EditResult, target: Path | None, made_by: str | None) -> str:
    """The YAML to write: the edited text, its first line naming what made it (`made_by`, the
    command or recipe run; None for --no-provenance). An old provenance line is replaced."""
    if made_by is None:
        return edit.dump()
    from ..composer.provenance import base_shown, provenance_line, with_provenance

    line = provenance_line(__version__, base_shown(edit.base, target), edit.source_text, made_by)
    return with_provenance(edit.dump(), line)


def _edit_command(action: EditAction, edit: Any, *, target: str = "", after: list[str] | None = None,
                  before: list[str] | None = None, args: list[Any] | None = None) -> str:
    """The command a provenance line records for one edit (its module by its catalogue name)."""
    from ..composer.commands import command_line

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
        emit_yaml(text, target, force=force)
        return
    from ..weights import write_yaml_and_checkpoint

    write_yaml_and_checkpoint(lambda: emit_yaml(text, target, force=force), transfer, checkpoint)


@app.command("insert", cls=SpecCommand)
def insert_command(
    module: Annotated[str, typer.Argument(help="Module to insert (see `yolo-compose modules`), e.g. halo.")],
    base: Annotated[str, typer.Option("--base", "-b", help=BASE_HELP)],
    after: Annotated[
        list[str] | None,
        typer.Option("--after", help=AFTER_HELP),
    ] = None,
    before: Annotated[
        list[str] | None,
        typer.Option("--before", help=BEFORE_HELP),
    ] = None,
    args: Annotated[
        str | None,
        typer.Option("--args", help="Module YAML args as a JSON list, e.g. '[2, 1]' (default: the module's)"),
    ] = None,
    scale: Annotated[
        str | None, typer.Option("--scale", help="Scale letter to build and to name the output (n/s/m/l/x).")
    ] = None,
    imgsz: Annotated[int, typer.Option("--imgsz", callback=check_imgsz, help=IMGSZ_HELP)] = 640,
    all_scales: AllScalesOption = False,
    output: Annotated[str | None, typer.Option("--output", "-o", help=OUTPUT_HELP)] = None,
    force: ForceOption = False,
    no_build: Annotated[
        bool, typer.Option("--no-build", help="Only edit the YAML; skip the build (imports no torch).")
    ] = False,
    json_output: JsonReportOption = False,
    import_: ImportOption = None,
    weights: WeightsOption = None,
    trust_checkpoint: TrustCheckpointOption = False,
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
    from ..composer.edit import compose_insert, note_unfilled_resolution, output_target, parse_args_json
    from ..modules import get, import_user_modules

    if json_output and output == "-":
        fail(ComposeError("--json and -o - both write to stdout; choose one"))
    _check_weights_output(weights, output)
    try:
        import_user_modules(import_ or [])
        row_args = parse_args_json(args) if args is not None else None
        if weights is not None and not no_zero_init:
            from ..modules.registry import identity_init_args

            row_args = identity_init_args(get(module), row_args)
        edit = compose_insert(base, module, after=after, before=before, args=row_args, scale=scale)
        target = output_target(output, edit.default_output_name, source=input_path(edit), force=force)
        checked, checkpoint = _check_weights(
            edit, weights, target, scale=scale, trust=trust_checkpoint, force=force
        )
        summary = None
        if no_build:
            note_unfilled_resolution(edit)
        else:
            from ..build import build_and_summarize

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
    layer: Annotated[str, typer.Argument(help=f"Layer to remove (single-input). {SPEC_HELP}.")],
    base: Annotated[str, typer.Option("--base", "-b", help=BASE_HELP)],
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="Output file; default <base>-no<N>.yaml. '-' writes to stdout."),
    ] = None,
    force: ForceOption = False,
    json_output: JsonReportOption = False,
    weights: WeightsOption = None,
    trust_checkpoint: TrustCheckpointOption = False,
    no_provenance: NoProvenanceOption = False,
) -> None:
    """Remove a single-input layer; its consumers read its input and every reference is renumbered.

    Example: yolo-compose remove 9 --base yolo11n-halo.yaml -o yolo11n-back.yaml
    """
    from ..composer.edit import compose_remove, output_target

    if json_output and output == "-":
        fail(ComposeError("--json and -o - both write to stdout; choose one"))
    _check_weights_output(weights, output)
    try:
        edit = compose_remove(base, layer)
        target = output_target(output, edit.default_output_name, source=input_path(edit), force=force)
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
    layer: Annotated[str, typer.Argument(help=f"Layer to replace (single-input). {SPEC_HELP}.")],
    module: Annotated[str, typer.Option("--with", help="Module to put in its place, e.g. halo.")],
    base: Annotated[str, typer.Option("--base", "-b", help=BASE_HELP)],
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
    import_: ImportOption = None,
    weights: WeightsOption = None,
    trust_checkpoint: TrustCheckpointOption = False,
    no_provenance: NoProvenanceOption = False,
) -> None:
    """Replace a layer by a module: its row is swapped, its consumers read the new one (same index).

    Refused when the module cannot give the replaced layer's output channels (the build measures
    them; our modules keep their input's channels), naming the `insert` that works instead.

    Example: yolo-compose replace SPPF --with halo --base yolo11n

    With --weights yolo11n.pt every other layer keeps its trained tensors; the new layer starts fresh.
    """
    from ..composer.edit import (
        compose_replace,
        note_unchecked_replace,
        note_unfilled_resolution,
        output_target,
    )
    from ..modules import import_user_modules

    if json_output and output == "-":
        fail(ComposeError("--json and -o - both write to stdout; choose one"))
    _check_weights_output(weights, output)
    try:
        import_user_modules(import_ or [])
        from ..composer.edit import parse_args_json

        row_args = parse_args_json(args) if args is not None else None
        edit = compose_replace(base, layer, module, args=row_args, scale=scale)
        target = output_target(output, edit.default_output_name, source=input_path(edit), force=force)
        checked, checkpoint = _check_weights(
            edit, weights, target, scale=scale, trust=trust_checkpoint, force=force
        )
        summary = None
        if no_build:
            note_unfilled_resolution(edit)
            note_unchecked_replace(edit)
        else:
            from ..build import build_and_summarize

            summary = build_and_summarize(edit, scale=scale, imgsz=imgsz, all_scales=all_scales)
        transfer = _carry_weights(edit, checked, target)
        made_by = None if no_provenance else _edit_command("replace", edit, target=layer, args=row_args)
        _write_outputs(edit, target, transfer, checkpoint, force=force, made_by=made_by)
    except ComposeError as exc:
        fail(exc)
    _report(edit, target, as_json=json_output, summary=summary, transfer=transfer)


TEMPLATES_HELP = "Folder of user templates (repeatable; also $YOLO_COMPOSE_TEMPLATES)."


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
        str | None, typer.Option("--base", "-b", help=f"{BASE_HELP} Default: the recipe's `base:`.")
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
    templates: Annotated[list[str] | None, typer.Option("--templates", help=TEMPLATES_HELP)] = None,
    import_: ImportOption = None,
    weights: WeightsOption = None,
    trust_checkpoint: TrustCheckpointOption = False,
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
    from ..composer.edit import note_unchecked_replace, note_unfilled_resolution, output_target
    from ..composer.provenance import recipe_command, recipe_ref
    from ..composer.recipe import apply_recipe
    from ..composer.templates import load_named
    from ..modules import import_user_modules

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
        target = output_target(output, edit.default_output_name, source=input_path(edit), force=force)
        checked, checkpoint = _check_weights(
            edit, weights, target, scale=chosen_scale, trust=trust_checkpoint, force=force
        )
        summary = None
        if no_build:
            note_unfilled_resolution(edit)
            note_unchecked_replace(edit)
        else:
            from ..build import build_and_summarize

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
    templates: Annotated[list[str] | None, typer.Option("--templates", help=TEMPLATES_HELP)] = None,
) -> None:
    """List the bundled (and your) templates: name, what, where, which bases; or show one.

    Example: yolo-compose templates attention-before-detect
    """
    from ..composer.templates import all_templates, load_named
    from ..render.templates import render_template_detail, render_template_table

    try:
        if name is None:
            render_template_table(all_templates(templates or []), as_json=json_output)
        else:
            render_template_detail(load_named(name, templates or []), as_json=json_output)
    except ComposeError as exc:
        fail(exc)
