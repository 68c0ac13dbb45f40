"""`yolo-compose sweep`: every placement built and measured, and trained where asked."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import ComposeError
from .app import (
    BASE_HELP,
    SPEC_HELP,
    ImportOption,
    SpecCommand,
    TrustCheckpointOption,
    app,
    check_imgsz,
    fail,
)
from .edits import TEMPLATES_HELP

_AT_HELP = (
    f"A placement: after SPEC, or `before:SPEC` in front of it (`after:SPEC` also works). {SPEC_HELP}; "
    "Module:all gives one variant per layer. Repeatable. Without --at and --template: after every layer "
    "insert accepts, plus before the head (before:Detect)."
)


_SORT_HELP = (
    "Sort the table by this column, ascending: position, name, params, d_params, gflops, d_gflops, "
    "train_mem_mib, latency_ms, latency_ratio, map50, map50_95 or epoch_time_s."
)


def _check_sort(value: str) -> str:
    from ..render.sweep import SORT_COLUMNS

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
    from ..errors import CheckpointError
    from ..sweep.executors import make_executor
    from ..sweep.jobs import parse_train_args
    from ..sweep.train import TrainSettings

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
    from ..render.train import print_train_outcome
    from ..sweep.train import train_sweep

    train_sweep(
        results, folder, settings, executor,
        edits={variant.name: (variant.edit, variant.scale) for variant in plan.variants},
        save=lambda: _save_sweep(results, folder),
        progress=lambda outcome, done, total: print_train_outcome(outcome, done=done, total=total),
    )


def _check_probe_size(value: int) -> int:
    """A probe's image size: 0 (off) or a positive multiple of 32."""
    return value if value == 0 else check_imgsz(value)


def _save_sweep(results: Any, folder: Path) -> None:
    """Rewrite results.json, results.csv (each atomically) and sweep.png from the rows.

    Called once the variants are measured, and again by training after each finished run, so an
    interrupted sweep keeps everything done so far.
    """
    from ..render.sweep import write_plot, write_results
    from ..sweep.results import PLOT_FILE

    write_results(results, folder)
    write_plot(results, folder / PLOT_FILE)


@app.command("sweep", cls=SpecCommand)
def sweep_command(
    module: Annotated[str, typer.Argument(help="Module to place (see `yolo-compose modules`), e.g. halo.")],
    base: Annotated[str, typer.Option("--base", "-b", help=BASE_HELP)],
    at: Annotated[list[str] | None, typer.Option("--at", help=_AT_HELP)] = None,
    template: Annotated[
        list[str] | None,
        typer.Option("--template", help="A template's placement (its `module` param set); repeatable."),
    ] = None,
    scale: Annotated[
        list[str] | None, typer.Option("--scale", help="Scale to build (repeatable; default: the base's).")
    ] = None,
    imgsz: Annotated[
        int, typer.Option("--imgsz", callback=check_imgsz, help="Image size of the GFLOPs and shapes.")
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
    templates: Annotated[list[str] | None, typer.Option("--templates", help=TEMPLATES_HELP)] = None,
    import_: ImportOption = None,
    train: Annotated[
        str | None,
        typer.Option("--train", metavar="DATA.yaml", help="Then train the base and every variant on it."),
    ] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", min=1, help="With --train: epochs a run.")] = None,
    weights: Annotated[
        str | None,
        typer.Option("--weights", help="With --train: the base's checkpoint; variants start from it."),
    ] = None,
    trust_checkpoint: TrustCheckpointOption = False,
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
    from ..composer.edit import parse_args_json
    from ..composer.templates import load_named
    from ..modules import get, import_user_modules
    from ..render.sweep import render_sweep_json, render_sweep_rich, sweep_progress
    from ..sweep.options import MeasureOptions
    from ..sweep.pipeline import check_output_folder, measure_steps, run_sweep
    from ..sweep.plan import default_output_folder, plan_sweep

    options = MeasureOptions(imgsz=imgsz, memory_imgsz=memory_imgsz, latency_imgsz=latency_imgsz,
                             latency_repeats=latency_repeats, threads=threads)
    try:
        import_user_modules(import_ or [])
        module_spec = get(module)
        row_args = parse_args_json(args) if args is not None else None
        recipes = [load_named(name, templates or []) for name in template or []]
        if weights is not None and not no_zero_init:
            from ..modules.registry import identity_init_args

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
