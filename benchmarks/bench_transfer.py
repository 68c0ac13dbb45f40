"""Cost of carrying a yolo11x checkpoint across an insert: seconds and peak memory vs the file's size.

    python benchmarks/bench_transfer.py [--scale x] [--repeat 3]

The benchmark makes its own checkpoint (yolo11<scale> built by ultralytics, weights perturbed,
saved with ``YOLO.save``, fp16 as ultralytics saves), then, each in a fresh process:

* ``transfer``: :func:`yolo_compose.weights.transfer_for_edit` for HaloAttention after layer 8
  (restricted read, the fit check's build of the base, the composed build, every tensor moved)
  plus writing the new checkpoint;
* ``ultralytics load``: what ultralytics offers instead, ``YOLO(composed.yaml).load(base.pt)``
  plus ``save`` (key-matching: most tensors land nowhere or in the wrong layer; the cost reference).

Time is the median wall time of the call (imports excluded); memory is the peak live heap during
the call above what was live before it (glibc's count after every aten op, as in the module
benchmarks: see _memory.py) and the rise of the process's peak resident set (VmHWM), which also
counts the checkpoint's pages read through the page cache.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent

MAKE = """
    import sys, torch
    import yolo_compose
    from ultralytics import YOLO
    from yolo_compose.composer.edit import compose_insert
    from yolo_compose.modules import get
    from yolo_compose.modules.registry import identity_init_args
    scale, folder = sys.argv[1], sys.argv[2]
    model = YOLO(f"yolo11{scale}.yaml")
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for key, tensor in model.model.state_dict().items():
            if tensor.is_floating_point() and ".dfl." not in key:
                tensor.add_((torch.rand(tensor.shape, generator=generator) - 0.5) * 0.1).abs_()
    model.save(f"{folder}/base.pt")
    edit = compose_insert(f"yolo11{scale}", "halo", after=8, args=identity_init_args(get("halo"), None))
    open(f"{folder}/yolo11{scale}-halo.yaml", "w").write(edit.spec.dump())
    print("{}")
"""

MEASURE = """
    import json, sys, time
    sys.path.insert(0, sys.argv[4])
    from _memory import peak_live_mib
    import torch
    import yolo_compose
    from ultralytics import YOLO
    from yolo_compose.composer.edit import compose_insert
    from yolo_compose.modules import get
    from yolo_compose.modules.registry import identity_init_args
    from yolo_compose.weights import transfer_for_edit
    which, scale, folder = sys.argv[1], sys.argv[2], sys.argv[3]
    composed = f"{folder}/yolo11{scale}-halo.yaml"

    def transfer():
        edit = compose_insert(f"yolo11{scale}", "halo", after=8, args=identity_init_args(get("halo"), None))
        result = transfer_for_edit(f"{folder}/base.pt", edit.spec.dump(), edit.index_map, edit.inserted,
                                   base_yaml_text=edit.base.path.read_text(), base_name=edit.base.name,
                                   composed_name=f"yolo11{scale}-halo.yaml", scale=scale)
        result.save(f"{folder}/out.pt")

    def ultralytics_load():
        model = YOLO(composed).load(f"{folder}/base.pt")
        model.save(f"{folder}/out-ul.pt")

    def hwm():
        for line in open("/proc/self/status"):
            if line.startswith(("VmHWM", "VmRSS")):
                yield line.split()[0][:-1], int(line.split()[1]) * 1024

    fn = transfer if which == "transfer" else ultralytics_load
    mode = sys.argv[5]
    if mode == "heap":
        fn()  # warm: kernels, lazily built state
        print(json.dumps({"heap_mib": peak_live_mib(fn)}))
    else:
        before = dict(hwm())
        start = time.perf_counter()
        fn()
        seconds = time.perf_counter() - start
        after = dict(hwm())
        print(json.dumps({"seconds": seconds, "rss_rise_mib": (after["VmHWM"] - before["VmRSS"]) / 2**20}))
"""


def run(code: str, *args: str, env: dict[str, str]) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode:
        raise SystemExit(result.stderr[-4000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="x", help="yolo11 scale of the checkpoint (n/s/m/l/x)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed runs of each (fresh processes, alternating)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-transfer-") as tmp:
        env = {**os.environ, "YOLO_CONFIG_DIR": tmp, "YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "False"}
        run(MAKE, args.scale, tmp, env=env)
        size_mib = (Path(tmp) / "base.pt").stat().st_size / 2**20
        rows: dict[str, dict[str, list[float]]] = {"transfer": {}, "ultralytics load": {}}
        for _ in range(args.repeat):
            for name, which in (("transfer", "transfer"), ("ultralytics load", "ul")):
                for key, value in run(MEASURE, which, args.scale, tmp, str(HERE), "time", env=env).items():
                    rows[name].setdefault(key, []).append(value)
        for name, which in (("transfer", "transfer"), ("ultralytics load", "ul")):
            rows[name]["heap_mib"] = [
                run(MEASURE, which, args.scale, tmp, str(HERE), "heap", env=env)["heap_mib"]
            ]
    print(f"yolo11{args.scale} checkpoint: {size_mib:.1f} MiB on disk (fp16); HaloAttention after layer 8")
    print(
        f"{'':18} {'seconds':>8} {'peak heap MiB':>14} {'x file':>7} {'peak RSS rise MiB':>18} {'x file':>7}"
    )
    for name, values in rows.items():
        seconds = statistics.median(values["seconds"])
        heap = values["heap_mib"][0]
        rss = statistics.median(values["rss_rise_mib"])
        print(
            f"{name:18} {seconds:8.2f} {heap:14.0f} {heap / size_mib:7.2f} {rss:18.0f} {rss / size_mib:7.2f}"
        )
    ratio = statistics.median(rows["transfer"]["seconds"]) / statistics.median(
        rows["ultralytics load"]["seconds"]
    )
    print(f"transfer / ultralytics load time: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
