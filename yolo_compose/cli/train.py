"""`transfer` (a checkpoint to another YAML) and `yolo` (ultralytics' command line, our modules in it)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..errors import ComposeError
from .app import (
    ForceOption,
    JsonReportOption,
    TrustCheckpointOption,
    app,
    fail,
)


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
    trust_checkpoint: TrustCheckpointOption = False,
    json_output: JsonReportOption = False,
) -> None:
    """Carry a checkpoint's weights to another model YAML, pairing layers as `diff` aligns them.

    A layer's tensors move only to the layer it is aligned with, and only when module, repeats,
    args and shapes agree; everything else is reported (new, removed, changed, why).

    Example: yolo-compose transfer yolo11n.pt my-yolo11n.yaml -o my-yolo11n.pt
    """
    from ..render.weights import render_transfer_json, render_transfer_rich
    from ..weights import transfer_to_yaml

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


@app.command(
    "yolo",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
def yolo_command(ctx: typer.Context) -> None:
    """Run ultralytics' own command line with our modules registered: all arguments pass through.

    Example: yolo-compose yolo train model=yolo11n-halo.yaml data=coco8.yaml epochs=100
    """
    from ..integration import run_ultralytics_cli

    run_ultralytics_cli(list(ctx.args))
