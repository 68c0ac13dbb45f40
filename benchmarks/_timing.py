"""Small timing helpers shared by the benchmarks: best-of-N wall time and peak memory.

Benchmarks report ratios measured in one run on the same machine; they are not tests and assert
nothing about absolute times.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
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


def median_command_time(argv: list[str], *, repeat: int = 5, env: dict[str, str] | None = None) -> float:
    """Median wall time in seconds of running a command as a fresh process."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def python_command(code: str) -> list[str]:
    """argv for running a snippet in this interpreter."""
    return [sys.executable, "-c", code]
