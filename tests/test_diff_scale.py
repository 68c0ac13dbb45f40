"""`diff` on large models: generated yolov7-family YAMLs of thousands of layers, and the anchoring,
band and bounded diff that keep the alignment near-linear there (no timing asserts: see
``benchmarks/bench_diff.py`` for the curve).
"""

from __future__ import annotations

import itertools
import random
from unittest import mock

from _diff_checks import apply_diff
from _yolov7_like import about, change_args, insert_after, to_nodes, to_yaml, yolov7_like

from yolo_compose.composer.diff import Node, diff_nodes, diff_specs, same_graph, spec_nodes
from yolo_compose.composer.diff import anchors as diff_anchors
from yolo_compose.composer.diff import gaps as diff_gaps
from yolo_compose.composer.diff import problem as diff_problem
from yolo_compose.composer.spec import INPUT, ModelSpec


def spec(rows) -> ModelSpec:
    return ModelSpec.from_text(to_yaml(rows))


def single_input_convs(rows) -> list[int]:
    return [i for i, (sources, _, module, _) in enumerate(rows) if module == "Conv" and len(sources) == 1]


def level_readers(rows) -> list[int]:
    """Head Convs that read a backbone level far back (the PAN's lateral inputs)."""
    return [i for i, (sources, _, module, _) in enumerate(rows)
            if module == "Conv" and len(sources) == 1 and i - sources[0] > 12]


def test_2000_layers_with_an_insert_three_arg_changes_and_a_rewire_is_exactly_that():
    rows = about(2000)
    assert len(rows) > 1990
    convs = single_input_convs(rows)
    changed = [convs[len(convs) // 5], convs[len(convs) // 2], convs[4 * len(convs) // 5]]
    edited = rows
    for index in changed:
        args = edited[index][3]
        edited = change_args(edited, index, [args[0] + 16, *args[1:]])
    lateral = level_readers(rows)[3]
    sources, repeats, module, args = edited[lateral]
    edited = [*edited[:lateral], ((sources[0] - 1,), repeats, module, args), *edited[lateral + 1:]]
    after = convs[len(convs) // 3]
    edited = insert_after(edited, after, "HaloAttention", [2, 1])

    a, b = spec(rows), spec(edited)
    result = diff_specs(a, b, a_name="a", b_name="b")

    assert [(x.index, x.node.module, x.after_a.index) for x in result.inserted] == [
        (after + 1, "HaloAttention", after)
    ]
    moved = [i + (i > after) for i in changed]
    assert [(x.a_index, x.b_index) for x in result.changed] == list(zip(changed, moved, strict=True))
    assert all(c.field == "args" and c.new[0] == c.old[0] + 16 for x in result.changed for c in x.changes)
    (rewired,) = result.rewired
    assert (rewired.a_index, [s.index for s in rewired.old_sources]) == (lateral, [rows[lateral][0][0]])
    assert result.removed == []
    assert same_graph(apply_diff(spec_nodes(a), result), spec_nodes(b))


def test_the_same_edit_backwards_is_one_removed_layer():
    """As bare graphs this time (the nodes that loading the YAML gives)."""
    rows = about(2000)
    after = single_input_convs(rows)[200]
    edited = insert_after(rows, after, "HaloAttention", [2, 1])
    result = diff_nodes(to_nodes(edited), to_nodes(rows))
    assert [(x.index, x.node.module) for x in result.removed] == [(after + 1, "HaloAttention")]
    assert (result.inserted, result.changed, result.rewired) == ([], [], [])


def test_a_long_stretch_of_repeated_rows_is_anchored_by_the_bounded_diff():
    """600 identical convs: no row is unique, and the stretch between an insert near the start and
    an arg change near the end is too large for the DP's full table; the bounded line diff anchors
    it, and only the edits' neighbourhoods are left for the DP."""
    a = [Node("Conv", 1, [64, 3, 1], (i - 1,) if i else (INPUT,), False) for i in range(600)]
    b = [*a[:100], Node("HaloAttention", 1, [2, 1], (99,), False)]
    b += [Node("Conv", 1, [64, 3, 1], (i,), False) for i in range(100, 600)]
    b[501] = Node("Conv", 1, [80, 3, 1], (500,), False)
    problem = diff_problem.Problem(a, b)
    _, gaps = diff_anchors.find_anchors(problem)
    assert max((a1 - a0) * (b1 - b0) for a0, a1, b0, b1 in gaps) < 100
    result = diff_nodes(a, b)
    assert [x.index for x in result.inserted] == [100]
    assert [(x.a_index, x.b_index) for x in result.changed] == [(500, 501)]
    assert (result.removed, result.rewired) == ([], [])


def test_yolov7_e6e_against_d6_is_complete_and_no_longer_than_before():
    """262 against 163 layers, different ELAN blocks throughout. The whole-table search this
    replaces (20 s here) found a 220-operation script for this pair."""
    e6e, d6 = yolov7_like(depth=6, doubled=True), yolov7_like(depth=8)
    a, b = spec(e6e), spec(d6)
    assert (len(a.layers), len(b.layers)) == (262, 163)
    assert same_graph(spec_nodes(a), to_nodes(e6e)) and same_graph(spec_nodes(b), to_nodes(d6))
    result = diff_specs(a, b, a_name="e6e", b_name="d6")
    assert same_graph(apply_diff(spec_nodes(a), result), spec_nodes(b))
    assert len(result.removed) - len(result.inserted) == 99
    assert result.edit_count <= 220


def random_graph(rng: random.Random, size: int) -> list[Node]:
    """Rows from a tiny pool of contents (nothing unique to anchor on), chains and skips."""
    nodes = [Node("Conv", 1, [64], (INPUT,), False)]
    for index in range(1, size):
        if index > 2 and rng.random() < 0.2:
            nodes.append(Node("Concat", 1, [1], (index - 1, rng.randrange(index - 1)), True))
        else:
            source = index - 1 if rng.random() < 0.8 else rng.randrange(index)
            nodes.append(Node(rng.choice(["Conv", "C2f"]), 1, [rng.choice([64, 128])], (source,), False))
    return nodes


def test_gaps_past_the_cell_limit_are_aligned_in_a_band_and_stay_complete():
    rng = random.Random(12)
    a, b = random_graph(rng, 300), random_graph(rng, 260)
    with mock.patch.object(diff_gaps, "_GAP_CELLS", 2_000):
        problem = diff_problem.Problem(a, b)
        _, gaps = diff_anchors.find_anchors(problem)
        assert any((a1 - a0) * (b1 - b0) > 2_000 for a0, a1, b0, b1 in gaps), "the band is used"
        result = diff_nodes(a, b)
    assert same_graph(apply_diff(a, result), b)


def test_the_band_holds_a_path_from_corner_to_corner():
    """Each DP row's band starts no later than the next row's and ends no earlier than where the
    next one starts (a remove can always step down), from column 0 to column m, in a number of
    cells linear in n + m."""
    for n, m in [(700, 700), (3000, 900), (900, 3000), (5, 900_000), (900_000, 5)]:
        band = diff_gaps._band(n, m)
        assert band[0][0] == 0 and band[-1][1] == m and len(band) == n + 1
        for (lo, hi), (next_lo, next_hi) in itertools.pairwise(band):
            assert lo <= next_lo <= hi <= next_hi
        cells = sum(hi - lo + 1 for lo, hi in band)
        assert cells <= 2 * diff_gaps._GAP_CELLS + (2 * diff_gaps._MIN_BAND + 3) * (n + 1) + m
        assert min(n, m) < 100 or cells < n * m / 4
