"""Bases: bundled names resolve to ultralytics' YAMLs and their scale, files to themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

from yolo_compose.composer.bases import bundled_names, resolve_base
from yolo_compose.errors import UnknownBaseError
from yolo_compose.integration.installed import bundled_models


@pytest.mark.parametrize(
    ("name", "file", "scale"),
    [
        ("yolo11n", "yolo11.yaml", "n"),
        ("yolov8s", "yolov8.yaml", "s"),
        ("yolo12m", "yolo12.yaml", "m"),
        ("yolo26n", "yolo26.yaml", "n"),
        ("yolov9c", "yolov9c.yaml", ""),
        ("yolov10n", "yolov10n.yaml", "n"),
        ("yolov5nu", "yolov5.yaml", "n"),
        ("yolo11n-seg", "yolo11-seg.yaml", "n"),
        ("yolov8n-p2", "yolov8-p2.yaml", "n"),
        ("yolov8x6", "yolov8-p6.yaml", "x"),
        ("yolo11n.yaml", "yolo11.yaml", "n"),
        ("rtdetr-l", "rtdetr-l.yaml", ""),
    ],
)
def test_bundled_names_resolve(name: str, file: str, scale: str) -> None:
    base = resolve_base(name)
    assert base.bundled
    assert base.path.name == file
    assert base.path.is_file()
    assert base.scale == scale
    assert base.name == name.removesuffix(".yaml")


def test_a_file_path_resolves_to_itself(tmp_path: Path) -> None:
    path = tmp_path / "yolo11s-custom.yaml"
    path.write_text("backbone: []\nhead: []\n")
    base = resolve_base(str(path))
    assert (base.path, base.name, base.scale, base.bundled) == (path, "yolo11s-custom", "s", False)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("yolo11q", "base 'yolo11q': not a bundled ultralytics model nor a file; did you mean: yolo11"),
        ("yolov8n-p9", "did you mean: yolov8n-p6, yolov8n-p2,"),
        ("missing/model.yaml", "base 'missing/model.yaml': no such file"),
    ],
)
def test_unknown_base_lists_close_matches(name: str, message: str) -> None:
    with pytest.raises(UnknownBaseError) as info:
        resolve_base(name)
    assert message in str(info.value)


def test_every_bundled_model_is_found() -> None:
    models = bundled_models()
    assert len(models) >= 60
    assert {"yolo11", "yolov8", "yolo26", "rtdetr-l", "yolov8-p2"} <= set(models)
    assert {"yolo11n", "yolo11x-seg", "yolov8s-p2", "yolov10b", "yoloe-11s-seg"} <= set(bundled_names())
    assert not {"yolov10bn", "yolov10nn", "yolov9cs"} & set(bundled_names())  # variants take no letter
