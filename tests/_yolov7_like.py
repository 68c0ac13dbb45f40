"""Model YAMLs of the yolov7 family's shape, generated: E-ELAN blocks, DownC, SPPCSPC, a PAN head.

The diff's scale tests and ``benchmarks/bench_diff.py`` need large, realistic layer lists without
shipping or downloading any: a backbone of ELAN blocks (two 1x1 branches, a chain of 3x3 convs,
a Concat of every other chain output, a 1x1 out) between ``DownC`` stages, an ``SPPCSPC``, and a
head that goes up (Conv, Upsample, a Conv of the backbone stage, Concat, ELAN) and back down
(DownC, Concat with the way up, ELAN), then one 3x3 conv per level and a detection head reading
them all. ``depth`` 6 and 5 stages is yolov7-e6's shape (145 layers), ``depth`` 8 is yolov7-d6's
(163), ``doubled`` (two ELANs on one input summed by a Shortcut) is yolov7-e6e's (262).

Rows are ``(sources, repeats, module, args)`` with absolute sources (a tuple; several make a
list ``from``); :func:`to_yaml` writes them as yolov7 does: relative when near, absolute when far.
"""

from __future__ import annotations

from typing import Any

from yolo_compose.composer.diff import Node

Row = tuple[tuple[int, ...], int, str, list[Any]]

_WIDTHS = [(64, 160), (128, 320), (256, 640), (384, 960), (512, 1280)]


class _Builder:
    def __init__(self) -> None:
        self.rows: list[Row] = []

    def add(self, module: str, args: list[Any], *sources: int) -> int:
        """Append a row reading ``sources`` (default: the previous row); returns its index."""
        self.rows.append((sources or (len(self.rows) - 1,), 1, module, args))
        return len(self.rows) - 1

    def elan(self, source: int, mid: int, out: int, depth: int, *, head: bool) -> int:
        """One ELAN block on ``source``: the backbone's Concat takes every other chain output,
        the head's takes them all."""
        first = self.add("Conv", [mid, 1, 1], source)
        chain = [self.add("Conv", [mid, 1, 1], source)]
        for _ in range(depth):
            chain.append(self.add("Conv", [mid // 2 if head else mid, 3, 1]))
        taken = chain[::-1] if head else chain[::-2]
        self.add("Concat", [1], *taken, first)
        return self.add("Conv", [out, 1, 1])

    def block(self, source: int, mid: int, out: int, depth: int, *, head: bool, doubled: bool) -> int:
        """An ELAN, or with ``doubled`` two of them on one input, summed (yolov7-e6e)."""
        one = self.elan(source, mid, out, depth, head=head)
        if not doubled:
            return one
        two = self.elan(source, mid, out, depth, head=head)
        return self.add("Shortcut", [1], one, two)


def yolov7_like(stages: int = 5, depth: int = 6, *, doubled: bool = False) -> list[Row]:
    """The rows of a yolov7-family model with ``stages`` backbone levels (P2 up), widths cycling."""
    build = _Builder()
    build.add("ReOrg", [], -1)
    build.add("Conv", [80, 3, 1])
    x = build.add("DownC", [160])
    levels = []
    for stage in range(stages):
        mid, out = _WIDTHS[stage % len(_WIDTHS)]
        if stage:
            x = build.add("DownC", [out])
        x = build.block(x, mid, out, depth, head=False, doubled=doubled)
        levels.append(x)
    top = build.add("SPPCSPC", [build.rows[levels[-1]][3][0] // 2])
    ups = [top]
    for level in reversed(levels[1:-1]):
        width = build.rows[level][3][0] // 2
        build.add("Conv", [width, 1, 1])
        build.add("nn.Upsample", ["None", 2, "nearest"])  # as ultralytics writes it: a string
        build.add("Conv", [width, 1, 1], level)
        build.add("Concat", [1], len(build.rows) - 1, len(build.rows) - 2)
        ups.append(build.block(len(build.rows) - 1, width, width, depth, head=True, doubled=doubled))
    outs = [ups[-1]]
    for up in reversed(ups[:-1]):
        width = build.rows[up][3][0]
        build.add("DownC", [width])
        build.add("Concat", [1], len(build.rows) - 1, up)
        outs.append(build.block(len(build.rows) - 1, width, width, depth, head=True, doubled=doubled))
    heads = [build.add("Conv", [build.rows[o][3][0] * 2, 3, 1], o) for o in outs]
    build.add("IDetect", ["nc", "anchors"], *heads)
    return build.rows


def about(layers: int) -> list[Row]:
    """A yolov7-like model with about ``layers`` rows: the depth (2 to 8) and number of stages
    that come closest (a model's length grows by the same rows with each stage)."""
    best: list[Row] = []
    for depth in (2, 4, 6, 8):
        two, three = len(yolov7_like(2, depth)), len(yolov7_like(3, depth))
        rows = yolov7_like(max(2, 2 + round((layers - two) / (three - two))), depth)
        if not best or abs(len(rows) - layers) < abs(len(best) - layers):
            best = rows
    return best


def to_nodes(rows: list[Row]) -> list[Node]:
    """The rows as the diff's graph nodes (what :func:`to_yaml` then loading would give)."""
    return [Node(module, repeats, args, sources, len(sources) > 1) for sources, repeats, module, args in rows]


def insert_after(rows: list[Row], after: int, module: str, args: list[Any]) -> list[Row]:
    """Insert a single-input row after row ``after``, reading it; the next row reads the new one
    (as ``yolo-compose insert`` wires it), every later reference to a moved row is renumbered."""
    def moved(source: int) -> int:
        return source + 1 if source > after else source

    out = [(tuple(moved(s) for s in src), n, mod, arg) for src, n, mod, arg in rows]
    out.insert(after + 1, ((after,), 1, module, args))
    src, n, mod, arg = out[after + 2]
    out[after + 2] = (tuple(after + 1 if s == after else s for s in src), n, mod, arg)
    return out


def change_args(rows: list[Row], index: int, args: list[Any]) -> list[Row]:
    src, n, module, _ = rows[index]
    return [*rows[:index], (src, n, module, args), *rows[index + 1 :]]


def to_yaml(rows: list[Row]) -> str:
    """The model as YAML text, yolov7's way: references within 12 rows relative, others absolute;
    the head starts at the SPPCSPC."""
    split = next(i for i, row in enumerate(rows) if row[2] == "SPPCSPC")

    def ref(index: int, source: int) -> int:
        return source - index if source < 0 or index - source <= 12 else source

    def row(index: int) -> str:
        sources, repeats, module, args = rows[index]
        refs = [ref(index, s) for s in sources]
        from_ = str(refs[0]) if len(refs) == 1 else "[" + ", ".join(map(str, refs)) + "]"
        shown = ", ".join(map(str, args))
        return f"  - [{from_}, {repeats}, {module}, [{shown}]]  # {index}"

    lines = ["nc: 80", "depth_multiple: 1.0", "width_multiple: 1.0", "", "backbone:"]
    lines += [row(i) for i in range(split)]
    lines += ["", "head:"]
    lines += [row(i) for i in range(split, len(rows))]
    return "\n".join(lines) + "\n"
