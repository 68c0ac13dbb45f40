"""Per-variant cost of `sweep`'s build-and-measure vs one `insert`'s build and summary, in one process.

    python benchmarks/bench_sweep.py [--repeat 3] [--imgsz 640]

The sweep covers every position of halo on yolo11n (24 variants and the base): planning, building
restricted, counting GFLOPs at imgsz, the training-step memory probe, the latency rounds and
writing every file. Its cost per variant is the whole sweep's time (the base's share included)
divided by the number of variants. The reference is what `insert halo --after 8 --base yolo11n`
does after its imports: the edit and `build_and_summarize` (restricted build, forwards at 256,
imgsz and a rectangular size, the exact count, ultralytics' own GFLOPs). The sweep's time includes
writing results.csv, results.json and sweep.png. Both run in this one
process, torch and ultralytics imported once; the inserts are timed in turn before and after each
sweep so that a machine that gets busier or quieter affects both. Target: at most 1.5x.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "False")

TARGET_RATIO = 1.5


def insert_seconds(imgsz: int) -> float:
    """Wall seconds of one insert's edit, build and summary (the CLI's work after its imports)."""
    from yolo_compose.build import build_and_summarize
    from yolo_compose.composer.edit import compose_insert

    start = time.perf_counter()
    edit = compose_insert("yolo11n", "halo", after="8")
    build_and_summarize(edit, scale=None, imgsz=imgsz, all_scales=False, on_warning=None)
    return time.perf_counter() - start


def sweep_seconds(imgsz: int, folder: Path) -> tuple[float, int]:
    """Wall seconds of a whole sweep of halo over every position of yolo11n, and its variant count."""
    from yolo_compose.cli import _save_sweep
    from yolo_compose.modules import get
    from yolo_compose.sweep.options import MeasureOptions
    from yolo_compose.sweep.pipeline import check_output_folder, run_sweep
    from yolo_compose.sweep.plan import plan_sweep

    start = time.perf_counter()
    plan = plan_sweep(get("halo"), "yolo11n")
    folder = check_output_folder(folder)
    _save_sweep(run_sweep(plan, MeasureOptions(imgsz=imgsz), folder), folder)
    return time.perf_counter() - start, len(plan.variants)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="sweeps (each between two rounds of inserts)")
    parser.add_argument("--inserts", type=int, default=3, help="inserts timed before and after each sweep")
    parser.add_argument("--imgsz", type=int, default=640)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        os.environ.setdefault("YOLO_CONFIG_DIR", tmp)
        import yolo_compose.build  # noqa: F401  (torch and ultralytics, imported once)

        insert_seconds(args.imgsz)  # warm-up: first-use costs of kernels and the FLOPs counter
        inserts: list[float] = []
        per_variant: list[float] = []
        for k in range(args.repeat):
            inserts += [insert_seconds(args.imgsz) for _ in range(args.inserts)]
            total, count = sweep_seconds(args.imgsz, Path(tmp) / f"sweep-{k}")
            per_variant.append(total / count)
            inserts += [insert_seconds(args.imgsz) for _ in range(args.inserts)]
            print(f"sweep {k + 1}: {total:.1f} s for {count} variants", file=sys.stderr)
    one_insert, one_variant = statistics.median(inserts), statistics.median(per_variant)
    print(f"insert halo --after 8, build and summary: median {one_insert:.3f} s ({len(inserts)} runs)")
    print(f"sweep halo over yolo11n, per variant:     median {one_variant:.3f} s ({args.repeat} sweeps)")
    print(f"ratio {one_variant / one_insert:.2f}x (target <= {TARGET_RATIO}x), imgsz {args.imgsz}, "
          f"cpus {os.cpu_count()}, load {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
