"""`yolo-compose sweep`: every placement of a module, each variant built and measured.

The one full sweep (halo over every position of yolo11n, a real CLI process, at imgsz 64) checks
the placements, that every YAML builds and keeps the dataflow graph, params against independent
builds, GFLOPs against `insert` for two placements, CSV against JSON and the PNG against the
rows. The rest plan without building, or build a few placements at small sizes.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from _edit_checks import expected_edges_after_inserts, positional_edges
from _sweep_csv import parse_csv
from conftest import invoke_cli, run_cli
from typer.testing import CliRunner

from yolo_compose.cli import app
from yolo_compose.composer import ModelSpec, insert_layers
from yolo_compose.composer.edit import load_base
from yolo_compose.composer.templates import load_named
from yolo_compose.integration.roles import HEAD_MODULES
from yolo_compose.modules import get
from yolo_compose.render.sweep import write_results
from yolo_compose.sweep.plan import parse_at, plan_sweep
from yolo_compose.sweep.results import COLUMNS, TRAIN_COLUMNS, SweepResults, empty_row

HALO = get("halo")
SMALL = ("--imgsz", "64", "--memory-imgsz", "64", "--latency-imgsz", "64", "--latency-repeats", "1")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def expected_placements(spec: ModelSpec) -> list[tuple[str, int]]:
    """Every layer but a head (after), then the head (before): what a default sweep must cover."""
    after = [("after", layer.index) for layer in spec.layers if layer.module not in HEAD_MODULES]
    return [*after, ("before", spec.layers[-1].index)]


def sweep_in_process(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(app, ["sweep", *args, "--json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


# --- the full sweep ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def full_sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("sweep") / "out"
    result = run_cli("sweep", "halo", "--base", "yolo11n", *SMALL, "-o", str(folder), "--json", timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return folder, json.loads(result.stdout)


@pytest.mark.slow
def test_one_variant_per_allowed_position(full_sweep: tuple[Path, dict]) -> None:
    _folder, document = full_sweep
    spec = load_base("yolo11n")[1]
    rows = document["rows"]
    assert document["schema_version"] == 1 and document["columns"] == list(COLUMNS)
    assert rows[0]["kind"] == "base" and rows[0]["name"] == "yolo11n"
    variants = rows[1:]
    assert [(row["kind"], row["target"]) for row in variants] == expected_placements(spec)
    assert [row["position"] for row in rows] == list(range(len(rows)))
    assert variants[8]["name"] == "yolo11n-halo-after8"
    assert variants[-1]["name"] == "yolo11n-halo-beforeDetect"
    assert all(row["status"] == "ok" and row["error"] is None for row in rows)
    assert all(row[column] is None for row in rows for column in TRAIN_COLUMNS)


@pytest.mark.slow
def test_every_yaml_builds_keeps_the_graph_and_has_the_params_in_the_table(
    full_sweep: tuple[Path, dict],
) -> None:
    from yolo_compose.build import build_model

    folder, document = full_sweep
    base_text = load_base("yolo11n")[1].text
    for row in document["rows"]:
        path = folder / row["yaml"]
        text = path.read_text(encoding="utf-8")
        model = build_model(text, source_name=path.name, scale=None)
        assert row["params"] == sum(p.numel() for p in model.parameters()), row["name"]
        if row["kind"] == "base":
            assert text == base_text
            continue
        assert text.startswith("# made by yolo-compose ")
        written = ModelSpec.from_text(text, path.name)
        base = ModelSpec.from_text(base_text)
        old, ref_counts = positional_edges(base), {layer.index: len(layer.refs) for layer in base.layers}
        target = [str(row["target"])]
        edit = insert_layers(base, "halo", after=target if row["kind"] == "after" else [],
                             before=target if row["kind"] == "before" else [])
        assert {(s, c) for s, c, _k in positional_edges(written)} == expected_edges_after_inserts(
            old, edit, ref_counts
        ), row["name"]
        assert row["inserted"] == edit.inserted
        assert row["d_params"] == row["params"] - document["rows"][0]["params"]


@pytest.mark.slow
@pytest.mark.parametrize(("placement", "name"), [("after", "yolo11n-halo-after8"),
                                                 ("before", "yolo11n-halo-beforeDetect")])
def test_gflops_are_what_insert_counts(full_sweep: tuple[Path, dict], placement: str, name: str) -> None:
    from yolo_compose.build import build_and_summarize
    from yolo_compose.composer import compose_insert

    _folder, document = full_sweep
    row = next(row for row in document["rows"] if row["name"] == name)
    target = "8" if placement == "after" else "Detect"
    edit = compose_insert("yolo11n", "halo", after=target if placement == "after" else None,
                          before=target if placement == "before" else None)
    summary = build_and_summarize(edit, scale=None, imgsz=64, all_scales=False, on_warning=None)
    assert row["gflops"] == summary.model.gflops
    assert row["params"] == summary.model.params
    assert row["d_gflops"] == pytest.approx(summary.delta_gflops, abs=1e-12)
    by_index = {layer.index: layer for layer in summary.model.layers}
    assert row["out_shape"] == [by_index[i].out_shape for i in summary.inserted]


@pytest.mark.slow
def test_csv_json_and_the_plot_agree(full_sweep: tuple[Path, dict], tmp_path: Path) -> None:
    from yolo_compose.render.sweep import write_plot

    folder, document = full_sweep
    assert json.loads((folder / "results.json").read_text()) == document
    assert parse_csv((folder / "results.csv").read_text()) == document["rows"]
    assert png_size(folder / "sweep.png") == (1600, 900)
    drawn = write_plot(SweepResults.load(folder), tmp_path / "again.png")  # type: ignore[arg-type]
    assert drawn["labels"][0] == "base" and len(drawn["labels"]) == len(document["rows"])
    assert drawn["d_params"]["n"] == [float(row["d_params"]) for row in document["rows"]]
    assert drawn["d_gflops"]["n"] == [row["d_gflops"] for row in document["rows"]]
    assert "map50_95" not in drawn  # no mAP yet: no mAP panel
    assert (tmp_path / "again.png").read_bytes()[:8] == PNG_SIGNATURE


# --- failures and usage errors --------------------------------------------------------------------


@pytest.mark.slow
def test_a_variant_that_cannot_build_is_a_failed_row(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    # 32 heads: the 16 channels after layer 0 cannot be split, the 256 after layer 8 can
    code, document = sweep_in_process("halo", "--base", "yolo11n", "--at", "0", "--at", "8",
                                      "--args", "[2, 1, 32]", *SMALL, "-o", str(folder))
    assert code == 1
    rows = {row["name"]: row for row in document["rows"]}
    failed, built = rows["yolo11n-halo-after0"], rows["yolo11n-halo-after8"]
    assert failed["status"] == "failed" and failed["params"] is None and failed["yaml"] is None
    assert "not divisible by heads 32" in failed["error"] and "\n" not in failed["error"]
    assert built["status"] == "ok" and (folder / built["yaml"]).is_file()
    assert not (folder / "yolo11n-halo-after0.yaml").exists()
    assert parse_csv((folder / "results.csv").read_text()) == document["rows"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("nosuch", "--base", "yolo11n"), "nosuch"),
        (("halo", "--base", "nosuch-model"), "nosuch-model"),
        (("halo", "--base", "yolo11n", "--at", "C3k2"), "C3k2 occurs 8 times"),
        (("halo", "--base", "yolo11n", "--at", "Detect"), "layer 23: cannot insert after Detect"),
        (("halo", "--base", "yolo11n", "--at", "8", "--sort", "bogus"), "--sort"),
        (("halo", "--base", "yolo11n", "--at", "8", "--args", "[2, -1]"), "halo"),
        (("halo", "--base", "yolo11n", "--at", "8", "--scale", "q"), "scale 'q'"),
    ],
)
def test_usage_errors_are_one_line_and_write_nothing(tmp_path: Path, args: tuple[str, ...], expected: str) -> None:
    result = invoke_cli("sweep", *args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: ")
    assert expected in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_base_that_cannot_build_is_a_usage_error_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "nc: 1\nbackbone:\n  - [-1, 1, Conv, [16, 3, 2]]\n  - [-1, 1, NoSuchBlock, [16]]\n"
        "head:\n  - [[1], 1, Detect, [nc]]\n"
    )
    result = run_cli("sweep", "halo", "--base", "bad.yaml", "--at", "0", *SMALL, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stdout == "" and len(result.stderr.splitlines()) == 1
    assert "bad.yaml: layer 1: " in result.stderr and "NoSuchBlock" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


def test_a_folder_of_something_else_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine\n")
    result = invoke_cli("sweep", "halo", "--base", "yolo11n", "--at", "8", "-o", "out", cwd=tmp_path)
    assert result.returncode == 2 and "is not empty" in result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["notes.txt"]


def test_help_teaches_placements_with_an_example() -> None:
    result = invoke_cli("sweep", "--help")
    assert result.returncode == 0
    for words in ("before:SPEC", "Example: yolo-compose sweep halo --base yolo11n", "results.csv", "--sort"):
        assert words in result.stdout


# --- planning (no torch) ----------------------------------------------------------------------------


def test_placements_and_names() -> None:
    assert parse_at("8") == ("after", "8")
    assert parse_at("before:Detect") == ("before", "Detect")
    assert parse_at("after:head:C3k2:2") == ("after", "head:C3k2:2")
    plan = plan_sweep(HALO, "yolo11n", at=["C3k2:all", "before:Detect", "SPPF", "9"],
                      templates=[load_named("attention-before-detect")], scales=["n", "s"])
    names = [variant.name for variant in plan.variants_at("s")]
    assert names == [*(f"yolo11s-halo-after{i}" for i in (2, 4, 6, 8, 9, 13, 16, 19, 22)),
                     "yolo11s-halo-beforeDetect", "yolo11s-attention-before-detect"]
    assert all(name.replace("-", "").isalnum() for name in names)
    assert plan.base_name("s") == "yolo11s"
    template = plan.variants_at("n")[-1]
    assert template.edit.spec.layers[23].module == "HaloAttention"  # its module param set to halo
    header = template.text(plan.base, plan.base_text, Path("out")).splitlines()[0]
    assert header.endswith("by apply template:attention-before-detect --set module=halo")
    after9 = plan.variants_at("n")[4]
    assert after9.made_by == "insert halo --after 9" and after9.edit.spec.layers[10].module == "HaloAttention"


def test_the_plan_imports_no_torch(tmp_path: Path) -> None:
    code = ("import sys; from yolo_compose.sweep.plan import plan_sweep; from yolo_compose.modules import get;"
            "import yolo_compose.sweep.results, yolo_compose.sweep.pipeline;"
            "plan_sweep(get('halo'), 'yolo11n'); print(sorted({'torch', 'ultralytics'} & set(sys.modules)))")
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# --- results and the plot (no build) ----------------------------------------------------------------


def synthetic_results(trained: bool) -> SweepResults:
    rows = [
        empty_row(name="m", scale="n", position=0, kind="base", placement="base", status="ok", params=10,
                  gflops=1.5, d_params=0, d_gflops=0.0),
        empty_row(name="m-halo-after0", scale="n", position=1, kind="after", placement="after 0 (Conv)",
                  target=0, inserted=[1], status="ok", params=14, gflops=1.75, d_params=4, d_gflops=0.25,
                  out_shape=[[16, 32, 32]], sha256="abc"),
        empty_row(name="m-halo-after1", scale="n", position=2, kind="after", placement="after 1 (Conv)",
                  target=1, status="failed", error="layer 2: cannot build"),
    ]
    results = SweepResults(rows, {"module": "halo", "base": "m", "imgsz": 64})
    if trained:
        results.update_row("m", map50=0.5, map50_95=0.25, train_status="ok")
        results.update_row("m-halo-after0", map50=0.625, map50_95=0.375, train_status="ok", sha256="abc")
    return results


def test_rows_update_write_load_and_carry_training(tmp_path: Path) -> None:
    results = synthetic_results(trained=True)
    with pytest.raises(KeyError):
        results.update_row("m", mAP=1.0)
    with pytest.raises(KeyError):
        results.update_row("nobody", map50=1.0)
    assert results.exit_code == 1 and [row["name"] for row in results.failed] == ["m-halo-after1"]
    write_results(results, tmp_path)
    loaded = SweepResults.load(tmp_path)
    assert loaded is not None and loaded.rows == results.rows and loaded.settings == results.settings
    assert parse_csv((tmp_path / "results.csv").read_text()) == results.rows
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv", "results.json"]  # no temp files
    fresh = synthetic_results(trained=False)
    fresh.rows[0]["sha256"] = "changed"  # the base's file changed since: trained again
    fresh.rows[0]["train_status"] = None
    results.rows[0]["sha256"] = "old"
    assert fresh.carry_training_from(results) == ["m-halo-after0"]
    assert fresh.row("m-halo-after0")["map50_95"] == 0.375 and fresh.row("m")["map50_95"] is None


def test_the_plot_gets_a_map_panel_once_trained(tmp_path: Path) -> None:
    from yolo_compose.render.sweep import write_plot

    untrained = write_plot(synthetic_results(trained=False), tmp_path / "a.png")
    trained = write_plot(synthetic_results(trained=True), tmp_path / "b.png")
    assert "map50_95" not in untrained
    assert trained["map50_95"] == {"n": [0.25, 0.375, None]}
    assert trained["d_gflops"] == {"n": [0.0, 0.25, None]}  # a failed row is a gap
    assert png_size(tmp_path / "b.png") == (1600, 900)
