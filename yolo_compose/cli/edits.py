"""The editing commands: `insert`, `remove`, `replace`, `apply`, `templates`.

Each editing command checks its options, makes one call to its pipeline (:mod:`yolo_compose.pipelines.edit`)
and hands the outcome to the renderers; a library error becomes one line (`fail`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

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
    fail,
)

if TYPE_CHECKING:
    from ..pipelines.edit import BuildOptions, EditOutcome, WriteOptions

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
        from ..render.summary import render_summary_rich

        render_summary_rich(summary, output=output)
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


def _check_json_output(json_output: bool, output: str | None) -> None:
    """--json and -o - cannot share stdout: refused before anything is read."""
    if json_output and output == "-":
        fail(ComposeError("--json and -o - both write to stdout; choose one"))


def _write_options(
    output: str | None, force: bool, weights: str | None, trust_checkpoint: bool, no_provenance: bool
) -> WriteOptions:
    """The write options every editing command shares (weights with -o - are refused here)."""
    from ..pipelines.edit import WriteOptions

    return WriteOptions(output=output, force=force, weights=weights, trust_checkpoint=trust_checkpoint,
                        provenance=not no_provenance)


def _build_options(no_build: bool, scale: str | None, imgsz: int | None, all_scales: bool) -> BuildOptions:
    """The build options of --no-build, --scale, --imgsz and --all-scales."""
    from ..pipelines.edit import BuildOptions

    return BuildOptions(build=not no_build, scale=scale, imgsz=imgsz, all_scales=all_scales)


def _show(outcome: EditOutcome, *, as_json: bool) -> None:
    """Hand a pipeline's outcome to the renderers."""
    _report(outcome.edit, outcome.target, as_json=as_json, summary=outcome.summary, transfer=outcome.transfer)


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
    from ..composer.edit import parse_args_json
    from ..modules import import_user_modules
    from ..pipelines import edit as pipeline

    _check_json_output(json_output, output)
    try:
        write = _write_options(output, force, weights, trust_checkpoint, no_provenance)
        import_user_modules(import_ or [])
        row_args = parse_args_json(args) if args is not None else None
        outcome = pipeline.insert(
            base, module, after=after, before=before, args=row_args,
            zero_init=False if no_zero_init else None,
            write=write, build=_build_options(no_build, scale, imgsz, all_scales),
        )
    except ComposeError as exc:
        fail(exc)
    _show(outcome, as_json=json_output)


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
    from ..pipelines import edit as pipeline

    _check_json_output(json_output, output)
    try:
        write = _write_options(output, force, weights, trust_checkpoint, no_provenance)
        outcome = pipeline.remove(base, layer, write=write)
    except ComposeError as exc:
        fail(exc)
    _show(outcome, as_json=json_output)


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
    from ..composer.edit import parse_args_json
    from ..modules import import_user_modules
    from ..pipelines import edit as pipeline

    _check_json_output(json_output, output)
    try:
        write = _write_options(output, force, weights, trust_checkpoint, no_provenance)
        import_user_modules(import_ or [])
        row_args = parse_args_json(args) if args is not None else None
        outcome = pipeline.replace(base, layer, module, args=row_args, write=write,
                                   build=_build_options(no_build, scale, imgsz, all_scales))
    except ComposeError as exc:
        fail(exc)
    _show(outcome, as_json=json_output)


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
    from ..modules import import_user_modules
    from ..pipelines import edit as pipeline

    _check_json_output(json_output, output)
    try:
        write = _write_options(output, force, weights, trust_checkpoint, no_provenance)
        import_user_modules(import_ or [])
        outcome = pipeline.apply(
            recipe, base=base, params=_parse_sets(sets or []), templates=templates, zero_init=zero_init,
            write=write, build=_build_options(no_build, scale, imgsz, all_scales),
        )
    except ComposeError as exc:
        fail(exc)
    _show(outcome, as_json=json_output)


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
