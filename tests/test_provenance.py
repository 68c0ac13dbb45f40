"""The provenance first line of every written model YAML: what it says, that an edit of an edited
file replaces it, that every other byte is the edit's, that ultralytics, the scale guess and our
reader read past it, `--no-provenance`, and `validate`'s drift check of a single command (YC070)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import invoke_cli

from yolo_compose import __version__
from yolo_compose.composer import ModelSpec, compose_insert, guess_scale
from yolo_compose.composer.bases import resolve_base
from yolo_compose.composer.provenance import HEADER, command_edit, text_hash

NO_BUILD = ("--no-build",)
YOLO11N = resolve_base("yolo11n").path.read_text()


def header_and_body(text: str) -> tuple[dict[str, str], str]:
    """The provenance line's fields and the text below it (the line must be there)."""
    first, _, body = text.partition("\n")
    match = HEADER.match(first)
    assert match is not None, first
    return match.groupdict(), body


@pytest.mark.parametrize(
    ("command", "by"),
    [
        (("insert", "halo", "--after", "8"), "insert halo --after 8"),
        (("insert", "cbam", "--before", "Detect", "--args", "[3]"), "insert cbam --before Detect --args '[3]'"),
        (("remove", "-2"), "remove -2"),
        (("replace", "SPPF", "--with", "halo", "--args", "[2, 1]"), "replace SPPF --with halo --args '[2, 1]'"),
    ],
)
def test_every_edit_command_writes_one_header_above_the_edit(tmp_path: Path, command: tuple, by: str) -> None:
    static = () if command[0] == "remove" else NO_BUILD  # remove never builds
    result = invoke_cli(*command, "--base", "yolo11n", *static, "-o", "out-n.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = (tmp_path / "out-n.yaml").read_text()
    fields, body = header_and_body(written)
    assert fields == {"version": __version__, "base": "yolo11n", "hash": text_hash(YOLO11N), "by": by}
    bare = invoke_cli(*command, "--base", "yolo11n", *static, "--no-provenance", "-o", "-", cwd=tmp_path)
    assert bare.returncode == 0, bare.stderr
    assert bare.stdout == body  # the header is the only addition; --no-provenance leaves it out
    assert command_edit(by) is not None and command_edit(by).command_line() == by


def test_stdout_gets_the_header_and_an_edited_file_gets_its_header_replaced(tmp_path: Path) -> None:
    first = invoke_cli("insert", "halo", "--after", "8", "--base", "yolo11n", *NO_BUILD, "-o", "-", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    (tmp_path / "a-n.yaml").write_text(first.stdout)
    second = invoke_cli("insert", "cbam", "--after", "SPPF", "--base", "a-n.yaml", *NO_BUILD, "-o", "-",
                     cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    fields, body = header_and_body(second.stdout)
    assert second.stdout.count("# made by yolo-compose") == 1
    assert fields["base"] == "a-n.yaml" and fields["hash"] == text_hash(first.stdout)
    assert fields["by"] == "insert cbam --after SPPF"
    assert body == compose_insert(tmp_path / "a-n.yaml", "cbam", after="SPPF").dump().partition("\n")[2]


def test_insert_then_remove_gives_back_the_body_and_a_crlf_file_keeps_crlf(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_bytes(YOLO11N.replace("\n", "\r\n").encode())
    assert invoke_cli("insert", "halo", "--after", "8", "--base", "m.yaml", *NO_BUILD, "-o", "m-halo.yaml",
                   cwd=tmp_path).returncode == 0
    back = invoke_cli("remove", "9", "--base", "m-halo.yaml", "-o", "back.yaml", cwd=tmp_path)
    assert back.returncode == 0, back.stderr
    data = (tmp_path / "back.yaml").read_bytes()
    header, _, body = data.partition(b"\r\n")
    assert header.startswith(b"# made by yolo-compose ") and header.endswith(b" by remove 9")
    assert body == (tmp_path / "m.yaml").read_bytes()


def test_ultralytics_the_scale_guess_and_our_reader_read_past_the_header(tmp_path: Path) -> None:
    result = invoke_cli("insert", "halo", "--after", "8", "--base", "yolo11s", *NO_BUILD, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    path = tmp_path / "yolo11s-halo.yaml"
    assert path.read_text().startswith("# made by yolo-compose ") and guess_scale(path) == "s"
    assert ModelSpec.load(path).layers[9].module == "HaloAttention"

    from ultralytics.nn.tasks import DetectionModel  # plain ultralytics, after `import yolo_compose`

    model = DetectionModel(str(path), verbose=False)
    assert model.yaml["scale"] == "s" and type(model.model[9]).__name__ == "HaloAttention"
    assert model.model[0].conv.out_channels == 32  # yolo11s: 64 * width 0.5


def test_validate_reports_a_hand_edit_of_a_command_output_with_file_and_line(tmp_path: Path) -> None:
    assert invoke_cli("insert", "halo", "--after", "8", "--base", "yolo11n", *NO_BUILD, cwd=tmp_path).returncode == 0
    assert invoke_cli("remove", "9", "--base", "yolo11n-halo.yaml", "-o", "back-n.yaml", cwd=tmp_path).returncode == 0
    clean = invoke_cli("validate", "yolo11n-halo.yaml", "back-n.yaml", cwd=tmp_path)
    assert clean.returncode == 0, clean.stdout
    model = tmp_path / "yolo11n-halo.yaml"
    lines = model.read_text().splitlines(keepends=True)
    number = next(k for k, line in enumerate(lines) if "HaloAttention, [" in line)
    lines[number] = lines[number].replace("[2, 1, 4, 0]", "[2, 1, 8, 0]")
    model.write_text("".join(lines))
    drift = invoke_cli("validate", "yolo11n-halo.yaml", cwd=tmp_path)
    assert drift.returncode == 1
    assert (f"yolo11n-halo.yaml:{number + 1}:1: error: this file no longer is what `insert halo --after 8` "
            f"makes from yolo11n (line {number + 1} differs; hand-edited)") in drift.stdout
    assert "[YC070]" in drift.stdout
    # back-n.yaml was made from the file just edited: its base changed, and it says so at line 1
    changed = invoke_cli("validate", "back-n.yaml", cwd=tmp_path)
    assert changed.returncode == 1 and "back-n.yaml:1:1: " in changed.stdout and "the base changed" in changed.stdout


def test_a_base_that_is_gone_gives_no_drift_claim(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(YOLO11N)
    assert invoke_cli("insert", "halo", "--after", "8", "--base", "mine.yaml", *NO_BUILD, "-o", "out.yaml",
                   cwd=tmp_path).returncode == 0
    (tmp_path / "mine.yaml").unlink()
    result = invoke_cli("validate", "out.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
