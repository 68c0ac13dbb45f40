"""Test set-up shared by every test: ultralytics never reads the user's settings or the network.

Ultralytics writes a settings file on first import and may try the network; every test (and every
subprocess a test starts, through the inherited environment) uses a temporary config folder,
``YOLO_OFFLINE=1`` and no AutoInstall.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

_CONFIG_DIR = tempfile.mkdtemp(prefix="yolo-compose-tests-")
os.environ["YOLO_CONFIG_DIR"] = _CONFIG_DIR
os.environ["YOLO_OFFLINE"] = "1"
os.environ["YOLO_AUTOINSTALL"] = "False"
os.environ.setdefault("COLUMNS", "160")
os.environ["NO_COLOR"] = "1"

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def run_python(code: str, *args: str, cwd: str | Path, env: dict[str, str] | None = None,
               timeout: float = 600) -> dict:
    """Run `code` in a fresh interpreter with the test helpers importable; returns its last JSON line.

    The project root comes before any installed copy, so the child imports the tree under test.
    """
    path = os.pathsep.join([str(Path(__file__).resolve().parent), str(PROJECT_ROOT)])
    full_env = {**os.environ, "PYTHONPATH": path, **(env or {})}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stderr[-6000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_cli(*args: str, cwd: str | Path | None = None, input: str | None = None,
            env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `python -m yolo_compose ARGS` as a real subprocess and capture stdout/stderr apart."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "yolo_compose", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )


@pytest.fixture
def cli():
    """The run_cli helper, as a fixture."""
    return run_cli
