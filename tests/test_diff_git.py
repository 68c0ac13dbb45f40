"""`yolo-compose diff` as a git diff driver, in a real git repository.

Git runs ``diff.<driver>.command`` with seven arguments — ``path old-file old-hex old-mode
new-file new-hex new-mode`` — for every path whose ``.gitattributes`` says ``diff=<driver>``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from yolo_compose.composer.bases import resolve_base

SEED_003 = Path(__file__).parent / "data" / "seed003_yolo11_halo.yaml"


def git(repo: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "HOME": str(repo),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_PAGER": "cat",
    }
    run = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, (args, run.stdout, run.stderr)
    return run


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository whose *.yaml files are diffed by yolo-compose, with yolo11.yaml committed."""
    git(tmp_path, "init", "-q")
    (tmp_path / ".gitattributes").write_text("*.yaml diff=yolo\n")
    command = f"{shlex.quote(sys.executable)} -m yolo_compose diff"
    git(tmp_path, "config", "diff.yolo.command", command)
    shutil.copy(resolve_base("yolo11").path, tmp_path / "model.yaml")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "base")
    return tmp_path


def test_git_diff_shows_our_report(repo: Path):
    shutil.copy(SEED_003, repo / "model.yaml")
    out = git(repo, "diff").stdout
    assert out.splitlines()[0].startswith("a/model.yaml → b/model.yaml: different: 1 inserted")
    assert "inserted 9 HaloAttention [2, 1] (repeats 1, from -1 = 8 C3k2), after A 8 C3k2" in out
    plain = git(repo, "diff", "--no-ext-diff").stdout
    assert "+  - [-1, 1, HaloAttention, [2, 1]]" in plain and "HaloAttention [2, 1] (repeats" not in plain


def test_git_diff_of_an_unchanged_graph_says_same_graph(repo: Path):
    path = repo / "model.yaml"
    path.write_text(path.read_text().replace("# cat backbone P4", "# P4 from the backbone"))
    out = git(repo, "diff").stdout
    assert out == (
        "a/model.yaml → b/model.yaml: same graph: 1 comment line differs (ignored)\n"
        "comments ignored (--comments lists them)\n"
    )


def test_git_diff_of_a_new_file_lists_its_layers(repo: Path):
    shutil.copy(SEED_003, repo / "halo.yaml")
    git(repo, "add", "halo.yaml")
    lines = git(repo, "diff", "--cached").stdout.splitlines()
    assert lines[0] == "halo.yaml: new model file, 25 layers"
    assert lines[1] == "  0 Conv [64, 3, 2] (from -1)"
    assert "  9 HaloAttention [2, 1] (from -1)" in lines
    assert lines[-1] == "  24 Detect [nc] (from [17, 20, 23])"


def test_git_diff_of_a_deleted_file(repo: Path):
    git(repo, "rm", "-q", "model.yaml")
    lines = git(repo, "diff", "--cached").stdout.splitlines()
    assert lines[0] == "model.yaml: deleted model file, 24 layers"
    assert len(lines) == 25


DATA_YAML = "path: data\ntrain: images/train\nval: images/val\nnames:\n  0: person\n"


def test_a_changed_non_model_yaml_gets_a_plain_diff_and_git_goes_on(repo: Path):
    """A data.yaml next to a model: git shows both files (the driver never 'dies')."""
    (repo / "data.yaml").write_text(DATA_YAML)
    git(repo, "add", "data.yaml")
    git(repo, "commit", "-q", "-m", "data")
    (repo / "data.yaml").write_text(DATA_YAML.replace("images/val", "images/test"))
    shutil.copy(SEED_003, repo / "model.yaml")
    run = git(repo, "diff")
    assert "external diff died" not in run.stderr
    out = run.stdout.splitlines()
    assert out[0] == "data.yaml: changed, not a model YAML: plain text diff"
    assert out[1:3] == ["--- a/data.yaml", "+++ b/data.yaml"]
    assert "-val: images/val" in out and "+val: images/test" in out
    assert any(line.startswith("a/model.yaml → b/model.yaml: different: 1 inserted") for line in out)


def test_a_new_non_model_yaml_is_not_called_a_model(repo: Path):
    (repo / "data.yaml").write_text(DATA_YAML)
    git(repo, "add", "data.yaml")
    out = git(repo, "diff", "--cached").stdout.splitlines()
    assert out[0] == "data.yaml: new file, not a model YAML: plain text diff"
    assert "model file" not in "\n".join(out)
    assert "+path: data" in out


def test_a_model_yaml_that_no_longer_parses_gets_a_plain_diff(repo: Path):
    path = repo / "model.yaml"
    path.write_text(path.read_text() + "  - [oops\n")
    run = git(repo, "diff")
    first = run.stdout.splitlines()[0]
    assert first.startswith("model.yaml: changed, not a model YAML (b/model.yaml:")
    assert "invalid YAML" in first
    assert "+  - [oops" in run.stdout.splitlines()
