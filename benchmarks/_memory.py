"""Peak live memory of one call, as the C allocator counts it: shared by the module benchmarks.

The rise of the process's peak resident set size (``VmHWM``), used before, mostly measured how
much memory the allocator happened to take fresh from the OS rather than reuse, so it moved
between runs (one step measured 0.48x and 2.3x on two runs). Here the bytes that glibc's
``malloc`` has handed out and not yet freed (``mallinfo2``: heap chunks in use plus mmapped
blocks, where every CPU tensor lives) are read after every aten op of the call, through a
``TorchDispatchMode``; the peak minus the value before the call is its peak live memory.
Temporaries freed inside one op are not seen. Linux with glibc 2.33 or newer.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
            "keepcost",
        )
    ]


def _mallinfo2() -> Callable[[], _MallInfo2]:
    libc = ctypes.CDLL("libc.so.6")
    try:
        function = libc.mallinfo2
    except AttributeError as exc:
        raise SystemExit("peak memory needs glibc 2.33 or newer (mallinfo2)") from exc
    function.restype = _MallInfo2
    return function


_MALLINFO2 = _mallinfo2()


def bytes_in_use() -> int:
    """Bytes allocated by malloc and not yet freed: heap chunks in use plus mmapped blocks."""
    info = _MALLINFO2()
    return info.uordblks + info.hblkhd


class _PeakAfterEachOp(TorchDispatchMode):
    """Records the largest ``bytes_in_use()`` seen after any aten op, backward ops included."""

    def __init__(self) -> None:
        super().__init__()
        self.peak = bytes_in_use()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        self.peak = max(self.peak, bytes_in_use())
        return result


def _warm_up_the_mode() -> None:
    """Enter the mode once: its first use builds about 25 MiB of dispatch state, once per process."""
    with _PeakAfterEachOp():
        torch.zeros(1).add(1)


def peak_live_mib(fn: Callable[[], object]) -> float:
    """Peak live memory (MiB) of one ``fn()`` above what was live before it.

    Run ``fn`` once or twice before so that lazily built state (gradient buffers, kernels' caches)
    does not count as the step's memory.
    """
    _warm_up_the_mode()
    before = bytes_in_use()
    with _PeakAfterEachOp() as mode:
        fn()
    return (mode.peak - before) / 2**20
