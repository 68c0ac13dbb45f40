"""Process tuning is the CLI's (and the build child's): importing the library tunes nothing."""

from __future__ import annotations

import gc
import os
import sys

import pytest
from conftest import run_python

from yolo_compose import integration
from yolo_compose.integration.process import _Process

#: Prints what importing `modules` added to or changed in the environment, and where stdout and
#: ultralytics' log handler point afterwards.
_IMPORT_EFFECTS = """
import gc, json, logging, os, sys
before, stdout = dict(os.environ), sys.stdout
for name in sys.argv[1:]:
    __import__(name)
handlers = [h.stream is stdout for h in logging.getLogger("ultralytics").handlers if hasattr(h, "stream")]
print(json.dumps({
    "env": {k: v for k, v in os.environ.items() if before.get(k) != v},
    "gc": gc.isenabled(), "stdout": sys.stdout is stdout, "handlers_on_stdout": handlers,
}))
"""


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process as if prepare_process had never run (restored afterwards)."""
    monkeypatch.setattr(_Process, "prepared", False)
    monkeypatch.setattr(_Process, "user_threads", True)
    for name in integration.RUN_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.slow
def test_importing_the_build_changes_only_what_ultralytics_itself_changes(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in integration.RUN_ENVIRONMENT:  # the children start with none of them set ...
        monkeypatch.delenv(name, raising=False)
    env = {"YOLO_OFFLINE": "1"}  # ... but offline, so neither tries the network
    ours = run_python(_IMPORT_EFFECTS, "yolo_compose.build", cwd=tmp_path, env=env)
    theirs = run_python(_IMPORT_EFFECTS, "torch", "ultralytics.nn.tasks", cwd=tmp_path, env=env)
    assert ours == theirs
    assert "YOLO_AUTOINSTALL" not in ours["env"] and ours["gc"] and ours["stdout"]
    assert ours["handlers_on_stdout"] == [True]  # ultralytics logs where a library caller expects


def test_prepare_process_sets_the_run_environment_and_keeps_the_users_threads(
    fresh_process: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the user's explicit choice
    integration.prepare_process()
    assert os.environ["YOLO_OFFLINE"] == "1" and os.environ["YOLO_AUTOINSTALL"] == "False"
    assert not integration.threads_are_ours()


def test_prepare_process_owns_the_threads_only_when_it_set_them(fresh_process: None) -> None:
    integration.prepare_process()
    assert os.environ["OMP_NUM_THREADS"] == "1" and integration.threads_are_ours()
    integration.prepare_process()  # again: still ours, nothing re-read
    assert integration.threads_are_ours()


def test_heavy_imports_are_plain_for_a_library_caller_and_quiet_for_a_run(fresh_process: None) -> None:
    stdout, collecting = sys.stdout, gc.isenabled()
    with integration.heavy_imports():
        assert sys.stdout is stdout and gc.isenabled() == collecting
    integration.prepare_process()
    with integration.heavy_imports():
        assert sys.stdout is sys.stderr and not gc.isenabled()
    assert sys.stdout is stdout and gc.isenabled() == collecting
