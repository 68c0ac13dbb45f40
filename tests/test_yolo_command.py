"""`yolo-compose yolo ARGS`: ultralytics' own command line, with our modules registered.

Real subprocesses: plain ultralytics' CLI does not know our module names (the failure users
meet), and the same arguments through `yolo-compose yolo` work.
"""

from __future__ import annotations

import sys

import pytest
from conftest import run_cli
from yc_tiny_dataset import make_dataset

from yolo_compose.composer.edit import compose_insert
from yolo_compose.render.summary import next_commands

pytestmark = pytest.mark.slow

PLAIN_YOLO = "import sys; from ultralytics.cfg import entrypoint; sys.argv[0] = 'yolo'; entrypoint()"


@pytest.fixture
def composed(tmp_path):
    (tmp_path / "yolo11n-halo.yaml").write_text(
        compose_insert("yolo11n", "halo", after=8).spec.dump(), "utf-8"
    )
    make_dataset(tmp_path / "data", images=2, size=64)
    return tmp_path


def _predict_args() -> list[str]:
    return [
        "predict",
        "model=yolo11n-halo.yaml",
        "source=data/images/im0.png",
        "imgsz=64",
        "device=cpu",
        "save=False",
    ]


def test_plain_ultralytics_cli_fails_on_our_module_name(composed):
    import subprocess

    result = subprocess.run(
        [sys.executable, "-c", PLAIN_YOLO, *_predict_args()],
        cwd=composed,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "KeyError: 'HaloAttention'" in result.stderr


def test_yolo_command_runs_ultralytics_with_our_modules(composed):
    result = run_cli("yolo", *_predict_args(), cwd=composed)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "KeyError" not in result.stderr
    assert "image 1/1 " in result.stdout + result.stderr and "im0.png: " in result.stdout + result.stderr


def test_yolo_command_passes_help_through_to_ultralytics(tmp_path):
    result = run_cli("yolo", "--help", cwd=tmp_path)
    assert result.returncode == 0
    out = result.stdout + result.stderr
    assert "yolo TASK MODE ARGS" in out and "Arguments received: ['yolo', '--help']" in out
    assert "Usage: yolo-compose" not in out  # not our own help


def test_summary_next_line_shows_the_yolo_command():
    assert (
        next_commands("yolo11n-halo.yaml")[0]
        == "yolo-compose yolo train model=yolo11n-halo.yaml data=coco8.yaml"
    )
