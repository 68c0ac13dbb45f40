"""Bundled templates: each applies to and builds on every base family it declares (scale n,
forwards at 256 and 640), and the `templates`/`apply NAME` commands find bundled and user ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import invoke_cli, run_cli

from yolo_compose.composer.recipe import apply_recipe
from yolo_compose.composer.templates import BUNDLED, ENV_VAR, all_templates

TEMPLATES = {recipe.name: recipe for recipe in all_templates()}
CASES = [(name, base) for name, recipe in sorted(TEMPLATES.items()) for base in recipe.bases]


def test_the_bundled_templates() -> None:
    assert {"halo-p5", "mhsa-p5", "cga-neck-p4p5", "flatten-high-res", "attention-before-detect",
            "attention-after-sppf"} <= set(TEMPLATES)
    for recipe in TEMPLATES.values():
        assert recipe.description and recipe.where and recipe.bases, recipe.name
        assert "arXiv" in recipe.description or "community" in recipe.description, recipe.name


@pytest.mark.parametrize(("name", "base"), CASES)
def test_every_template_builds_on_every_base_it_declares(name: str, base: str) -> None:
    from yolo_compose.build import build_and_summarize

    edit = apply_recipe(TEMPLATES[name], base, scale="n")
    assert edit.inserted or edit.replaced
    summary = build_and_summarize(edit, scale="n", imgsz=640, all_scales=False, on_warning=None)
    assert {(256, 256), (640, 640)} <= set(summary.model.sizes)
    shapes = {layer.index: layer for layer in summary.model.layers}
    for index in edit.inserted:
        assert shapes[index].in_shape == shapes[index].out_shape, (name, base, index)


def test_templates_command_lists_and_shows(tmp_path: Path) -> None:
    listing = run_cli("templates", "--json", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    names = [item["name"] for item in json.loads(listing.stdout)]
    assert names == sorted(TEMPLATES)
    shown = run_cli("templates", "attention-before-detect", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "before: -1" in shown.stdout and "example: yolo-compose apply attention-before-detect" in shown.stdout
    missing = run_cli("templates", "nope", cwd=tmp_path)
    assert missing.returncode == 2 and missing.stderr.startswith("error: recipe 'nope': no such file nor template")


def test_apply_a_template_by_name_with_a_param(tmp_path: Path) -> None:
    result = invoke_cli("apply", "attention-before-detect", "--base", "yolov8s", "--set", "module=cga",
                     "--no-build", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["output"] == "yolov8s-attention-before-detect.yaml"
    assert report["inserted"] == [22, 23, 24]
    first = (tmp_path / report["output"]).read_text().splitlines()[0]
    assert first.endswith("by apply template:attention-before-detect --set module=cga")
    assert invoke_cli("validate", report["output"], cwd=tmp_path).returncode == 0


def test_user_templates_from_a_folder_and_the_environment(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "my-halo.yaml").write_text(
        "description: my placement\nwhere: P5\nbases: [yolo11]\nedits:\n  - insert: halo\n    after: SPPF\n"
    )
    by_option = invoke_cli("templates", "--templates", str(folder), "--json", cwd=tmp_path)
    assert "my-halo" in [item["name"] for item in json.loads(by_option.stdout)]
    applied = invoke_cli("apply", "my-halo", "--base", "yolo11n", "--no-build", "-o", "-", cwd=tmp_path,
                      env={ENV_VAR: str(folder)})
    assert applied.returncode == 0, applied.stderr
    assert "HaloAttention" in applied.stdout
    assert BUNDLED.is_dir()
