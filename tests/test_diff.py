"""`yolo-compose diff`: the seed 003 case, real ultralytics pairs, exit codes, JSON, GitHub, stdin.

The fixture ``data/seed003_yolo11_halo.yaml`` is the YAML of the seed 003 blog post (yolo11 with a
HaloAttention inserted after layer 8, by hand), rebuilt from the post's text whose line breaks
were lost: a break restored before each ``#`` comment that starts a line and each ``- [`` row,
blank lines where ultralytics' yolo11.yaml of that time had them, every character kept —
including the stale index comments (``# 9`` on what is now layer 10) and the ``[128,3,2]`` spacing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from _diff_checks import apply_diff
from typer.testing import CliRunner

from yolo_compose.cli import app
from yolo_compose.composer.bases import resolve_base
from yolo_compose.composer.diff import compare_costs, diff_specs, same_graph, spec_nodes
from yolo_compose.composer.spec import ModelSpec
from yolo_compose.integration.installed import bundled_models
from yolo_compose.render.diff import SCHEMA, cost_dict, diff_dict, github_lines

DATA = Path(__file__).parent / "data"
SEED_003 = DATA / "seed003_yolo11_halo.yaml"


def bundled(name: str) -> ModelSpec:
    return ModelSpec.load(resolve_base(name).path)


def diff(a: str, b: str | Path, **kwargs):
    spec_b = ModelSpec.load(b) if isinstance(b, Path) else bundled(b)
    return diff_specs(bundled(a), spec_b, a_name=a, b_name=str(b), **kwargs)


def edited_yolo11(tmp_path: Path, old: str, new: str, name: str = "edited.yaml") -> Path:
    """A copy of the bundled yolo11.yaml with one text replacement (which must apply)."""
    text = resolve_base("yolo11").path.read_text()
    assert old in text, old
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1))
    return path


# --- the seed 003 case ---------------------------------------------------------------------------


def test_seed_fixture_keeps_the_blog_yaml_with_its_stale_comments():
    spec = ModelSpec.load(SEED_003)
    assert [layer.module for layer in spec.layers][8:11] == ["C3k2", "HaloAttention", "SPPF"]
    sppf = spec.layers[10]
    assert SEED_003.read_text().splitlines()[sppf.line - 1].endswith("# 9"), "stale comment kept"
    assert spec.layers[-1].from_ == [17, 20, 23]


def test_seed_003_is_exactly_one_inserted_halo_after_layer_8_and_no_rewiring():
    result = diff("yolo11n", SEED_003)
    assert [(x.index, x.node.module, x.node.args) for x in result.inserted] == [(9, "HaloAttention", [2, 1])]
    (halo,) = result.inserted
    assert halo.after_a is not None and (halo.after_a.index, halo.after_a.module) == (8, "C3k2")
    assert [str(r) for r in halo.readers] == ["10 SPPF"]
    assert (result.removed, result.changed, result.rewired, result.top_level) == ([], [], [], [])
    assert [(r.b_index, r.old, r.new) for r in result.renumbered] == [
        (19, 13, 14), (22, 10, 11), (24, 16, 17), (24, 19, 20), (24, 22, 23)
    ]
    assert not result.same_graph
    rebuilt = apply_diff(spec_nodes(bundled("yolo11n")), result)
    assert same_graph(rebuilt, spec_nodes(ModelSpec.load(SEED_003)))


def test_seed_003_cli_report(cli):
    run = cli("diff", "yolo11n", str(SEED_003))
    assert run.returncode == 1, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].endswith(
        "different: 1 inserted, 5 references renumbered consistently, 16 comment lines differ (ignored)"
    )
    assert "inserted 9 HaloAttention [2, 1] (repeats 1, from -1 = 8 C3k2), after A 8 C3k2; feeds 10 SPPF" in (
        run.stdout
    )
    assert "rewired" not in run.stdout.lower() and "removed" not in run.stdout.lower()
    assert run.stderr == ""


def test_removing_the_halo_again_is_one_removed_layer():
    result = diff_specs(ModelSpec.load(SEED_003), bundled("yolo11"), a_name="seed", b_name="yolo11")
    assert [(x.index, x.node.module, x.before_b) for x in result.removed] == [(9, "HaloAttention", 9)]
    assert (result.inserted, result.changed, result.rewired) == ([], [], [])
    assert len(result.renumbered) == 5


# --- the same model --------------------------------------------------------------------------------


def test_every_bundled_yaml_against_itself_is_same():
    runner = CliRunner()
    names = sorted(bundled_models())
    assert len(names) > 40
    for name in names:
        path = str(bundled_models()[name])
        result = runner.invoke(app, ["diff", path, path])
        assert (result.exit_code, result.stdout) == (0, "same\n"), (name, result.stdout, result.stderr)


def test_a_pure_renumbering_and_a_comment_edit_are_the_same_graph(tmp_path, cli):
    path = edited_yolo11(
        tmp_path, "[[-1, 6], 1, Concat, [1]] # cat backbone P4", "[[-1, -6], 1, Concat, [1]] # P4!"
    )
    run = cli("diff", "yolo11", str(path))
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[0].endswith(
        "same graph: 1 reference renumbered consistently, 1 comment line differs (ignored)"
    )
    shown = cli("diff", "yolo11", str(path), "--verbose", "--comments")
    assert shown.returncode == 0
    assert "renumbered 12 Concat input 2: 6 → -6 (still reads 6 C3k2)" in shown.stdout
    assert "comment on layer 12: # cat backbone P4 → # P4!" in shown.stdout


# --- real pairs ------------------------------------------------------------------------------------


def test_yolov8_vs_p2_names_the_p2_branch_and_the_rewired_detect():
    result = diff("yolov8", "yolov8-p2")
    assert [(x.index, x.node.module, x.node.args) for x in result.inserted] == [
        (16, "nn.Upsample", ["None", 2, "nearest"]),
        (17, "Concat", [1]),
        (18, "C2f", [128]),
        (19, "Conv", [128, 3, 2]),
        (20, "Concat", [1]),
        (21, "C2f", [256]),
    ]
    assert [s.index for s in result.inserted[1].sources] == [16, 2], "the new Concat reads backbone P2"
    rewired = {x.b_index: x for x in result.rewired}
    assert sorted(rewired) == [22, 28]
    assert [s.index for s in rewired[28].old_sources] == [15, 18, 21]
    assert [s.index for s in rewired[28].new_sources] == [18, 21, 24, 27]
    assert (result.removed, result.changed) == ([], [])


def test_yolo11_vs_seg_is_one_changed_head():
    result = diff("yolo11", "yolo11-seg")
    (head,) = result.changed
    assert head.b_index == 23
    assert [(c.field, c.old, c.new) for c in head.changes] == [
        ("module", "Detect", "Segment"),
        ("args", ["nc"], ["nc", 32, 256]),
    ]
    assert (result.inserted, result.removed, result.rewired, result.renumbered) == ([], [], [], [])


def test_yolov8_vs_ghost_names_each_replaced_module():
    result = diff("yolov8", "yolov8-ghost")
    modules = {x.b_index: [(c.field, c.old, c.new) for c in x.changes] for x in result.changed}
    ghost_convs = sorted(i for i, c in modules.items() if c == [("module", "Conv", "GhostConv")])
    assert ghost_convs == [1, 3, 5, 7, 16, 19]
    assert sorted(i for i, c in modules.items() if c == [("module", "C2f", "C3Ghost")]) == [
        2, 4, 6, 8, 12, 15, 18, 21
    ]
    assert len(result.changed) == 14 and not (result.inserted or result.removed or result.rewired)


def test_a_rewired_concat_is_named_in_layer_terms(tmp_path):
    path = edited_yolo11(tmp_path, "[[-1, 6], 1, Concat, [1]]", "[[-1, 4], 1, Concat, [1]]")
    result = diff("yolo11", path)
    (rewired,) = result.rewired
    assert (rewired.b_index, rewired.old_from, rewired.new_from) == (12, [-1, 6], [-1, 4])
    assert [str(s) for s in rewired.old_sources] == ["11 nn.Upsample", "6 C3k2"]
    assert [str(s) for s in rewired.new_sources] == ["11 nn.Upsample", "4 C3k2"]


def test_top_level_changes_are_listed_and_make_the_models_different(tmp_path, cli):
    path = edited_yolo11(tmp_path, "nc: 80", "nc: 3\nactivation: nn.ReLU()")
    result = diff("yolo11", path)
    assert [(t.key, t.kind, t.old, t.new) for t in result.top_level] == [
        ("nc", "changed", 80, 3),
        ("activation", "added", None, "nn.ReLU()"),
    ]
    run = cli("diff", "yolo11", str(path))
    assert run.returncode == 1
    assert "nc: 80 → 3  (line 8)" in run.stdout and 'activation added: "nn.ReLU()"  (line 9)' in run.stdout


def test_scales_are_compared_entry_by_entry(tmp_path):
    path = edited_yolo11(tmp_path, "n: [0.50, 0.25, 1024]", "n: [0.33, 0.25, 1024]")
    result = diff("yolo11", path)
    assert [(t.key, t.old, t.new, t.line) for t in result.top_level] == [
        ("scales.n", [0.5, 0.25, 1024], [0.33, 0.25, 1024], 11)
    ]


# --- output formats --------------------------------------------------------------------------------


def test_json_output_follows_the_documented_schema(cli):
    run = cli("diff", "yolo11n", str(SEED_003), "--json")
    assert run.returncode == 1 and run.stderr == ""
    data = json.loads(run.stdout)
    assert data["schema"] == SCHEMA == "yolo-compose/diff/1"
    assert set(data) == {
        "schema", "a", "b", "same_graph", "summary", "inserted", "removed", "changed", "rewired",
        "renumbered", "top_level", "comments",
    }
    assert data["a"] == {"name": "yolo11n", "layers": 24} and data["b"]["layers"] == 25
    assert data["summary"] == {
        "inserted": 1, "removed": 0, "changed": 0, "rewired": 0, "renumbered": 5, "top_level": 0,
        "comments": 16,
    }
    assert data["inserted"] == [
        {
            "index": 9, "line": 26, "section": "backbone", "from": -1, "repeats": 1,
            "module": "HaloAttention", "args": [2, 1], "after_a": {"index": 8, "module": "C3k2", "line": 28},
            "sources": [{"index": 8, "module": "C3k2", "line": 25}],
            "feeds": [{"index": 10, "module": "SPPF", "line": 27}],
        }
    ]
    assert data["renumbered"][0] == {
        "a_index": 18, "index": 19, "line": 39, "module": "Concat", "position": 1, "old": 13, "new": 14,
        "source": {"index": 14, "module": "C3k2", "line": 34},
    }
    assert data["comments"] is None and data["same_graph"] is False


def test_json_lists_comments_only_when_asked():
    result = diff("yolo11n", SEED_003, comments=True)
    comments = diff_dict(result)["comments"]
    assert len(comments) == 16 and {c["kind"] for c in comments} == {"added", "removed"}
    assert {"kind": "added", "old": None, "new": "# Ultralytics YOLO 🚀, AGPL-3.0 license", "line": 1,
            "layer": None} in comments
    assert diff_dict(diff("yolo11n", SEED_003))["comments"] is None


def test_github_format_prints_notice_annotations_with_file_and_line(cli):
    run = cli("diff", "yolo11n", str(SEED_003), "--format", "github", "--verbose")
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    assert lines[0] == (
        f"::notice file={SEED_003},line=26,title=yolo-compose diff%3A inserted::inserted 9 HaloAttention "
        "[2, 1] (repeats 1, from -1 = 8 C3k2), after A 8 C3k2; feeds 10 SPPF"
    )
    assert sum(line.startswith("::notice ") and "renumbered" in line for line in lines) == 5


def test_github_annotations_escape_their_data():
    result = diff("yolo11", "yolo11-seg")
    (line,) = github_lines(result, a_file="a,b.yaml", b_file="c:d.yaml")
    assert line.startswith("::notice file=c%3Ad.yaml,line=50,title=yolo-compose diff%3A changed::changed 23")


def test_stat_prints_one_line(cli):
    run = cli("diff", "yolov8", "yolov8-ghost", "--stat")
    assert run.returncode == 1
    assert run.stdout == (
        "yolov8-ghost | different: 0 inserted, 0 removed, 14 changed, 0 rewired, 0 renumbered, 0 top-level\n"
    )


def test_stdin_on_one_side(cli):
    run = cli("diff", "yolo11n", "-", "--json", input=SEED_003.read_text())
    assert run.returncode == 1, run.stderr
    data = json.loads(run.stdout)
    assert data["b"]["name"] == "<stdin>" and data["summary"]["inserted"] == 1


# --- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "content", "message"),
    [
        (["yolo11n", "missing.yaml"], None, "error: base 'missing.yaml': no such file\n"),
        (["yolo11n", "{bad}"], "foo: 1\n", "not a model YAML: missing `backbone` and `head`"),
        (["yolo11n", "{bad}"], "backbone: [\n", "invalid YAML"),
        (["-", "-"], None, "error: only one side can be read from stdin ('-')\n"),
        (["yolo11n"], None, "error: expected two models A B (or the 7 arguments git passes a diff driver)"),
    ],
)
def test_errors_exit_2_with_one_line(tmp_path, cli, args, content, message):
    bad = tmp_path / "bad.yaml"
    if content is not None:
        bad.write_text(content)
    run = cli("diff", *[a.replace("{bad}", str(bad)) for a in args], cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert message in run.stderr and run.stderr.count("\n") == 1 and run.stdout == ""


# --- cost ------------------------------------------------------------------------------------------


def test_static_diff_imports_no_torch_or_ultralytics():
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "yolo_compose", "diff", "yolo11n", str(SEED_003)],
        capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 1, run.stderr[-2000:]
    lines = run.stderr.splitlines()
    imported = [line.split("|")[-1].strip() for line in lines if line.startswith("import time")]
    assert "yolo_compose.composer.diff" in imported
    heavy = [name for name in imported if name.split(".")[0] in {"torch", "ultralytics"}]
    assert heavy == []


# --- --build ---------------------------------------------------------------------------------------


def test_compare_costs_pairs_layers_along_the_diff():
    """Measures are paired by the alignment: inserted on B only, changed on both, in B's order."""
    result = diff("yolo11", "yolo11-seg")

    def measure(params: dict[int, int]) -> SimpleNamespace:
        layers = [SimpleNamespace(index=i, module="m", params=p, gflops=p / 1000) for i, p in params.items()]
        return SimpleNamespace(layers=layers, params=sum(params.values()), gflops=sum(params.values()) / 1000,
                               imgsz=640)

    cost = compare_costs(result, measure({22: 5, 23: 10}), measure({22: 5, 23: 30}), scale="n")
    assert [(x.kind, x.a_index, x.b_index, x.a_params, x.b_params) for x in cost.layers] == [
        ("changed", 23, 23, 10, 30)
    ]
    assert cost_dict(cost)["delta"] == {"params": 20, "gflops": pytest.approx(0.02)}


@pytest.mark.slow
def test_build_measures_both_sides(cli, tmp_path):
    """One real build per side at scale n: yolo11n's known params, plus exactly the inserted layer's.
    A fresh ultralytics config folder makes ultralytics announce its settings: not on stdout."""
    run = cli("diff", "yolo11n", str(SEED_003), "--build", "--json", env={"YOLO_CONFIG_DIR": str(tmp_path)})
    assert run.returncode == 1, run.stderr[-2000:]
    (build,) = json.loads(run.stdout)["build"]
    assert build["scale"] == "n" and build["imgsz"] == 640
    assert build["a"]["params"] == 2_624_080  # ultralytics' own summary for yolo11n
    (halo,) = build["layers"]
    assert (halo["kind"], halo["index"], halo["module"]) == ("inserted", 9, "HaloAttention")
    assert halo["a_params"] is None
    assert build["delta"]["params"] == halo["params"] > 0
    assert build["delta"]["gflops"] == pytest.approx(halo["gflops"], abs=1e-6)
    assert build["a"]["gflops"] == pytest.approx(6.5425, abs=1e-3)  # aten-level count at 640


@pytest.mark.parametrize(
    ("b_name", "scale", "all_scales", "expected"),
    [
        ("yolo11s", None, False, ["s"]),  # the scale in B's name
        ("model", None, False, ["n"]),  # A's name (yolo11n)
        ("model", "m", False, ["m"]),
        ("model", None, True, ["n", "s", "m", "l", "x"]),
    ],
)
def test_build_scales_follow_the_names_and_options(b_name, scale, all_scales, expected):
    from yolo_compose.cli.readonly import _build_scales

    a = SimpleNamespace(spec=bundled("yolo11n"), scale="n")
    b = SimpleNamespace(spec=ModelSpec.load(SEED_003), scale="s" if b_name == "yolo11s" else "")
    assert _build_scales(a, b, scale, all_scales) == expected


def test_diff_agrees_with_the_composer_on_every_insert_and_remove():
    """Insert a HaloAttention after each yolo11n layer, or remove each single-input layer, with the
    composer: the diff finds exactly that layer, no rewiring, and the references the composer
    renumbered (7 for an insert in the stem, as the issue's example says)."""
    from yolo_compose.composer.edit import insert_layer, remove_layer

    text = resolve_base("yolo11n").path.read_text()

    def against_base(edited: str):
        return diff_specs(ModelSpec.from_text(text), ModelSpec.from_text(edited), a_name="a", b_name="b")

    counts = []
    for after in range(23):
        edit = insert_layer(ModelSpec.from_text(text), "halo", after=after)
        result = against_base(edit.dump())
        assert [(x.index, x.node.module) for x in result.inserted] == [(edit.new_index, "HaloAttention")]
        assert (result.removed, result.changed, result.rewired) == ([], [], [])
        assert len(result.renumbered) == sum(r.old_ref != r.new_ref for r in edit.rewired)
        counts.append(len(result.renumbered))
    assert counts[:5] == [7] * 5 and counts[-1] == 1
    single_input = [layer.index for layer in bundled("yolo11n").layers[1:-1] if not layer.is_multi_input]
    for index in single_input:
        edit = remove_layer(ModelSpec.from_text(text), index)
        result = against_base(edit.dump())
        assert [x.index for x in result.removed] == [index]
        assert (result.inserted, result.changed, result.rewired) == ([], [], [])
