"""The read-only commands: `modules`, `diff` and `validate`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import ComposeError
from ..render.console import OutputFormat
from .app import (
    ImportOption,
    app,
    check_imgsz,
    fail,
)


@app.command("modules")
def modules_command(
    name: Annotated[str | None, typer.Argument(help="Show one module (name or alias).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    import_: ImportOption = None,
) -> None:
    """List the attention modules, or show one with its arguments.

    Example: yolo-compose modules halo
    """
    from ..modules import all_specs, get, import_user_modules
    from ..render.modules import render_module_detail, render_module_table

    try:
        import_user_modules(import_ or [])
        if name is None:
            render_module_table(all_specs(), as_json=json_output)
        else:
            render_module_detail(get(name), as_json=json_output)
    except ComposeError as exc:
        fail(exc)


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
    from ..composer.diff import diff_specs, load_model
    from ..render import diff as render

    try:
        a_arg, b_arg, a_shown, b_shown, git_mode = _diff_sides(files)
        if git_mode:
            from ..composer.gitdiff import driver_report

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
    from ..composer.files import STDIN, read_input

    return read_input(STDIN)[0]


def _build_scales(a: Any, b: Any, scale: str | None, all_scales: bool) -> list[str | None]:
    """Scales to build: --scale, every scale of B (--all-scales), else the one B's (or A's) name implies."""
    from ..composer.naming import choose_scale

    names = list(b.spec.scales) or list(a.spec.scales)
    if all_scales and not scale:
        return list(names) or [None]
    return [choose_scale(names, requested=scale or b.scale or a.scale) or None]  # B's letter, else A's


def _diff_costs(a: Any, b: Any, result: Any, *, scale: str | None, all_scales: bool) -> list[Any]:
    """--build: measure both sides with ultralytics at each scale (the only path that imports torch)."""
    import contextlib

    from ..composer.diff import compare_costs

    costs = []
    # ultralytics logs to stdout (and binds its handler to sys.stdout at import): results own stdout
    with contextlib.redirect_stdout(sys.stderr):
        from ..build import measure_model

        for name in _build_scales(a, b, scale, all_scales):
            measure_a = measure_model(a.text, source_name=a.name, scale=name)
            measure_b = measure_model(b.text, source_name=b.name, scale=name)
            costs.append(compare_costs(result, measure_a, measure_b, scale=name))
    return costs


@app.command("validate")
def validate_command(
    files: Annotated[
        list[Path], typer.Argument(metavar="FILES...", help="YAML files or folders; non-models pass.")
    ],
    build: Annotated[bool, typer.Option("--build", help="Also build models, run forwards.")] = False,
    all_scales: Annotated[bool, typer.Option("--all-scales", help="With --build: every scale.")] = False,
    scale: Annotated[str | None, typer.Option("--scale", help="With --build: build this scale.")] = None,
    imgsz: Annotated[
        int, typer.Option("--imgsz", callback=check_imgsz, help="With --build: forward size, x32.")
    ] = 640,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings fail too (exit 1).")] = False,
    fix: Annotated[bool, typer.Option("--fix", help="Rewrite stale `# N` index comments only.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON (same as --format json).")] = False,
    output_format: Annotated[
        str, typer.Option("--format", help="Output: rich (path:line:col lines), json or github.")
    ] = "rich",
    import_: ImportOption = None,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="With --build: s per file.")] = 300.0,
    memory_mb: Annotated[
        int, typer.Option("--memory-mb", min=1024, help="With --build: address-space limit (MB).")
    ] = 8192,
) -> None:
    """Check model YAMLs: refs, module names, args, sizes, unsafe YAML; optionally build them.

    Exit 0 clean, 1 problems found, 2 usage error.

    Example: yolo-compose validate models/*.yaml --build --all-scales
    """
    from ..modules import import_user_modules
    from ..render.console import OutputFormat
    from ..render.validate import render_validation
    from ..validate_build import BuildOptions, validate

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
