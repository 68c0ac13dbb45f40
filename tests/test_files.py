"""Files are read and written safely: real processes, real FIFOs, sockets, links and modes.

- Creating an output is itself exclusive: of 8 racing `insert -o out/o.yaml`, exactly one wins.
- A symlink is written through; FIFOs, sockets and devices are refused with one line.
- A new file gets the umask's mode; a replaced file keeps its own.
- Inputs that are not regular files (FIFO, /dev/zero, socket) get one line at once; `-` is stdin.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import invoke_cli, one_error_line, run_cli

from yolo_compose.composer import ModelSpec
from yolo_compose.composer.bases import resolve_base
from yolo_compose.composer.files import output_problem, read_input, write_output
from yolo_compose.errors import FileAccessError, OutputExistsError

INSERT = ("insert", "halo", "--after", "8", "--base", "yolo11n", "--no-build")
HANG_GUARD_S = 60  # subprocess timeout: a hang fails the test; no timing is asserted
YOLO11N = resolve_base("yolo11n").path.read_text(encoding="utf-8")


# --- writing ------------------------------------------------------------------------------------


def test_eight_concurrent_inserts_without_force_one_wins(tmp_path: Path):
    (tmp_path / "out").mkdir()
    command = [sys.executable, "-m", "yolo_compose", *INSERT, "-o", "out/o.yaml"]
    runs = [
        subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(8)
    ]
    results = [(run.wait(timeout=HANG_GUARD_S), *run.communicate()) for run in runs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0] + [2] * 7, results
    for code, _stdout, stderr in results:
        if code == 2:
            assert len(stderr.splitlines()) == 1 and "out/o.yaml" in stderr and "exists" in stderr, stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["o.yaml"]  # no temp file left
    expected = invoke_cli(*INSERT, "-o", "-", cwd=tmp_path).stdout
    assert (tmp_path / "out" / "o.yaml").read_text() == expected


def test_output_through_a_symlink_writes_its_target(tmp_path: Path):
    target = tmp_path / "real.yaml"
    target.write_text("old\n")
    (tmp_path / "link.yaml").symlink_to("real.yaml")
    result = invoke_cli(*INSERT, "-o", "link.yaml", "--force", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "link.yaml").is_symlink()
    assert "HaloAttention" in target.read_text()


@pytest.mark.parametrize("force", [False, True])
def test_output_to_a_fifo_is_refused(tmp_path: Path, force: bool):
    os.mkfifo(tmp_path / "pipe.yaml")
    result = run_cli(*INSERT, "-o", "pipe.yaml", *(["--force"] if force else []), cwd=tmp_path,
                     timeout=HANG_GUARD_S)
    one_error_line(result, "pipe.yaml")
    assert stat.S_ISFIFO((tmp_path / "pipe.yaml").lstat().st_mode)


def test_output_to_a_socket_is_refused(tmp_path: Path):
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "sock.yaml"))
        result = run_cli(*INSERT, "-o", "sock.yaml", "--force", cwd=tmp_path, timeout=HANG_GUARD_S)
    one_error_line(result, "sock.yaml", "socket")
    assert stat.S_ISSOCK((tmp_path / "sock.yaml").lstat().st_mode)


def test_devices_are_never_output_files():
    """Checked without writing: as root, `-o /dev/null --force` used to replace the device."""
    assert "character device" in output_problem("/dev/null")
    with pytest.raises(FileAccessError, match="character device"):
        write_output("/dev/null", "x", force=True)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_new_file_gets_the_umask_mode(tmp_path: Path):
    old = os.umask(0o022)
    try:
        write_output(tmp_path / "a.yaml", "a\n", force=False)
        os.umask(0o027)
        write_output(tmp_path / "b.yaml", "b\n", force=False)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.yaml").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "b.yaml").stat().st_mode) == 0o640


def test_a_replaced_file_keeps_its_mode(tmp_path: Path):
    path = tmp_path / "m.yaml"
    path.write_text("old\n")
    path.chmod(0o775)
    result = invoke_cli(*INSERT, "-o", "m.yaml", "--force", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o775


def test_exclusive_create_refuses_an_existing_name(tmp_path: Path):
    (tmp_path / "x.yaml").write_text("mine\n")
    with pytest.raises(OutputExistsError, match="exists"):
        write_output(tmp_path / "x.yaml", "theirs\n", force=False)
    assert (tmp_path / "x.yaml").read_text() == "mine\n"


def _stale_comment_model() -> str:
    lines = YOLO11N.splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.rstrip().endswith("# 3-P3/8"))
    lines[index] = lines[index].replace("# 3-P3/8", "# 4-P3/8")
    return "".join(lines)


def test_fix_keeps_the_mode_and_writes_through_a_symlink(tmp_path: Path):
    real = tmp_path / "real.yaml"
    real.write_text(_stale_comment_model())
    real.chmod(0o775)
    (tmp_path / "yolo11n-link.yaml").symlink_to("real.yaml")
    result = invoke_cli("validate", "yolo11n-link.yaml", "--fix", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "yolo11n-link.yaml").is_symlink()
    assert "# 3-P3/8" in real.read_text() and "# 4-P3/8" not in real.read_text()
    assert stat.S_IMODE(real.stat().st_mode) == 0o775


# --- reading ------------------------------------------------------------------------------------


def test_validate_dev_zero_is_one_line():
    result = run_cli("validate", "/dev/zero", timeout=HANG_GUARD_S)
    assert result.returncode == 1, result.stderr
    assert result.stdout == "/dev/zero:1:1: error: is a character device, not a YAML file [YC001]\n"


def test_validate_a_fifo_is_one_line_without_blocking(tmp_path: Path):
    os.mkfifo(tmp_path / "pipe.yaml")  # nobody ever writes to it
    result = run_cli("validate", "pipe.yaml", cwd=tmp_path, timeout=HANG_GUARD_S)
    assert result.stdout == "pipe.yaml:1:1: error: is a FIFO (named pipe), not a YAML file [YC001]\n"


def test_insert_with_a_fifo_base_is_one_line(tmp_path: Path):
    os.mkfifo(tmp_path / "pipe.yaml")
    result = run_cli("insert", "halo", "--after", "8", "--base", "./pipe.yaml", "--no-build", "-o", "-",
                     cwd=tmp_path, timeout=HANG_GUARD_S)
    one_error_line(result, "pipe.yaml", "FIFO")


def test_read_input_refuses_a_socket(tmp_path: Path):
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "s.yaml"))
        with pytest.raises(FileAccessError, match="socket"):
            read_input(tmp_path / "s.yaml")


def test_stdin_is_read_with_a_bound():
    import io

    with pytest.raises(FileAccessError, match="a model YAML is expected under"):
        read_input("-", stdin=io.BytesIO(b"#" * (3 * 1024 * 1024)))
    assert read_input("-", stdin=io.BytesIO(b"a: 1\n")) == ("a: 1\n", "<stdin>")


def test_insert_and_remove_read_the_base_from_stdin(tmp_path: Path):
    inserted = run_cli("insert", "halo", "--after", "8", "--base", "-", "--no-build", "-o", "-",
                       "--no-provenance", input=YOLO11N, cwd=tmp_path)
    assert inserted.returncode == 0, inserted.stderr
    assert "HaloAttention" in inserted.stdout
    removed = run_cli("remove", "9", "--base", "-", "-o", "-", "--no-provenance", input=inserted.stdout,
                      cwd=tmp_path)
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout == YOLO11N


def test_stdin_errors_name_stdin(tmp_path: Path):
    result = run_cli("remove", "99", "--base", "-", "-o", "-", input=YOLO11N, cwd=tmp_path)
    one_error_line(result, "<stdin>")


def test_validate_reads_stdin(tmp_path: Path):
    result = run_cli("validate", "-", input=_stale_comment_model(), cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith("<stdin>:") and "[YC051]" in result.stdout
    fixed = run_cli("validate", "-", "--fix", input=_stale_comment_model(), cwd=tmp_path)
    assert "[YC051]" in fixed.stdout and sorted(os.listdir(tmp_path)) == []  # nothing written


@pytest.mark.slow
def test_a_file_of_51_000_real_layers_is_read_as_a_model_not_an_alias_bomb(tmp_path: Path):
    """A large plain file is a model like any other (the reader counts alias expansion only where
    aliases exist): it is checked, and nothing calls it an alias bomb."""
    rows = "".join("  - [-1, 1, Conv, [8, 3, 1]]\n" for _ in range(51_070))
    text = f"nc: 1\nbackbone:\n{rows}head:\n  - [[-1], 1, Detect, [nc]]\n"
    assert len(text.encode()) < 2 * 1024 * 1024
    (tmp_path / "big.yaml").write_text(text)
    result = run_cli("validate", "big.yaml", cwd=tmp_path, timeout=HANG_GUARD_S * 3)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "alias" not in result.stdout + result.stderr
    assert result.stderr.strip() == "0 errors, 0 warnings in 1 model file"


def test_spec_load_goes_through_the_same_checks(tmp_path: Path):
    os.mkfifo(tmp_path / "p.yaml")
    with pytest.raises(FileAccessError, match="FIFO"):
        ModelSpec.load(tmp_path / "p.yaml")
