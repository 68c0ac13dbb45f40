"""Wall time of `yolo-compose insert ... --base yolo11n` (build + summary) vs ultralytics' own info().

Both commands run as fresh processes, alternating, in the same run on the same machine; the
report is the ratio of their medians. Target: at most 1.15x.

    python benchmarks/bench_insert.py [--repeat 7]

The reference is ``python -c "from ultralytics import YOLO; YOLO('yolo11n.yaml').info()"``: the
cheapest way to build yolo11n with ultralytics and see its params and GFLOPs. `insert` does more
(the edit, a restricted build, forwards at 256, 640 and 384x640, an exact FLOPs count at 640, a
per-layer table), so the ratio is what that costs on top of importing torch and ultralytics.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from _timing import command_time

BASELINE = "from ultralytics import YOLO; YOLO('yolo11n.yaml').info()"
TARGET_RATIO = 1.15


def timed(argv: list[str], env: dict[str, str], cwd: str) -> float:
    """Wall seconds of one fresh process (see _timing.command_time)."""
    return command_time(argv, env=env, cwd=cwd, ok_codes=(0,))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs of each command (alternating)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-insert-") as tmp:
        env = {**os.environ, "YOLO_CONFIG_DIR": tmp, "YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "False"}
        out = str(Path(tmp) / "yolo11n-halo.yaml")
        baseline = [sys.executable, "-c", BASELINE]
        insert = [sys.executable, "-m", "yolo_compose", "insert", "halo", "--after", "8", "--base", "yolo11n",
                  "-o", out, "--force"]
        timed(baseline, env, tmp)  # warm the file cache and write ultralytics' settings file once
        timed(insert, env, tmp)
        base_times, insert_times = [], []
        for _ in range(args.repeat):
            base_times.append(timed(baseline, env, tmp))
            insert_times.append(timed(insert, env, tmp))
    base, ours = statistics.median(base_times), statistics.median(insert_times)
    ratio = ours / base
    print(f"YOLO('yolo11n.yaml').info():                median {base:.2f} s  (min {min(base_times):.2f})")
    print(f"yolo-compose insert halo --after 8 (build): median {ours:.2f} s  (min {min(insert_times):.2f})")
    print(f"ratio {ratio:.2f}x (target <= {TARGET_RATIO}x), {args.repeat} runs each, cpus {os.cpu_count()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
