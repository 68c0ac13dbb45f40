"""Wall time of the static commands (no torch, no ultralytics) as fresh processes.

Each command runs as a fresh process, in turn with a bare ``python -c pass`` measured in the same
run, and the report gives the median wall time and its ratio to that interpreter start-up:

* ``insert halo --after 8 --base yolo11n --no-build -o -`` (target < 0.25 s);
* ``diff yolo11n yolo11n-halo.yaml`` (target < 0.25 s);
* ``validate`` over 100 model YAMLs (target <= 1 s);
* ``insert --no-build`` on a generated 1 MB model YAML (25,000 layers; target: seconds).

A floor is timed beside them: ``python -c "import typer, yaml"``, the two imports every static
command needs (the command line and ultralytics' own YAML reader) and nothing of ours.

Byte-code is written and used as an installed package would (``PYTHONDONTWRITEBYTECODE`` is
dropped from the commands' environment), so start-up is not a compile of every module.

    python benchmarks/bench_static.py [--repeat 9]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _timing import command_time

from yolo_compose.composer.bases import resolve_base


def timed(argv: list[str], env: dict[str, str], cwd: str) -> float:
    """Wall seconds of one fresh process (see _timing.command_time)."""
    return command_time(argv, env=env, cwd=cwd, ok_codes=(0, 1))  # diff exits 1 for "different"


def commands(tmp: Path) -> dict[str, list[str]]:
    """The static commands to time, with their inputs prepared in `tmp`."""
    cli = [sys.executable, "-m", "yolo_compose"]
    composed = tmp / "yolo11n-halo.yaml"
    subprocess.run([*cli, "insert", "halo", "--after", "8", "--base", "yolo11n", "--no-build",
                    "-o", str(composed)], check=True, capture_output=True, cwd=tmp)
    models = tmp / "models"
    models.mkdir()
    base = resolve_base("yolo11n").path
    for i in range(100):
        shutil.copy(base, models / f"yolo11n-{i:03d}.yaml")
    big = tmp / "big.yaml"
    big.write_text(large_model(25_000), encoding="utf-8")
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "floor: import typer, yaml": [sys.executable, "-c", "import typer, yaml"],
        "insert --no-build -o -": [*cli, "insert", "halo", "--after", "8", "--base", "yolo11n",
                                   "--no-build", "-o", "-"],
        "diff yolo11n yolo11n-halo.yaml": [*cli, "diff", "yolo11n", str(composed)],
        "validate (100 files)": [*cli, "validate", str(models)],
        "insert --no-build, 1 MB model": [*cli, "insert", "halo", "--after", "5", "--base", str(big),
                                          "--no-build", "-o", "-"],
    }


def large_model(layers: int) -> str:
    """A plain chain of `layers` convolutions and a Detect: about 38 bytes a layer."""
    rows = [f"  - [-1, 1, Conv, [64, 3, 1]] # {i}" for i in range(layers)]
    head = f"  - [[{layers - 1}, {layers - 2}], 1, Detect, [nc]] # {layers}"
    return "nc: 80\nbackbone:\n" + "\n".join(rows) + "\nhead:\n" + head + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="runs of each command (in turn)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-static-") as tmp:
        env = {**os.environ, "YOLO_CONFIG_DIR": tmp, "YOLO_OFFLINE": "1"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        todo = commands(Path(tmp))
        times: dict[str, list[float]] = {name: [] for name in todo}
        for argv_ in todo.values():
            timed(argv_, env, tmp)  # warm caches (and byte-code, where it may be written)
        for _ in range(args.repeat):
            for name, argv_ in todo.items():
                times[name].append(timed(argv_, env, tmp))
    start_up = statistics.median(times["python -c pass"])
    for name, values in times.items():
        median = statistics.median(values)
        ratio = median / start_up
        print(f"{name:34s} median {median:.3f} s  min {min(values):.3f} s  ({ratio:.1f}x python start-up)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
