"""`replace`: one row swapped (a patch of that row, its index comment kept), consumers read the
new layer at the same index, and a module that cannot give the replaced layer's channels is refused
from what the build measures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli

from yolo_compose.composer import ModelSpec, resolve_base
from yolo_compose.composer.edit import replace_layer
from yolo_compose.composer.files import read_input
from yolo_compose.errors import EditError

YOLO11 = resolve_base("yolo11n").path


def test_replace_patches_one_row_and_keeps_its_comment() -> None:
    text = read_input(YOLO11)[0]
    spec = ModelSpec.from_text(text, YOLO11)
    edges = spec.edges()
    result = replace_layer(spec, "SPPF", "halo", args=[2, 1])
    old_lines, new_lines = text.splitlines(), spec.dump().splitlines()
    changed = [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]
    assert changed == [("  - [-1, 1, SPPF, [1024, 5]] # 9", "  - [-1, 1, HaloAttention, [2, 1]] # 9")]
    assert spec.edges() == edges
    assert result.replaced == [9] and result.inserted == []
    assert result.index_map == {i: i for i in range(24)}
    assert [step.action for step in result.steps] == ["replace"]


@pytest.mark.parametrize("target", ["Detect", "Concat:1"])
def test_replace_refuses_heads_and_multi_input_layers(target: str) -> None:
    spec = ModelSpec.load(YOLO11)
    with pytest.raises(EditError, match="cannot replace"):
        replace_layer(spec, target, "halo")


@pytest.mark.parametrize(("target", "index"), [("SPPF", 9), ("C2PSA", 10)])
def test_replace_builds(tmp_path: Path, target: str, index: int) -> None:
    result = run_cli("replace", target, "--with", "halo", "--base", "yolo11n", "--imgsz", "256", "--json",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["action"] == "replace" and report["replaced"] == [index]
    build = report["build"]
    assert build["replaced"] == [index]
    layers = {layer["index"]: layer for layer in build["model"]["layers"]}
    assert layers[index]["module"] == "HaloAttention"
    assert layers[index]["in_shape"] == layers[index]["out_shape"]
    assert build["base"]["derived"] is False and build["base"]["name"] == "yolo11n"
    written = ModelSpec.load(tmp_path / report["output"])
    assert written.layers[index].module == "HaloAttention" and len(written.layers) == 24


def test_a_channel_changing_replace_is_refused_naming_the_insert(tmp_path: Path) -> None:
    result = run_cli("replace", "C3k2:1", "--with", "halo", "--base", "yolo11n", "--imgsz", "256",
                     cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "error: layer 2: cannot replace C3k2 with HaloAttention: C3k2 maps [32, 64, 64] to [64, 64, 64] "
        "at scale n, and HaloAttention keeps its input's shape; insert it instead: "
        "yolo-compose insert halo --after 2 --base yolo11n\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_replace_without_a_build_says_the_channel_check_needs_one(tmp_path: Path) -> None:
    result = run_cli("replace", "C3k2:1", "--with", "halo", "--base", "yolo11n", "--no-build", "-o", "-",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "HaloAttention" in result.stdout
    assert "the channel check of layer 2 needs a build" in result.stderr.replace("\n", " ")
