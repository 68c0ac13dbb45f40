"""The sweep's build-and-measure step: plan in, a results folder out.

:func:`run_sweep` measures every model of a :class:`~.plan.SweepPlan`, writes each variant's YAML
(and the base's, so that every row has a file to train) into the folder and turns the numbers
into rows (:mod:`.results`). The CLI then saves them (results.json, results.csv and sweep.png,
``cli.sweep._save_sweep``) and draws the table.

Training extends this without changing it: after :func:`run_sweep` the rows exist, with their
``yaml`` files in the folder and the training columns null; a training step fills those columns
with ``results.update_row(name, ...)`` and saves again after every finished run (the CLI hands it
``_save_sweep`` as a callback, since the plot and the results files are the renderers' and this
layer does not import them). A rerun into the same folder carries finished training over
(:meth:`~.results.SweepResults.carry_training_from`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import __version__
from ..composer.files import write_output
from ..composer.provenance import text_hash
from ..errors import Hint, OutputExistsError
from .options import MEMORY_BATCH, MeasureOptions
from .plan import SweepPlan, Variant
from .results import FAILED, OK, RESULTS_JSON, SweepResults, empty_row


def measure_steps(plan: SweepPlan, options: MeasureOptions) -> int:
    """How many progress steps a sweep reports (two for the base, one per variant and latency round)."""
    per_scale = 2 + len(plan.variants_at(plan.scales[0])) + options.latency_repeats
    return per_scale * len(plan.scales)


def check_output_folder(folder: str | Path) -> Path:
    """The sweep folder: new, empty, or a previous sweep's (it holds results.json). Checked before
    anything is built; created only once there is something to write in it (run_sweep)."""
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise OutputExistsError(f"output {str(path)!r} exists and is not a folder", hint=Hint.other_output)
    if path.is_dir() and any(path.iterdir()) and not (path / RESULTS_JSON).is_file():
        raise OutputExistsError(
            f"output folder {str(path)!r} is not empty and holds no {RESULTS_JSON} of an earlier sweep",
            hint=Hint.other_output,
        )
    if not path.parent.is_dir():
        raise OutputExistsError(f"output folder {str(path.parent)!r} does not exist")
    return path


def run_sweep(
    plan: SweepPlan,
    options: MeasureOptions,
    folder: Path,
    *,
    on_step: Callable[[str], None] = lambda _text: None,
) -> SweepResults:
    """Measure every model (see :mod:`.measure`) and write the YAMLs; returns the rows.

    The caller writes the results files and the plot (``render.sweep``); a previous
    sweep's training columns in `folder` are carried over first.
    """
    from .measure import default_threads, measure_sweep, memory_method, versions

    measured = measure_sweep(plan, options, on_step)
    folder.mkdir(exist_ok=True)
    rows = []
    for scale in plan.scales:
        base_name = plan.base_name(scale)
        base = measured[base_name]
        rows.append(_base_row(plan, scale, base, folder))
        rows += [_variant_row(plan, variant, measured[variant.name], base, folder)
                 for variant in plan.variants_at(scale)]
    settings = {
        "module": plan.module.name,
        "base": plan.base.name,
        "base_sha256": text_hash(plan.base_text),
        "scales": list(plan.scales),
        "imgsz": options.imgsz,
        "memory_batch": MEMORY_BATCH,
        "memory_imgsz": options.memory_size if options.memory_imgsz else None,
        "memory_method": memory_method() if options.memory_imgsz else None,
        "latency_imgsz": options.latency_size if options.latency_repeats else None,
        "latency_repeats": options.latency_repeats,
        "latency_device": "cpu",
        "threads": options.threads or default_threads(),
        "versions": {"yolo_compose": __version__, **versions()},
    }
    results = SweepResults(rows, settings)
    results.carry_training_from(SweepResults.load(folder))
    return results


def _write_model(folder: Path, file_name: str, text: str) -> tuple[str, str]:
    """Write one model file of the sweep (replacing an earlier sweep's); (file name, its hash)."""
    write_output(folder / file_name, text, force=True)
    return file_name, text_hash(text)


def _base_row(plan: SweepPlan, scale: str, measured: Any, folder: Path) -> dict[str, Any]:
    name = plan.base_name(scale)
    yaml_file, sha = _write_model(folder, f"{name}.yaml", plan.base_text)
    return empty_row(
        name=name, scale=scale, position=0, kind="base", placement="base", yaml=yaml_file, sha256=sha,
        status=OK, params=measured.params, gflops=measured.gflops, d_params=0, d_params_pct=0.0,
        d_gflops=0.0, d_gflops_pct=0.0, train_mem_mib=measured.train_mem_mib,
        latency_ms=measured.latency_ms, latency_ratio=1.0 if measured.latency_ms else None,
    )


def _variant_row(plan: SweepPlan, variant: Variant, measured: Any, base: Any, folder: Path) -> dict[str, Any]:
    placement = variant.placement
    row = empty_row(
        name=variant.name, scale=variant.scale, position=variant.position, kind=placement.kind,
        placement=placement.text, target=placement.target, target_module=placement.target_module or None,
        inserted=list(variant.edit.inserted), status=OK if measured.error is None else FAILED,
        error=measured.error,
    )
    if measured.error is not None:
        return row
    row["yaml"], row["sha256"] = _write_model(folder, variant.file_name,
                                              variant.text(plan.base, plan.base_text, folder))
    d_params, d_gflops = measured.params - base.params, measured.gflops - base.gflops
    row.update(
        params=measured.params, gflops=measured.gflops, d_params=d_params,
        d_params_pct=_ratio(d_params, base.params, 100.0), d_gflops=d_gflops,
        d_gflops_pct=_ratio(d_gflops, base.gflops, 100.0), out_shape=measured.out_shape,
        train_mem_mib=measured.train_mem_mib, latency_ms=measured.latency_ms,
        latency_ratio=_ratio(measured.latency_ms, base.latency_ms),
    )
    return row


def _ratio(value: float | None, base: float | None, scale: float = 1.0) -> float | None:
    """scale * value / base (a percentage with scale 100); None when either is missing or base is 0."""
    return None if value is None or not base else scale * value / base
