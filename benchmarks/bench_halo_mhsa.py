"""Speed and memory of HaloAttention and MHSA against naive implementations of the same math.

Run: ``python benchmarks/bench_halo_mhsa.py`` (about 5 minutes on 2 CPU cores).

For each YOLO shape (C256 20x20 = P5, C128 40x40 = P4, C64 80x80 = P3, at 640) it reports:

* forward at batch 1 (eval, no grad) and one training step at batch 8 (forward, backward), best
  wall time of several runs, ours and the reference taking turns so both see the same load;
* the peak memory of one such step: its peak live memory as glibc's malloc counts it, read after
  every op (``_memory.peak_live_mib``), in a fresh process per case after two warm-up steps;
* ratios reference / ours (> 1 means ours is faster or smaller).

The references share the module's weights and are checked to give the same output first:

* ``seed-style`` HaloAttention: the seed's structure (halonet-pytorch) with its mask fixed: cut
  the windows out of the *input* with ``F.unfold``, project k and v per window, explicit logits,
  ``masked_fill`` and softmax;
* ``naive`` MHSA: explicit ``q @ k^T`` plus the relative logits, softmax, ``@ v``.

MHSA is not run at P3 (6,400 tokens): each N x N tensor there is 0.6 GiB per image with 4 heads
(5 GiB at batch 8), which is why the registry recommends it at P5 only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _memory import peak_live_mib
from _timing import best_time

from yolo_compose.modules._common import pad_to_multiple, relative_index
from yolo_compose.modules.botnet import MHSA
from yolo_compose.modules.halo import HaloAttention

SHAPES = [(256, 20), (128, 40), (64, 80)]  # (channels, side): P5, P4, P3 at 640
MHSA_MAX_SIDE = 40
TRAIN_BATCH = 8


class SeedStyleHalo(nn.Module):
    """HaloAttention computed the seed's way (windows of the input, then k/v per window), mask fixed."""

    def __init__(self, module: HaloAttention) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.module
        B, C, H, W = x.shape
        b, h, w, heads, d = m.block, m.halo, m.window, m.heads, m.dim_head
        xp = pad_to_multiple(x, b)
        Hp, Wp = xp.shape[-2:]
        n_h, n_w = Hp // b, Wp // b
        q_in = xp.reshape(B, C, n_h, b, n_w, b).permute(0, 2, 4, 3, 5, 1).reshape(-1, b * b, C)
        kv_in = F.unfold(xp, kernel_size=w, stride=b, padding=h)  # (B, C*w*w, nb)
        kv_in = kv_in.reshape(B, C, w * w, n_h * n_w).permute(0, 3, 2, 1).reshape(-1, w * w, C)
        q = q_in @ m.q.weight[:, :, 0, 0].t()  # (B*nb, b*b, I)
        k, v = (kv_in @ conv.weight[:, :, 0, 0].t() for conv in (m.k, m.v))  # (B*nb, w*w, I) each
        q, k, v = (t.reshape(t.shape[0], t.shape[1], heads, d).transpose(1, 2) for t in (q, k, v))
        q = q * d**-0.5  # (B*nb, heads, b*b, d)
        sim = q @ k.transpose(-1, -2)  # (B*nb, heads, b*b, w*w)
        sim = sim + self._relative_logits(q)
        inside = pad_to_multiple(torch.ones(1, 1, H, W), b)  # 1 inside the image, 0 in the padding
        valid = F.unfold(inside, kernel_size=w, stride=b, padding=h)  # (1, w*w, nb)
        valid = valid[0].t().bool().repeat(B, 1)[:, None, None, :]  # (B*nb, 1, 1, w*w)
        sim = sim.masked_fill(~valid, -torch.finfo(sim.dtype).max)
        out = sim.softmax(dim=-1) @ v  # (B*nb, heads, b*b, d)
        out = out.transpose(1, 2).reshape(B, n_h, n_w, b, b, heads * d)
        out = out @ m.out.weight[:, :, 0, 0].t() + m.out.bias  # (B, nH, nW, b, b, C)
        out = out.permute(0, 5, 1, 3, 2, 4).reshape(B, C, Hp, Wp)
        return out[:, :, :H, :W]

    def _relative_logits(self, q: torch.Tensor) -> torch.Tensor:
        m = self.module
        b, w = m.block, m.window
        index = relative_index(b, w, b - 1)
        qb = q.reshape(*q.shape[:2], b, b, m.dim_head)
        logits_h = torch.einsum("nkyxd,yjd->nkyxj", qb, m.rel_height[index])  # seed: rel_to_abs
        logits_w = torch.einsum("nkyxd,xjd->nkyxj", qb, m.rel_width[index])
        return (logits_h.unsqueeze(-1) + logits_w.unsqueeze(-2)).reshape(*q.shape[:2], b * b, w * w)


class NaiveMHSA(nn.Module):
    """MHSA with an explicit softmax: q k^T / sqrt(d) + relative logits, softmax, times v."""

    def __init__(self, module: MHSA) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.module
        B, C, H, W = x.shape
        q, k, v = (conv(x).reshape(B, m.heads, m.dim_head, H * W).transpose(2, 3) for conv in (m.q, m.k, m.v))
        q = q * m.dim_head**-0.5
        rel_h = m.table(m.rel_height, H)[relative_index(H, H, H - 1)]  # (H, H, d)
        rel_w = m.table(m.rel_width, W)[relative_index(W, W, W - 1)]  # (W, W, d)
        qg = q.reshape(B, m.heads, H, W, m.dim_head)
        position = torch.einsum("bnyxd,yjd->bnyxj", qg, rel_h).unsqueeze(-1) + torch.einsum(
            "bnyxd,xkd->bnyxk", qg, rel_w
        ).unsqueeze(-2)
        logits = q @ k.transpose(-1, -2) + position.reshape(B, m.heads, H * W, H * W)
        out = logits.softmax(dim=-1) @ v  # (B, heads, N, d)
        return out.transpose(2, 3).reshape(B, C, H, W)


def build(module_name: str, impl: str, channels: int, side: int) -> nn.Module:
    """Our module or its reference wrapper around the same weights."""
    torch.manual_seed(0)
    if module_name == "halo":
        ours: nn.Module = HaloAttention(channels)
        return ours if impl == "ours" else SeedStyleHalo(ours)
    ours = MHSA(channels, side, side)
    return ours if impl == "ours" else NaiveMHSA(ours)


def step(module: nn.Module, mode: str, x: torch.Tensor) -> Callable[[], None]:
    """A closure running one forward (eval, no grad) or one training step (forward + backward)."""
    if mode == "forward":
        module.eval()

        def run() -> None:
            with torch.no_grad():
                module(x)

        return run
    module.train()

    def run() -> None:
        module.zero_grad(set_to_none=True)
        module(x).square().mean().backward()

    return run


def case_input(mode: str, channels: int, side: int) -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randn(1 if mode == "forward" else TRAIN_BATCH, channels, side, side)


def measure_memory_here(module_name: str, impl: str, mode: str, channels: int, side: int) -> float:
    """Peak live memory (MiB) of one step after two warm-up steps, in this (fresh) process."""
    run = step(build(module_name, impl, channels, side), mode, case_input(mode, channels, side))
    run()  # warm-up: gradient buffers, lazily built state
    run()
    return peak_live_mib(run)


def measure_memory(module_name: str, impl: str, mode: str, channels: int, side: int) -> float:
    """Peak memory of one step, measured in a fresh process so that earlier cases do not hide it."""
    argv = [sys.executable, __file__, "--memory-case", module_name, impl, mode, str(channels), str(side)]
    argv += ["--threads", str(torch.get_num_threads())]
    result = subprocess.run(argv, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])["mib"]


def check_same_output(module_name: str, channels: int, side: int) -> float:
    """Max abs difference between ours and the reference on one input (they must agree)."""
    ours, reference = build(module_name, "ours", channels, side), build(module_name, "ref", channels, side)
    x = case_input("forward", channels, side)
    with torch.no_grad():
        diff = (ours.eval()(x) - reference.eval()(x)).abs().max().item()
    if diff > 1e-4:
        raise AssertionError(f"{module_name}: reference and ours differ by {diff:.2e} at C{channels} {side}")
    return diff


def interleaved_best_times(runs: dict[str, Callable[[], None]], repeat: int) -> dict[str, float]:
    """Best wall time of each closure, running them in turn so that both see the same machine load."""
    best = {name: best_time(run, repeat=1) for name, run in runs.items()}  # includes one warm-up
    for _ in range(repeat - 1):
        for name, run in runs.items():
            best[name] = min(best[name], best_time(run, repeat=1, warmup=0))
    return best


def run_case(module_name: str, mode: str, channels: int, side: int, repeat: int) -> dict[str, float]:
    """Times and peak memory of ours and the reference for one shape and mode."""
    runs = {
        impl: step(build(module_name, impl, channels, side), mode, case_input(mode, channels, side))
        for impl in ("ours", "ref")
    }
    times = interleaved_best_times(runs, repeat)
    memory = {impl: measure_memory(module_name, impl, mode, channels, side) for impl in ("ours", "ref")}
    return {
        "ours_ms": 1000 * times["ours"],
        "ref_ms": 1000 * times["ref"],
        "speedup": times["ref"] / times["ours"],
        "ours_mib": memory["ours"],
        "ref_mib": memory["ref"],
        "memory_ratio": memory["ref"] / max(memory["ours"], 1e-3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per case (best is kept)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1: steadier ratios)")
    parser.add_argument("--memory-case", nargs=5, metavar=("MODULE", "IMPL", "MODE", "C", "SIDE"))
    args = parser.parse_args()
    if args.memory_case:
        torch.set_num_threads(args.threads)
        module_name, impl, mode, channels, side = args.memory_case
        print(json.dumps({"mib": measure_memory_here(module_name, impl, mode, int(channels), int(side))}))
        return
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; ratio = reference / ours")
    header = f"{'module':<6} {'reference':<11} {'shape':<12} {'mode':<9} {'ours ms':>9} {'ref ms':>9}"
    print(header + f" {'speedup':>8} {'ours MiB':>9} {'ref MiB':>9} {'mem ratio':>9}")
    for module_name, reference in (("halo", "seed-style"), ("mhsa", "naive")):
        for channels, side in SHAPES:
            if module_name == "mhsa" and side > MHSA_MAX_SIDE:
                continue
            check_same_output(module_name, channels, side)
            for mode in ("forward", "train"):
                r = run_case(module_name, mode, channels, side, args.repeat)
                batch = 1 if mode == "forward" else TRAIN_BATCH
                shape = f"C{channels} {side}x{side}"
                print(
                    f"{module_name:<6} {reference:<11} {shape:<12} {mode + f' B{batch}':<9} "
                    f"{r['ours_ms']:>9.2f} {r['ref_ms']:>9.2f} {r['speedup']:>7.2f}x "
                    f"{r['ours_mib']:>9.1f} {r['ref_mib']:>9.1f} {r['memory_ratio']:>8.2f}x",
                    flush=True,
                )


if __name__ == "__main__":
    main()
