"""The pre-commit hooks, for real: `pre-commit try-repo <project> --all-files`, both hooks.

`try-repo` always uses a fresh temporary store (PRE_COMMIT_HOME is not used), so every run
pip-installs this project with all of its dependencies (torch and ultralytics included) into a
new hook environment. Measured on a shared 2-core machine under load: 350 s with the default
CUDA build of torch (over 5 GB installed); 242 s with a CPU build of torch; 190 s adding
``PIP_NO_COMPILE=1``; 130 s with the temporary folders on tmpfs as well. So the test:

* pins torch to a CPU wheel when pip is offered one through ``PIP_FIND_LINKS`` (the same
  dependency specification, 4 GB less to unpack);
* sets ``PIP_NO_COMPILE=1`` (no .pyc for ~20,000 files that one run does not import);
* puts the temporary store on ``/dev/shm`` when that tmpfs has room;
* installs once per session: one `try-repo` run with ``--hook-stage manual`` runs the lint hook
  (no `stages`, so every stage) and the build hook (`[pre-push, manual]`) in one environment,
  over a good model, a broken model and a non-model YAML. This file takes about 100 s under load.

The project is snapshotted (tracked and untracked, not ignored files) into a temporary git repo,
so the test checks the working tree as it is, committed or not.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow  # real ultralytics builds, training or processes; see README

GOOD = """\
nc: 2
backbone:
  - [-1, 1, Conv, [16, 3, 2]] # 0
  - [-1, 1, Conv, [32, 3, 2]] # 1
head:
  - [[0, 1], 1, Detect, [nc]] # 2
"""
BROKEN = GOOD.replace("[-1, 1, Conv, [32, 3, 2]]", "[-1, 1, Cnv, [32, 3, 2]]").replace("# 2\n", "# 5\n")
NOT_A_MODEL = "path: datasets/coco\nnames: {0: person}\n"
TMPFS_NEEDED = 4 * 1024**3  # the hook environment takes about 1.2 GB; leave room for others
HOOK_NAMES = ("yolo-compose lint (model YAMLs)", "yolo-compose build (model YAMLs)")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def git(*args: str, cwd: Path) -> str:
    """Run git quietly in cwd with a fixed identity; returns stdout."""
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, env={**os.environ, **GIT_ENV}
    )
    return result.stdout


def snapshot_project(dest: Path) -> Path:
    """Copy the project's non-ignored files into a new git repo with one commit."""
    files = git("ls-files", "-co", "--exclude-standard", "-z", cwd=PROJECT_ROOT).split("\0")
    for name in filter(None, files):
        source = PROJECT_ROOT / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git("init", "-q", cwd=dest)
    git("add", "-A", cwd=dest)
    git("commit", "-qm", "snapshot", cwd=dest)
    return dest


def cpu_torch_constraints(folder: Path) -> dict[str, str]:
    """PIP_CONSTRAINT pinning a CPU torch wheel found in PIP_FIND_LINKS, if there is one."""
    for link in os.environ.get("PIP_FIND_LINKS", "").split():
        tag = "cp{}{}".format(*sys.version_info[:2])
        wheels = sorted(Path(link).glob(f"torch-*+cpu-{tag}-*.whl"))
        if not wheels:
            continue
        version = wheels[-1].name.split("-")[1]  # e.g. 2.13.0+cpu
        major, minor = (int(part) for part in version.split(".")[:2])
        constraints = folder / "constraints.txt"
        # torchvision 0.(minor + 15) is the release built against torch 2.minor
        constraints.write_text(f"torch=={version}\ntorchvision==0.{minor + 15}.*\n")
        return {"PIP_CONSTRAINT": str(constraints)} if major == 2 else {}
    return {}


@pytest.fixture(scope="session")
def try_repo(tmp_path_factory) -> subprocess.CompletedProcess:
    """Run both hooks once on a repo with a good, a broken and a non-model YAML committed.

    ``--hook-stage manual`` runs every hook whose stages include `manual`: the lint hook (no
    `stages`, so all of them) and the build hook (`[pre-push, manual]`), in one hook environment.
    """
    base = tmp_path_factory.mktemp("precommit")
    project = snapshot_project(base / "project")
    repo = base / "repo"
    (repo / "models").mkdir(parents=True)
    (repo / "models" / "good.yaml").write_text(GOOD)
    (repo / "models" / "broken.yaml").write_text(BROKEN)
    (repo / "data.yaml").write_text(NOT_A_MODEL)
    git("init", "-q", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "models", cwd=repo)
    env = {**os.environ, "PRE_COMMIT_HOME": str(base / "home"), "PIP_NO_COMPILE": "1",
           **cpu_torch_constraints(base)}
    tmpfs = Path("/dev/shm")
    if tmpfs.is_dir() and os.access(tmpfs, os.W_OK) and shutil.disk_usage(tmpfs).free > TMPFS_NEEDED:
        env["TMPDIR"] = str(tmpfs)
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(project),
         "--all-files", "--hook-stage", "manual", "--color", "never"],
        cwd=repo, capture_output=True, text=True, env=env, timeout=1200,
    )


def hook_section(output: str, name: str) -> str:
    """The part of pre-commit's output that belongs to one hook (its status line to the next)."""
    start = output.index(name)
    following = [output.find(other, start + 1) for other in HOOK_NAMES if other != name]
    ends = [end for end in following if end > start]
    return output[start : min(ends)] if ends else output[start:]


BROKEN_FINDINGS = [
    "models/broken.yaml:4:13: error: layer 1: unknown module 'Cnv' (did you mean Conv, Conv2, AConv?); "
    "if it is yours, import the package that registers it [YC030]",
    "models/broken.yaml:6:33: warning: comment says layer 5, but this row is layer 2 [YC051]",
]


def findings(section: str) -> list[str]:
    """The `path:line:col: ...` lines of a hook's output."""
    return [line for line in section.splitlines() if re.match(r"^[\w/]+\.yaml:\d+:\d+: ", line)]


@pytest.mark.slow
def test_lint_hook_fails_on_the_broken_model_only(try_repo):
    output = try_repo.stdout + try_repo.stderr
    assert try_repo.returncode == 1, output
    section = hook_section(output, "yolo-compose lint (model YAMLs)")
    assert re.match(r"yolo-compose lint \(model YAMLs\)\.+Failed", section), section
    assert "- exit code: 1" in section
    assert findings(section) == BROKEN_FINDINGS
    assert "1 error, 1 warning in 2 model files; 1 other file skipped" in section


@pytest.mark.slow
def test_build_hook_builds_the_good_model(try_repo):
    output = try_repo.stdout + try_repo.stderr
    section = hook_section(output, "yolo-compose build (model YAMLs)")
    assert re.match(r"yolo-compose build \(model YAMLs\)\.+Failed", section), section
    assert findings(section) == BROKEN_FINDINGS, "the broken file is reported, not built"
    assert "1 error, 1 warning in 2 model files; 1 other file skipped; 1 build run" in section


def test_hooks_manifest():
    """Two hooks: lint at commit time, build on push or by hand, one process at a time."""
    import yaml

    manifest = yaml.safe_load((PROJECT_ROOT / ".pre-commit-hooks.yaml").read_text())
    hooks = {hook["id"]: hook for hook in manifest}
    assert set(hooks) == {"yolo-compose-lint", "yolo-compose-build"}
    lint, build = hooks["yolo-compose-lint"], hooks["yolo-compose-build"]
    assert lint["entry"] == "yolo-compose validate" and "stages" not in lint
    assert build["entry"] == "yolo-compose validate --build"
    assert build["stages"] == ["pre-push", "manual"] and build["require_serial"] is True
    assert lint["language"] == build["language"] == "python"
    assert lint["types"] == build["types"] == ["yaml"]
