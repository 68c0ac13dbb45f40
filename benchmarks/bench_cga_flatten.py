"""CascadedGroupAttention and FocusedLinearAttention against naive implementations of the same math.

For C256 20x20 (P5), C128 40x40 (P4) and C64 80x80 (P3) at 640, prints the forward time (batch 1,
eval, no grad), the training-step time (batch 8, forward + backward) and the peak memory of each,
for our module and for a naive reference that computes the same function the way the seed code
does, with the ratio naive / ours (above 1 = ours is better).

* CGA, naive: the same heads, tiles and bias, with the attention written out as
  ``softmax(q^T k * scale + bias) v`` in separate tensor ops instead of
  ``F.scaled_dot_product_attention``.
* FLatten, naive: the seed's token layout: (B, N, C) tokens, separate q and kv Linear layers,
  per-head einsums over (B * heads, N, d) and the depthwise convolution on a rearranged copy.

Times are the best of interleaved runs (ours and naive alternate, so load spikes hit both), on one
torch thread by default (``--threads N`` to change). Peak memory of a training step is its peak
live memory as glibc's malloc counts it, read after every op (``_memory.peak_live_mib``), in a
fresh process after two warm-up steps. Linux (glibc) only.
Run: ``python benchmarks/bench_cga_flatten.py``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch
import torch.nn.functional as F
from _memory import peak_live_mib
from _timing import best_time
from torch import nn

from yolo_compose.modules.efficientvit import CascadedGroupAttention
from yolo_compose.modules.flatten import FocusedLinearAttention

SHAPES = [(256, 20, 20), (128, 40, 40), (64, 80, 80)]  # (C, H, W): P5, P4, P3 at imgsz 640


class NaiveCascadedGroupAttention(CascadedGroupAttention):
    """The same module with the attention of each head written out op by op (seed style)."""

    def attend(self, head, feat, bias, pad_mask, tile):
        _, _, H, W = feat.shape
        if pad_mask is not None:
            bias = bias + pad_mask
        q, k, v = self.qkvs[head](feat).split([self.key_dim, self.key_dim, self.value_dim], dim=1)
        q = self.dws[head](q)
        q, k, v = (self.to_tiles(t, *tile) for t in (q, k, v))  # (B, T, L, c)
        logits = (q @ k.transpose(-1, -2)) * self.scale + bias  # (B, T, L, L)
        out = logits.softmax(dim=-1) @ v  # (B, T, L, d)
        return self.from_tiles(out, H, W, *tile)


class NaiveFocusedLinearAttention(nn.Module):
    """The same function as FocusedLinearAttention, computed in the seed's token layout."""

    def __init__(self, source: FocusedLinearAttention) -> None:
        super().__init__()
        C = source.c1
        weight = source.qkv.weight.detach()[:, :, 0, 0]
        self.heads, self.power = source.heads, source.focusing_factor
        self.q = nn.Linear(C, C, bias=False)
        self.kv = nn.Linear(C, 2 * C, bias=False)
        self.proj = nn.Linear(C, C)
        with torch.no_grad():
            self.q.weight.copy_(weight[:C])
            self.kv.weight.copy_(weight[C:])
            self.proj.weight.copy_(source.proj.weight[:, :, 0, 0])
            self.proj.bias.copy_(source.proj.bias)
        self.dwc = source.dwc
        self.scale = nn.Parameter(source.scale.detach().view(1, 1, C).clone())
        self.positional_encoding = source.positional_encoding

    def focus(self, t: torch.Tensor) -> torch.Tensor:
        t = (F.relu(t) + 1e-6) / F.softplus(self.scale)
        norm = t.norm(dim=-1, keepdim=True)
        t = t**self.power
        return t / t.norm(dim=-1, keepdim=True) * norm

    def split_heads(self, t: torch.Tensor, d: int) -> torch.Tensor:
        B = t.shape[0]
        return t.reshape(B, -1, self.heads, d).transpose(1, 2).reshape(B * self.heads, -1, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, C, H, W = x.shape
        tokens = x.flatten(2).transpose(1, 2)  # (B, N, C)
        q = self.q(tokens)
        k, v = self.kv(tokens).chunk(2, dim=-1)
        position = F.interpolate(self.positional_encoding, size=(H, W), mode="bilinear", align_corners=False)
        k = k + position.flatten(2).transpose(1, 2)
        q, k = self.focus(q), self.focus(k)
        d = C // self.heads
        q, k, v = (self.split_heads(t, d) for t in (q, k, v))  # (B * heads, N, d)
        n = q.shape[1]
        z = 1 / (torch.einsum("bic,bc->bi", q, k.mean(dim=1)) + 1e-6)
        kv = torch.einsum("bjc,bjd->bcd", k, v) / n
        out = torch.einsum("bic,bcd,bi->bid", q, kv, z)
        feature_map = v.transpose(1, 2).reshape(B * self.heads, d, H, W)
        out = out + self.dwc(feature_map).flatten(2).transpose(1, 2)
        out = out.reshape(B, self.heads, n, d).transpose(1, 2).reshape(B, n, C)
        return self.proj(out).transpose(1, 2).reshape(B, C, H, W)


def forward_fn(module: nn.Module, x: torch.Tensor) -> Callable[[], object]:
    def run() -> None:
        with torch.no_grad():
            module(x)

    return run


def train_step_fn(module: nn.Module, x: torch.Tensor) -> Callable[[], object]:
    def run() -> None:
        module.zero_grad(set_to_none=True)
        module(x).square().mean().backward()

    return run


def interleaved_best(fns: list[Callable[[], object]], *, rounds: int, repeat: int) -> list[float]:
    """Best time in ms of each fn, alternating between them every round so load spikes hit both."""
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            best[i] = min(best[i], best_time(fn, repeat=repeat, warmup=1) * 1e3)
    return best


def measure(
    ours: nn.Module,
    naive: nn.Module,
    channels: int,
    height: int,
    width: int,
) -> dict[str, list[float]]:
    """[ours, naive] forward (B1, eval) and training-step (B8) times in ms."""
    x1, x8 = torch.randn(1, channels, height, width), torch.randn(8, channels, height, width)
    forwards = [forward_fn(module.eval(), x1) for module in (ours, naive)]
    steps = [train_step_fn(module.train(), x8) for module in (ours, naive)]
    return {
        "fwd_ms": interleaved_best(forwards, rounds=3, repeat=3),
        "train_ms": interleaved_best(steps, rounds=5, repeat=1),
    }


def measure_memory(name: str, channels: int, height: int, width: int) -> list[float]:
    """[ours, naive] training-step (B8) peak live MiB, in this (fresh) process."""
    ours, naive = dict((n, (o, v)) for n, o, v in pairs(channels))[name]
    x8 = torch.randn(8, channels, height, width)
    steps = [train_step_fn(module.train(), x8) for module in (ours, naive)]
    for step in steps * 2:
        step()  # warm-up: gradient buffers, lazily created state
    return [peak_live_mib(step) for step in steps]


def memory_in_child(name: str, channels: int, height: int, width: int) -> list[float]:
    """Run :func:`measure_memory` in a fresh process, so that earlier cases leave nothing behind."""
    argv = [sys.executable, __file__, "--memory", name, str(channels), str(height), str(width)]
    output = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def pairs(channels: int) -> list[tuple[str, nn.Module, nn.Module]]:
    """(name, ours, naive) with the same weights."""
    cga = CascadedGroupAttention(channels)
    naive_cga = NaiveCascadedGroupAttention(channels)
    naive_cga.load_state_dict(cga.state_dict())
    fla = FocusedLinearAttention(channels)
    return [("CGA", cga, naive_cga), ("FLatten", fla, NaiveFocusedLinearAttention(fla))]


def check_same_function(ours: nn.Module, naive: nn.Module, x: torch.Tensor) -> None:
    """Both implementations must compute the same output, or the comparison means nothing."""
    with torch.no_grad():
        got, want = ours.eval()(x), naive.eval()(x)
    if not torch.allclose(got, want, atol=1e-4, rtol=1e-4):
        raise SystemExit(f"{type(ours).__name__}: naive reference differs by {(got - want).abs().max():.2e}")


def ratio_columns(values: list[float], width: int, digits: int) -> str:
    """'ours naive naive/ours' formatted for one table cell group."""
    ours, naive = values
    return f"{ours:{width}.{digits}f} {naive:8.{digits}f} {naive / max(ours, 1e-9):5.2f}"


def main() -> None:
    torch.manual_seed(0)
    columns = ["fwd B1 ms", "train B8 ms", "train MiB"]
    header = f"{'module':8} {'shape':>12} | " + " | ".join(f"{c:>11} {'naive':>8} {'x':>5}" for c in columns)
    threads = torch.get_num_threads()
    print(f"torch {torch.__version__}, {threads} thread(s); x = naive / ours (> 1: ours better)")
    print(header)
    print("-" * len(header))
    for channels, height, width in SHAPES:
        for name, ours, naive in pairs(channels):
            check_same_function(ours, naive, torch.randn(1, channels, height, width))
            result = measure(ours, naive, channels, height, width)
            cells = [
                ratio_columns(result["fwd_ms"], 11, 2),
                ratio_columns(result["train_ms"], 11, 1),
                ratio_columns(memory_in_child(name, channels, height, width), 11, 1),
            ]
            print(f"{name:8} {f'C{channels} {height}x{width}':>12} | " + " | ".join(cells), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: stable when shared)")
    parser.add_argument("--memory", nargs=4, metavar=("NAME", "C", "H", "W"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.memory:
        name, *sizes = args.memory
        print(json.dumps(measure_memory(name, *map(int, sizes))))
    else:
        main()
