"""`yolo-compose validate`: the lint tier for every file, then (with --build) a build tier per file.

The build tier builds each model YAML that passed the lint tier with ultralytics and runs forward
passes at 256 (the stride probe of ``DetectionModel``), at ``imgsz`` and at a rectangular size
(validation batches are rectangular). Each file is built in a *child process*:

* ``ULTRALYTICS_SAFE_LOAD=1`` — ultralytics' restricted mode: ``activation:`` is never given to
  ``eval()`` and only ``nn.Module`` classes may be named as layers. (The lint tier already refused
  both; the child is the second wall, not the first.)
* ``YOLO_OFFLINE=1`` and ``YOLO_AUTOINSTALL=False`` — no network, no ``pip install``.
* a memory limit (``RLIMIT_AS``, set in the child before torch is imported) and a wall-clock
  limit (the parent kills the child's whole process group), so a YAML asking for 10^8 channels
  fails within the limits instead of taking the machine down. The child also keeps the time
  limit itself (``SIGALRM`` a little after the parent's) and dies with its parent (Linux
  ``PR_SET_PDEATHSIG``); a Ctrl-C in the parent kills the child's process group before exiting.
* the YAML *text* is sent on stdin: nothing is read from a path named inside the YAML, and no
  checkpoint is loaded.

This module imports no torch: the parent only starts children. ``python -m
yolo_compose.validate_build`` is the child's entry point.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .composer.lint import FileReport, Finding, FindingCounts, clip, fix_file, lint_paths
from .composer.naming import choose_scale
from .integration import probe_sizes

#: Where a build child's verdict says it stopped: building, the forward passes, or a limit (time,
#: memory); the verdict's "stage" field, and the finding code it maps to (YC060/YC061/YC062).
BuildStage = Literal["build", "forward", "limit"]
_STAGE_CODES: dict[BuildStage, str] = {"build": "YC060", "forward": "YC061", "limit": "YC062"}
DEFAULT_IMGSZ = 640
DEFAULT_TIMEOUT_S = 300.0  # per file, all its scales; yolo11x (build + 3 sizes) took 10 s on 2 cores
DEFAULT_MEMORY_MB = 8_192  # address space: torch + ultralytics map ~3.5 GB; yolo11x at 640 fits
#: Seconds the child's own alarm waits beyond the parent's limit (the parent normally acts first).
CHILD_GRACE_S = 5
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


@dataclass
class ValidationResult(FindingCounts):
    """Every file's report after lint, fixes and builds, and the exit code they add up to."""

    reports: list[FileReport]
    strict: bool = False
    fixed: int = 0
    built: int = 0

    @property
    def findings(self) -> list[Finding]:
        """Every finding, file by file."""
        return [finding for report in self.reports for finding in report.findings]

    @property
    def exit_code(self) -> int:
        """1 when an error was found (or a warning under --strict), else 0."""
        return 1 if self.errors or (self.strict and self.warnings) else 0


@dataclass(frozen=True)
class BuildOptions:
    """What the build tier builds and within which limits."""

    scale: str | None = None  # force this scale (where the file has scales)
    all_scales: bool = False
    imgsz: int = DEFAULT_IMGSZ
    timeout_s: float = DEFAULT_TIMEOUT_S
    memory_mb: int = DEFAULT_MEMORY_MB
    extra_imports: tuple[str, ...] = field(default_factory=tuple)  # --import modules, for the child


def scales_to_build(report: FileReport, options: BuildOptions) -> list[str | None]:
    """Scales of one file to build: all, the forced one, or the one ultralytics would take."""
    if not report.scales:
        return [None]
    if options.all_scales:
        return list(report.scales)
    if options.scale is not None:
        return [options.scale] if options.scale in report.scales else []
    return [choose_scale(report.scales, name=report.path)]  # not among them: the build says so


def validate(
    paths: Sequence[str | Path],
    *,
    fix: bool = False,
    strict: bool = False,
    build: bool = False,
    options: BuildOptions | None = None,
) -> ValidationResult:
    """Lint every file, fix stale index comments if asked, then build the clean models if asked."""
    result = ValidationResult(lint_paths(paths), strict=strict)
    if fix:
        result.fixed = sum(fix_file(report) for report in result.reports)
    if build:
        options = options or BuildOptions()
        for report in result.reports:
            result.built += build_report(report, options)
    return result


def build_report(report: FileReport, options: BuildOptions) -> int:
    """Build one linted file (skipped when it is not a model or has lint errors); returns builds run."""
    if not report.is_model or report.errors or report.text is None:
        return 0
    downloads = [f for f in report.findings if f.code == "YC034"]
    if downloads:
        message = "not built: it would download and load pretrained weights (see YC034); use weights null"
        report.findings.append(Finding(report.path, downloads[0].line, downloads[0].col, "YC063", message))
        return 0
    scales = scales_to_build(report, options)
    if not scales:
        message = f"scale {options.scale!r} is not one of the file's scales: {', '.join(report.scales)}"
        report.findings.append(Finding(report.path, 1, 1, "YC060", message))
        return 0
    outcome = run_child(
        {
            "parent_pid": os.getpid(),
            "timeout_s": options.timeout_s,
            "text": report.text,
            "source_name": report.path,
            "scales": scales,
            "sizes": probe_sizes(options.imgsz),
            "memory_mb": options.memory_mb,
            "imports": list(options.extra_imports),
        },
        timeout_s=options.timeout_s,
    )
    report.findings.extend(_outcome_findings(report, outcome, options))
    return len(scales)


# --- parent side: start the child, read its verdict -----------------------------------------------


def child_env(workdir: str) -> dict[str, str]:
    """The child's environment: restricted mode, offline, no AutoInstall, a private config dir."""
    env = dict(os.environ)
    env.update(
        {
            "ULTRALYTICS_SAFE_LOAD": "1",
            "YOLO_OFFLINE": "1",
            "YOLO_AUTOINSTALL": "False",
            "YOLO_CONFIG_DIR": os.path.join(workdir, "config"),  # settings written here are thrown away
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def run_child(request: dict[str, Any], *, timeout_s: float) -> dict[str, Any]:
    """Run one build request in a child process; always returns a verdict dict, never hangs."""
    with tempfile.TemporaryDirectory(prefix="yolo-compose-build-") as workdir:
        process = subprocess.Popen(
            [sys.executable, "-m", "yolo_compose.validate_build"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=workdir,
            env=child_env(workdir),
            start_new_session=True,  # its own process group, so a timeout kills all of it
        )
        try:
            stdout, stderr = process.communicate(json.dumps(request), timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            message = f"build took longer than {timeout_s:g} s; stopped"
            return {"ok": False, "stage": "limit", "message": message}
        except BaseException:  # Ctrl-C (KeyboardInterrupt) or any other way out: the build goes too
            _kill_group(process)
            raise
    return _parse_verdict(process.returncode, stdout, stderr)


def _kill_group(process: subprocess.Popen[str]) -> None:
    """Kill the child and everything it started, then reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


def _parse_verdict(returncode: int, stdout: str, stderr: str) -> dict[str, Any]:
    """The child's JSON verdict (its last stdout line), or a verdict describing how it died."""
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            try:
                verdict = json.loads(line)
            except json.JSONDecodeError:
                break
            if isinstance(verdict, dict):
                return verdict
            break
    if returncode == -signal.SIGALRM:
        return {"ok": False, "stage": "limit", "message": "build took longer than its time limit; stopped"}
    if returncode < 0:
        name = signal.Signals(-returncode).name
        return {"ok": False, "stage": "limit", "message": f"build process killed by {name} (memory limit?)"}
    last = next((ln for ln in reversed(stderr.strip().splitlines()) if ln.strip()), "no output")
    return {"ok": False, "stage": "build", "message": f"build process exited with {returncode}: {last}"}


def _outcome_findings(report: FileReport, verdict: dict[str, Any], options: BuildOptions) -> list[Finding]:
    """Turn a child verdict into findings placed on the failing layer's line when known."""
    if verdict.get("ok"):
        return []
    stage = verdict.get("stage", "build")
    code = _STAGE_CODES.get(stage, "YC060")
    message = str(verdict.get("message", "build failed"))
    if stage == "limit" and "memory" in message.lower():
        message += f" (limit {options.memory_mb:,} MB)"
    layer = verdict.get("layer")
    line = report.layer_lines.get(layer, 1) if isinstance(layer, int) else 1
    scale = verdict.get("scale")
    prefix = f"layer {layer}: " if isinstance(layer, int) else ""
    prefix += f"scale {scale}: " if scale and f"scale {scale}" not in message else ""
    return [Finding(report.path, line, 1, code, clip(f"{prefix}{message}"))]


# --- child side: limits first, then torch ------------------------------------------------------------


def _die_with_parent(parent_pid: int | None) -> None:
    """Ask Linux to SIGKILL this process when its parent dies; exit now if it already has."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)  # the parent went before the request was read: nobody waits for a verdict


def _limit_time(timeout_s: float | None) -> None:
    """The child's own wall-clock limit: SIGALRM (default action: terminate) after timeout + grace."""
    if timeout_s is not None and hasattr(signal, "alarm"):
        signal.alarm(math.ceil(timeout_s) + CHILD_GRACE_S)


def _limit_memory(memory_mb: int) -> None:
    """Cap the child's address space before torch is imported (Linux/macOS; a no-op elsewhere)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _is_memory_error(exc: BaseException) -> bool:
    """True for Python's MemoryError and torch's allocator failures."""
    text = str(exc).lower()
    return isinstance(exc, MemoryError) or "can't allocate memory" in text or "not enough memory" in text


def _build_all(request: dict[str, Any]) -> dict[str, Any]:
    """Build every requested scale and run its forward passes; the verdict names what failed."""
    import importlib

    import yolo_compose  # noqa: F401  (registers our modules with ultralytics once it is imported)

    for name in request.get("imports", []):
        importlib.import_module(name)
    from .build import build_model, check_forward

    sizes = [tuple(size) for size in request["sizes"]]
    for scale in request["scales"]:
        stage: BuildStage = "build"
        try:
            model = build_model(request["text"], source_name=request["source_name"], scale=scale)
            stage = "forward"
            check_forward(model, sizes)
        except Exception as exc:  # report any failure of a build as a finding, never a traceback
            return _failure(exc, stage, scale, request["source_name"])
        del model
    return {"ok": True}


def _failure(exc: BaseException, stage: BuildStage, scale: str | None, source_name: str) -> dict[str, Any]:
    """A verdict for an exception raised while building or running a model."""
    if _is_memory_error(exc):
        return {"ok": False, "stage": "limit", "scale": scale, "message": "build ran out of memory"}
    message = str(getattr(exc, "message", "") or exc).strip().splitlines()
    text = message[0] if message else type(exc).__name__
    if text.startswith(f"{source_name}: "):
        text = text[len(source_name) + 2 :]
    if not getattr(exc, "message", None):
        text = f"{type(exc).__name__}: {text}"
    layer = getattr(exc, "layer", None)
    return {"ok": False, "stage": stage, "scale": scale, "layer": layer, "message": text}


def child_main(stdin: Iterable[str] | None = None) -> int:
    """Entry point of the build child: read one JSON request, print one JSON verdict."""
    from .integration import prepare_process

    prepare_process()
    request = json.loads("".join(stdin if stdin is not None else sys.stdin))
    _die_with_parent(request.get("parent_pid"))
    _limit_time(request.get("timeout_s"))
    _limit_memory(int(request["memory_mb"]))
    try:
        verdict = _build_all(request)
    except MemoryError:
        verdict = {"ok": False, "stage": "limit", "message": "build ran out of memory"}
    except Exception as exc:  # an --import module or the set-up failed: still one line, no traceback
        verdict = {"ok": False, "stage": "build", "message": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write("\n" + json.dumps(verdict) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(child_main())
