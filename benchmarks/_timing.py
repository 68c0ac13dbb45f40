"""Small timing helpers shared by the benchmarks: best-of-N wall time, one process's wall time.

Benchmarks report ratios measured in one run on the same machine; they are not tests and assert
nothing about absolute times.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable


def best_time(fn: Callable[[], object], *, repeat: int = 5, warmup: int = 1) -> float:
    """Best wall time in seconds of `fn()` over `repeat` runs after `warmup` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def command_time(
    argv: list[str], *, env: dict[str, str], cwd: str, ok_codes: tuple[int, ...] = (0,)
) -> float:
    """Wall seconds of one fresh process; exits with its stderr if it ends with another code."""
    start = time.perf_counter()
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode not in ok_codes:
        raise SystemExit(f"{' '.join(argv)} failed:\n{result.stderr[-2000:]}")
    return elapsed
