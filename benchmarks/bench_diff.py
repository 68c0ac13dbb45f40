"""Time and peak memory of ``yolo-compose diff``'s layer alignment, from 24 to 5,000 layers.

Two kinds of pairs, generated here (nothing downloaded or committed; the generator is the one the
diff's scale tests use, ``tests/_yolov7_like.py``):

* a yolov7-e6e-shaped model (262 layers) against a yolov7-d6-shaped one (163 layers): the
  same stages and head, different ELAN blocks, so about 200 edits. Timed in-process (``diff_specs``)
  and as the CLI in a fresh process, in turn with a bare ``python -c pass`` in the same run;
* near-identical pairs, a model against itself plus one inserted ``HaloAttention`` and three
  changed args, at 24 to 5,000 layers: the curve should be about linear.

``diff_specs`` time is the best of ``--repeat`` runs on specs loaded beforehand (loading is not
the alignment's); peak memory is what ``tracemalloc`` sees allocated during one more run;
``align_nodes`` is the alignment alone (best of ``--repeat``), on the graph nodes of the two specs.

    python benchmarks/bench_diff.py [--repeat 5] [--cli-repeat 7] [--sizes 24 50 ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import tracemalloc
from pathlib import Path

from _timing import best_time, command_time

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _yolov7_like import Row, about, change_args, insert_after, to_yaml, yolov7_like

from yolo_compose.composer.diff import DiffResult, align_nodes, diff_specs, spec_nodes
from yolo_compose.composer.spec import ModelSpec

SIZES = [24, 50, 100, 250, 500, 1000, 2000, 5000]


def near_identical(layers: int) -> tuple[list[Row], list[Row]]:
    """A model of about ``layers`` rows, and it with three Conv args changed and a HaloAttention
    inserted (after a Conv a third of the way in)."""
    rows = about(layers)
    convs = [i for i, (sources, _, module, _) in enumerate(rows) if module == "Conv" and len(sources) == 1]
    edited = rows
    for share in (0.2, 0.5, 0.8):
        index = convs[int(len(convs) * share)]
        args = edited[index][3]
        edited = change_args(edited, index, [args[0] + 16, *args[1:]])
    return rows, insert_after(edited, convs[int(len(convs) * 0.35)], "HaloAttention", [2, 1])


def measure(a: ModelSpec, b: ModelSpec, repeat: int) -> str:
    """One table row: layers, best seconds of diff_specs and of align_nodes, peak MiB, what it found."""
    def run() -> DiffResult:
        return diff_specs(a, b, a_name="a", b_name="b")

    seconds = best_time(run, repeat=repeat)
    nodes_a, nodes_b = spec_nodes(a), spec_nodes(b)
    aligning = best_time(lambda: align_nodes(nodes_a, nodes_b), repeat=repeat)
    tracemalloc.start()
    result = run()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    per_layer = aligning / (len(a.layers) + len(b.layers)) * 1e6
    return (f"{len(a.layers)} / {len(b.layers)} | {seconds:.3f} | {aligning:.3f} | {per_layer:.0f}"
            f" | {peak:.1f} | {found(result)} |")


def found(result: DiffResult) -> str:
    s = result.summary()
    return f"{s['inserted']} ins, {s['removed']} rem, {s['changed']} chg, {s['rewired']} rew"


def cli_ratio(tmp: Path, repeat: int) -> tuple[float, float]:
    """Median wall seconds of the CLI diff of the 262/163 pair and of ``python -c pass``, in turn."""
    env = {**os.environ, "YOLO_CONFIG_DIR": str(tmp), "YOLO_OFFLINE": "1"}
    diff = [sys.executable, "-m", "yolo_compose", "diff", str(tmp / "e6e.yaml"), str(tmp / "d6.yaml")]
    bare = [sys.executable, "-c", "pass"]
    command_time(diff, env=env, cwd=str(tmp), ok_codes=(1,))  # byte-code and caches warm
    times: dict[str, list[float]] = {"diff": [], "bare": []}
    for _ in range(repeat):
        times["diff"].append(command_time(diff, env=env, cwd=str(tmp), ok_codes=(1,)))
        times["bare"].append(command_time(bare, env=env, cwd=str(tmp)))
    return statistics.median(times["diff"]), statistics.median(times["bare"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="diff_specs runs per pair (best taken)")
    parser.add_argument("--cli-repeat", type=int, default=7, help="CLI runs (median taken)")
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES, help="near-identical pair sizes")
    args = parser.parse_args(argv)

    print("| pair | layers A / B | diff_specs s | align_nodes s | align µs per layer | peak MiB | found |")
    print("|---|---|---|---|---|---|---|")
    e6e, d6 = to_yaml(yolov7_like(depth=6, doubled=True)), to_yaml(yolov7_like(depth=8))
    print("| e6e vs d6 |", measure(ModelSpec.from_text(e6e), ModelSpec.from_text(d6), args.repeat))
    for size in args.sizes:
        rows, edited = near_identical(size)
        a, b = ModelSpec.from_text(to_yaml(rows)), ModelSpec.from_text(to_yaml(edited))
        print("| near-identical |", measure(a, b, args.repeat))

    with tempfile.TemporaryDirectory(prefix="bench-diff-") as tmp:
        (Path(tmp) / "e6e.yaml").write_text(e6e)
        (Path(tmp) / "d6.yaml").write_text(d6)
        diff, bare = cli_ratio(Path(tmp), args.cli_repeat)
    print(f"\nyolo-compose diff e6e.yaml d6.yaml (fresh process): median {diff:.3f} s;"
          f" python -c pass: {bare:.3f} s ({diff / bare:.1f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
