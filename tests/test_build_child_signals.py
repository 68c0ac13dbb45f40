"""The `validate --build` child never outlives its parent, and keeps a time limit of its own.

Real processes and real signals: a user module (imported with --import) sleeps, only inside the
build child, so the child is reliably busy when the parent is interrupted or killed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # real ultralytics builds, training or processes; see README

MODEL = """\
nc: 2
backbone:
  - [-1, 1, Conv, [16, 3, 2]] # 0
  - [-1, 1, Conv, [32, 3, 2]] # 1
head:
  - [[0, 1], 1, Detect, [nc]] # 2
"""
SLEEPER = """\
import sys
import time

if sys.argv[0].endswith("validate_build.py"):  # only the build child sleeps
    print("child-busy", flush=True, file=sys.stderr)
    time.sleep(600)
"""
WAIT_S = 60  # a guard against hanging, not a timing claim


def _children_of(pid: int) -> list[int]:
    """Pids whose parent is `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_for(predicate, what: str) -> None:
    """Poll until `predicate()` holds; a hang guard (WAIT_S), not a measurement of time."""
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting: {what}")
        time.sleep(0.1)


def _start_validate(tmp_path: Path) -> tuple[subprocess.Popen, int]:
    """Start `validate --build` with the sleeping module; returns it and its build child's pid."""
    (tmp_path / "model.yaml").write_text(MODEL, encoding="utf-8")
    (tmp_path / "yc_sleeper.py").write_text(SLEEPER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    parent = subprocess.Popen(
        [sys.executable, "-m", "yolo_compose", "validate", "model.yaml", "--build", "--import", "yc_sleeper"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    children: list[int] = []

    def child_started() -> bool:
        children[:] = _children_of(parent.pid)
        return bool(children) or parent.poll() is not None

    _wait_for(child_started, "the build child to start")
    assert parent.poll() is None and len(children) == 1, parent.communicate()
    time.sleep(1.0)  # let the child reach its sleep (it has set its death signal by then)
    return parent, children[0]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; PR_SET_PDEATHSIG is Linux's")
def test_ctrl_c_in_the_parent_kills_the_build_child(tmp_path: Path):
    parent, child = _start_validate(tmp_path)
    parent.send_signal(signal.SIGINT)
    parent.communicate(timeout=WAIT_S)
    assert parent.returncode == 130
    _wait_for(lambda: not _alive(child), "the build child to die after Ctrl-C")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; PR_SET_PDEATHSIG is Linux's")
def test_the_build_child_dies_with_a_killed_parent(tmp_path: Path):
    parent, child = _start_validate(tmp_path)
    parent.kill()  # SIGKILL: the parent runs no clean-up at all
    parent.communicate(timeout=WAIT_S)
    _wait_for(lambda: not _alive(child), "the build child to die with its parent")


def test_the_build_child_keeps_its_own_time_limit(tmp_path: Path):
    """Run the child alone (no parent watching the clock): its own alarm stops it."""
    (tmp_path / "yc_sleeper.py").write_text(SLEEPER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    request = {"parent_pid": os.getpid(), "timeout_s": 1, "text": MODEL, "source_name": "model.yaml",
               "scales": [None], "sizes": [(64, 64)], "memory_mb": 8192, "imports": ["yc_sleeper"]}
    child = subprocess.run(
        [sys.executable, "-m", "yolo_compose.validate_build"], input=json.dumps(request), cwd=tmp_path,
        env=env, capture_output=True, text=True, timeout=WAIT_S,
    )
    assert "child-busy" in child.stderr
    assert child.returncode == -signal.SIGALRM, (child.returncode, child.stderr[-2000:])
