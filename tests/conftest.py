"""Test set-up shared by every test: ultralytics never reads the user's settings or the network.

Ultralytics writes a settings file on first import and may try the network; every test (and every
subprocess a test starts, through the inherited environment) uses a temporary config folder,
``YOLO_OFFLINE=1`` and no AutoInstall.
"""

from __future__ import annotations

import contextlib
import gc
import io
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


#: Tests run the command line in one of two ways. ``run_cli`` starts a real process; it is kept for
#: what is about the process (exit codes from signals, ``-X importtime`` checks, stdin/stdout
#: plumbing, variables read at start-up, hooks, ``--version``) and for at least one test of each
#: main command: insert (test_cli_insert), diff (test_diff, through the ``cli`` fixture), validate
#: (test_validate), apply (test_recipes), templates (test_templates), replace (test_replace), sweep
#: (test_sweep). ``invoke_cli`` runs the same entry point in this process, sparing each of the
#: other calls an interpreter's start-up.


def invoke_cli(*args: str, cwd: str | Path | None = None, input: str | None = None,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the console script's ``main()`` in this process, with run_cli's result shape.

    The same path as ``yolo-compose ARGS``: ``main()`` with ``sys.argv`` set, its exit code taken
    from ``SystemExit``, stdout and stderr captured apart (the consoles are made per call, on the
    streams of the moment), ``input`` as stdin (bytes underneath, as the reader reads them). The
    working folder, the environment, the record of a prepared process and the garbage collector's
    frozen set are put back afterwards: one call leaves nothing behind for the next test.
    """
    from yolo_compose.cli import main
    from yolo_compose.integration.process import _Process

    saved_env = dict(os.environ)
    saved_process = (_Process.prepared, _Process.user_threads)
    saved_cwd = os.getcwd()
    saved_argv, saved_stdin = sys.argv, sys.stdin
    stdout, stderr = io.StringIO(), io.StringIO()
    code: int | str | None = 0
    try:
        os.environ.update(env or {})
        if cwd is not None:
            os.chdir(cwd)
        sys.argv = ["yolo-compose", *args]
        sys.stdin = io.TextIOWrapper(io.BytesIO((input or "").encode()), encoding="utf-8")
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                main()
            except SystemExit as exc:
                code = exc.code
                if isinstance(code, str):  # as the interpreter does: the message, then exit 1
                    sys.stderr.write(code + "\n")
    finally:
        sys.argv, sys.stdin = saved_argv, saved_stdin
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        _Process.prepared, _Process.user_threads = saved_process
        gc.unfreeze()
    returncode = code if isinstance(code, int) else (0 if code is None else 1)
    return subprocess.CompletedProcess(["yolo-compose", *args], returncode,
                                       stdout.getvalue(), stderr.getvalue())


@pytest.fixture
def cli():
    """The run_cli helper, as a fixture."""
    return run_cli


def one_error_line(result: subprocess.CompletedProcess, *parts: str) -> str:
    """Exit 2, exactly one `error:` line on stderr with every part, nothing on stdout."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert result.stdout == ""
    for part in parts:
        assert part in lines[0], lines[0]
    return lines[0]
