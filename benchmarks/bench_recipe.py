"""`apply` of a three-edit recipe with --no-build against one static `insert`, as fresh processes.

A recipe is one reading of the base file, one set of patches per edit (the edited text parsed
again in memory after each) and one write, so it should cost about what one `insert --no-build`
costs: the report gives both medians and their ratio, measured
in turn in the same run (plus a bare ``python -c pass`` for scale).

    python benchmarks/bench_recipe.py [--repeat 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from _timing import command_time

RECIPE = """\
name: three-edits
base: yolo11n
edits:
  - insert: halo
    after: SPPF
  - replace: C2PSA
    with: halo
  - insert: cga
    before: Detect
"""


def commands(tmp: Path) -> dict[str, list[str]]:
    """The commands to time, with the recipe written into `tmp`."""
    recipe = tmp / "three-edits.yaml"
    recipe.write_text(RECIPE, encoding="utf-8")
    cli = [sys.executable, "-m", "yolo_compose"]
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "insert --no-build -o -": [*cli, "insert", "halo", "--after", "8", "--base", "yolo11n", "--no-build",
                                   "-o", "-"],
        "apply (3 edits) --no-build -o -": [*cli, "apply", str(recipe), "--no-build", "-o", "-"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="runs of each command (in turn)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-recipe-") as tmp:
        env = {**os.environ, "YOLO_CONFIG_DIR": tmp, "YOLO_OFFLINE": "1"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        todo = commands(Path(tmp))
        times: dict[str, list[float]] = {name: [] for name in todo}
        for argv_ in todo.values():
            command_time(argv_, env=env, cwd=tmp)  # warm caches and byte-code
        for _ in range(args.repeat):
            for name, argv_ in todo.items():
                times[name].append(command_time(argv_, env=env, cwd=tmp))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, median in medians.items():
        print(f"{name:34s} median {median:.3f} s  min {min(times[name]):.3f} s")
    ratio = medians["apply (3 edits) --no-build -o -"] / medians["insert --no-build -o -"]
    print(f"apply (3 edits) / insert: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
