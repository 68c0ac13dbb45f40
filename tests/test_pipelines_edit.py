"""The editing pipelines as a library caller runs them: the outcome, the file written (or stdout),
the provenance line, the options refused up front, and the YAML and checkpoint written both or
neither when a step fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_python

from yolo_compose.composer.edit import compose_insert
from yolo_compose.composer.provenance import HEADER
from yolo_compose.errors import BuildError, CheckpointError, ComposeError, Hint, OutputExistsError, Param
from yolo_compose.pipelines.edit import BuildOptions, WriteOptions, apply, insert, remove, replace

NO_BUILD = BuildOptions(build=False)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch) -> Path:
    """Run in an empty folder: default output names land there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def base_pt(tmp_path_factory) -> Path:
    from yc_checkpoints import make_base_checkpoint

    return make_base_checkpoint(tmp_path_factory.mktemp("base") / "base.pt")


def test_insert_without_a_build_returns_the_outcome_and_writes_the_default_file(in_tmp):
    outcome = insert("yolo11n", "halo", after=["8"], build=NO_BUILD)
    assert outcome.target == Path("yolo11n-halo.yaml")
    assert outcome.summary is None and outcome.transfer is None
    assert outcome.edit.inserted == [9]
    text = (in_tmp / "yolo11n-halo.yaml").read_text(encoding="utf-8")
    first, _, rest = text.partition("\n")
    match = HEADER.match(first)
    assert match is not None, first
    assert (match["base"], match["by"]) == ("yolo11n", "insert halo --after 8")
    assert rest == outcome.edit.dump()


def test_no_provenance_writes_the_edited_text_only(in_tmp):
    outcome = insert("yolo11n", "halo", before=["Detect"], write=WriteOptions(output="x.yaml", provenance=False),
                     build=NO_BUILD)
    assert outcome.target == Path("x.yaml")
    assert (in_tmp / "x.yaml").read_text(encoding="utf-8") == outcome.edit.dump()
    assert outcome.edit.dump() == compose_insert("yolo11n", "halo", before=["Detect"]).dump()


def test_dash_writes_the_yaml_to_stdout_and_no_file(in_tmp, capsys):
    outcome = remove("yolo11n", "9", write=WriteOptions(output="-"))
    assert outcome.target is None
    out = capsys.readouterr().out
    assert HEADER.match(out.partition("\n")[0])["by"] == "remove 9"
    assert out.endswith(outcome.edit.dump())
    assert list(in_tmp.iterdir()) == []


def test_an_existing_output_is_refused_before_the_edit_is_written(in_tmp):
    (in_tmp / "yolo11n-halo.yaml").write_text("mine\n", encoding="utf-8")
    with pytest.raises(OutputExistsError, match="exists"):
        insert("yolo11n", "halo", after=["8"], build=NO_BUILD)
    assert (in_tmp / "yolo11n-halo.yaml").read_text(encoding="utf-8") == "mine\n"
    insert("yolo11n", "halo", after=["8"], write=WriteOptions(force=True), build=NO_BUILD)
    assert (in_tmp / "yolo11n-halo.yaml").read_text(encoding="utf-8").startswith("# made by yolo-compose")


def test_replace_without_a_build_says_the_channel_check_waits(in_tmp):
    outcome = replace("yolo11n", "SPPF", "halo", write=WriteOptions(output="r.yaml"), build=NO_BUILD)
    assert outcome.edit.replaced == [9]
    assert any("channel check of layer 9 needs a build" in w for w in outcome.edit.warnings)
    by = HEADER.match((in_tmp / "r.yaml").read_text(encoding="utf-8").partition("\n")[0])["by"]
    assert by == "replace SPPF --with halo"


def test_apply_names_the_recipe_run_and_its_params(in_tmp):
    outcome = apply("attention-after-sppf", base="yolov8s", params={"module": "cbam"}, zero_init=True,
                    build=NO_BUILD)
    assert outcome.target is not None and outcome.edit.inserted
    by = HEADER.match(outcome.target.read_text(encoding="utf-8").partition("\n")[0])["by"]
    assert by == "apply template:attention-after-sppf --set module=cbam --zero-init"


def test_weights_with_stdout_are_refused_when_the_options_are_made():
    with pytest.raises(ComposeError, match="output cannot be stdout") as info:
        WriteOptions(output="-", weights="base.pt")
    assert info.value.param is Param.weights and info.value.hint is Hint.output_file
    assert "-o" not in str(info.value)  # the library names no option; the CLI words it


def test_a_bad_checkpoint_stops_the_edit_and_nothing_is_written(in_tmp):
    (in_tmp / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        insert("yolo11n", "halo", after=["8"], write=WriteOptions(weights="bad.pt"), build=NO_BUILD)
    assert sorted(p.name for p in in_tmp.iterdir()) == ["bad.pt"]


def test_an_existing_checkpoint_output_is_refused_and_the_yaml_is_not_written(in_tmp):
    (in_tmp / "yolo11n-halo.pt").write_bytes(b"mine")
    with pytest.raises(ComposeError, match=r"yolo11n-halo\.pt"):
        insert("yolo11n", "halo", after=["8"], write=WriteOptions(weights="any.pt"), build=NO_BUILD)
    assert sorted(p.name for p in in_tmp.iterdir()) == ["yolo11n-halo.pt"]
    assert (in_tmp / "yolo11n-halo.pt").read_bytes() == b"mine"


@pytest.mark.slow
def test_weights_write_the_yaml_and_the_checkpoint_together(in_tmp, base_pt):
    outcome = insert("yolo11n", "halo", after=["8"], write=WriteOptions(weights=base_pt), build=NO_BUILD)
    assert outcome.transfer is not None
    assert Path(outcome.transfer.report.output).resolve() == (in_tmp / "yolo11n-halo.pt").resolve()
    assert sorted(p.name for p in in_tmp.iterdir()) == ["yolo11n-halo.pt", "yolo11n-halo.yaml"]
    by = HEADER.match((in_tmp / "yolo11n-halo.yaml").read_text(encoding="utf-8").partition("\n")[0])["by"]
    assert by == "insert halo --after 8 --args '[2, 1, 4, 0, true]'"  # zero_init: on with weights


@pytest.mark.slow
def test_a_failed_build_after_the_checkpoint_check_writes_neither_file(in_tmp, base_pt):
    with pytest.raises(BuildError, match="cannot replace C3k2 with HaloAttention"):
        replace("yolo11n", "C3k2:1", "halo", write=WriteOptions(weights=base_pt),
                build=BuildOptions(imgsz=256))
    assert list(in_tmp.iterdir()) == []


def test_an_edit_without_build_or_weights_imports_no_torch(tmp_path):
    result = run_python(
        """
        import json, sys
        from yolo_compose.pipelines.edit import BuildOptions, insert
        outcome = insert("yolo11n", "halo", after=["8"], build=BuildOptions(build=False))
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "ultralytics"))
        print(json.dumps({"target": str(outcome.target), "heavy": heavy}))
        """,
        cwd=tmp_path,
    )
    assert result == {"target": "yolo11n-halo.yaml", "heavy": []}
