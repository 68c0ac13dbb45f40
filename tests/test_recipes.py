"""Recipes: several edits applied in order as one change, one line for a recipe that does not fit,
a provenance first line that ultralytics, the scale guess and our reader all accept, and the drift
check of `validate` (YC070)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import invoke_cli, run_cli

from yolo_compose.composer import ModelSpec, guess_scale
from yolo_compose.composer.provenance import HEADER
from yolo_compose.composer.recipe import RecipeError, apply_recipe, load_recipe, load_recipe_text

RECIPE = """\
name: three-edits
description: HaloAttention after SPPF, C2PSA replaced by halo, the neck's first C3k2 removed.
base: yolo11n
edits:
  - insert: halo
    after: SPPF
    args: [2, 1]
  - replace: C2PSA
    with: halo
  - remove: head:C3k2:1
"""


def write(folder: Path, text: str = RECIPE, name: str = "recipe.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_a_recipe_is_one_change_from_the_base(tmp_path: Path) -> None:
    result = apply_recipe(load_recipe(write(tmp_path)))
    spec = result.spec
    assert [step.action for step in result.steps] == ["insert", "replace", "remove"]
    assert result.inserted == [10] and result.replaced == [11]
    assert spec.layers[10].module == "HaloAttention" and spec.layers[11].module == "HaloAttention"
    # the neck's first C3k2 (base layer 13) is gone; its consumers read its input (base 12, now 13)
    assert 13 not in result.index_map and result.index_map[12] == 13 and result.index_map[14] == 14
    assert spec.layers[14].sources == [13] and spec.layers[18].sources == [17, 13]
    assert result.index_map[23] == 23
    assert spec.layers[23].sources == [result.index_map[s] for s in (16, 19, 22)] == [16, 19, 22]
    assert any(r.old_layer == 18 and r.reason == "reads the removed layer's input" for r in result.rewired)


def test_cli_apply_writes_a_provenance_line_every_reader_accepts(tmp_path: Path) -> None:
    write(tmp_path)
    result = invoke_cli("apply", "recipe.yaml", "--no-build", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["action"] == "apply" and len(report["steps"]) == 3
    out = tmp_path / report["output"]
    assert out.name == "yolo11n-three-edits.yaml" and guess_scale(out.name) == "n"
    text = out.read_text()
    first = text.splitlines()[0]
    match = HEADER.match(first)
    assert match and match.group("base") == "yolo11n" and match.group("by") == "apply recipe.yaml"
    assert len(ModelSpec.load(out).layers) == 24

    from yolo_compose.build import build_model  # ultralytics reads past the comment

    model = build_model(text, source_name=out.name, scale=None)
    assert len(model.model) == 24


def test_cli_apply_builds_and_summarises(tmp_path: Path) -> None:
    write(tmp_path)
    result = run_cli("apply", "recipe.yaml", "--imgsz", "256", "-o", "out-n.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "3 edits to yolo11n:" in result.stderr
    assert "10+" in result.stderr and "11=" in result.stderr
    assert (tmp_path / "out-n.yaml").read_text().startswith("# made by yolo-compose ")


def test_a_recipe_that_does_not_fit_names_file_line_edit_and_base(tmp_path: Path) -> None:
    write(tmp_path)
    result = invoke_cli("apply", "recipe.yaml", "--base", "yolov9c", "--no-build", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        "error: recipe.yaml:5: edit 1 `insert halo after SPPF` does not fit base yolov9c: "
    )
    assert "no layer uses module 'SPPF'" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recipe.yaml"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("edits: []\n", "recipe.yaml:1: `edits:` must be a non-empty list"),
        ("edits:\n  - insert: halo\n", "recipe.yaml:2: insert needs after: or before:"),
        ("edits:\n  - insert: halo\n    after: 8\n    with: x\n", "recipe.yaml:2: insert takes after, args, before, not with"),
        ("edits:\n  - {insert: halo, remove: 3}\n", "recipe.yaml:2: an edit names exactly one of"),
        ("edit: []\n", "recipe.yaml: not a recipe"),
        ("edits: [{insert: '{mod}', after: 8}]\n", "recipe.yaml:1: {mod} is not a param of this recipe"),
        ("bases: []\nnames: x\nedits: [{remove: 3}]\n", "recipe.yaml:2: unknown key 'names'"),
    ],
)
def test_bad_recipes_are_one_line_with_file_and_line(text: str, message: str) -> None:
    with pytest.raises(RecipeError) as info:
        load_recipe_text(text, "recipe.yaml")
    assert str(info.value).startswith(message)


def test_params_fill_placeholders_and_unknown_ones_are_refused() -> None:
    recipe = load_recipe_text("params: {module: halo}\nedits: [{insert: '{module}', before: -1}]\n", "r.yaml")
    assert recipe.edits[0].module == "halo"
    assert recipe.with_params({"module": "cga"}).edits[0].module == "cga"
    with pytest.raises(RecipeError, match="has no param block"):
        recipe.with_params({"block": "C2f"})


def test_validate_reports_drift_with_file_and_line(tmp_path: Path) -> None:
    write(tmp_path)
    assert invoke_cli("apply", "recipe.yaml", "--no-build", "-o", "model-n.yaml", cwd=tmp_path).returncode == 0
    clean = invoke_cli("validate", "model-n.yaml", cwd=tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    model = tmp_path / "model-n.yaml"
    lines = model.read_text().splitlines(keepends=True)
    number = next(k for k, line in enumerate(lines) if "Conv, [128, 3, 2]" in line)
    lines[number] = lines[number].replace("[128, 3, 2]", "[96, 3, 2]")
    model.write_text("".join(lines))
    drift = invoke_cli("validate", "model-n.yaml", cwd=tmp_path)
    assert drift.returncode == 1
    assert f"model-n.yaml:{number + 1}:1: error: this file no longer is what `apply recipe.yaml` makes" in drift.stdout
    assert "[YC070]" in drift.stdout


def test_validate_reports_a_changed_recipe(tmp_path: Path) -> None:
    recipe = write(tmp_path)
    assert invoke_cli("apply", "recipe.yaml", "--no-build", "-o", "model-n.yaml", cwd=tmp_path).returncode == 0
    recipe.write_text(RECIPE.replace("args: [2, 1]", "args: [4, 1]"))
    drift = invoke_cli("validate", "model-n.yaml", cwd=tmp_path)
    assert drift.returncode == 1 and "[YC070]" in drift.stdout


def test_args_a_build_filled_in_are_not_drift(tmp_path: Path) -> None:
    result = run_cli("apply", "mhsa-p5", "--base", "yolo11n", "--imgsz", "320", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = tmp_path / "yolo11n-mhsa-p5.yaml"
    assert "MHSA, [10, 10, 4]]" in written.read_text()  # imgsz 320 / stride 32
    clean = run_cli("validate", written.name, cwd=tmp_path)
    assert clean.returncode == 0, clean.stdout
