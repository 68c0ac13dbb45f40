"""HaloAttention: equals a per-pixel reference written from the HaloNet equations, at any size."""

from __future__ import annotations

import math

import pytest
import torch
from _paths import FORCED_PATHS, PathSpy
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from yolo_compose.modules import _common, _halo_kernel
from yolo_compose.modules._halo_kernel import WindowAttention
from yolo_compose.modules.halo import HaloAttention, halo_macs


def naive_halo(module: HaloAttention, x: torch.Tensor) -> torch.Tensor:
    """HaloNet attention pixel by pixel: explicit window, explicit logits, explicit softmax.

    Query (y, x) lies in block (y // b, x // b); its keys are the pixels (Y, X) of the image inside
    the block grown by the halo on every side. logit = (q.k + q.r_h[Y - y] + q.r_w[X - x]) / sqrt(d).
    """
    B, _, H, W = x.shape
    b, h, heads, d = module.block, module.halo, module.heads, module.dim_head
    q = module.q(x).reshape(B, heads, d, H, W)
    k, v = (layer(x).reshape(B, heads, d, H, W) for layer in (module.k, module.v))
    # relative table row of an offset Y - y (or X - x): offset + halo + block - 1
    row = h + b - 1
    out = torch.zeros(B, heads, d, H, W, dtype=x.dtype)
    for yy in range(H):
        for xx in range(W):
            y0, x0 = (yy // b) * b - h, (xx // b) * b - h
            keys = [
                (ky, kx)
                for ky in range(max(y0, 0), min(y0 + b + 2 * h, H))
                for kx in range(max(x0, 0), min(x0 + b + 2 * h, W))
            ]
            qi = q[:, :, :, yy, xx]  # (B, heads, d)
            logits = (
                torch.stack(
                    [
                        (qi * k[:, :, :, ky, kx]).sum(-1)
                        + (qi * module.rel_height[ky - yy + row]).sum(-1)
                        + (qi * module.rel_width[kx - xx + row]).sum(-1)
                        for ky, kx in keys
                    ],
                    dim=-1,
                )
                / d**0.5
            )  # (B, heads, n_keys)
            weights = logits.exp() / logits.exp().sum(-1, keepdim=True)
            values = torch.stack([v[:, :, :, ky, kx] for ky, kx in keys], dim=-1)  # (B, heads, d, n)
            out[:, :, :, yy, xx] = (values * weights.unsqueeze(2)).sum(-1)
    return module.out(out.reshape(B, heads * d, H, W))


@pytest.mark.parametrize(
    ("height", "width", "block", "halo"),
    [(6, 6, 2, 1), (5, 7, 2, 1), (7, 4, 3, 2), (4, 4, 4, 0), (3, 5, 2, 3)],
)
@pytest.mark.parametrize("path", FORCED_PATHS)
def test_matches_naive_reference(
    height: int, width: int, block: int, halo: int, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each attention path (CPU kernel, SDPA, plain ops), with autograd on and off, against float64."""
    spy = PathSpy(monkeypatch)
    torch.manual_seed(0)
    module = HaloAttention(16, block, halo, heads=2).double().eval()
    module.attention_path = path
    x = torch.randn(2, 16, height, width, dtype=torch.float64)
    want = naive_halo(module, x)
    got_training = module(x)
    with torch.no_grad():
        got_inference = module(x)
    assert spy.taken() == {path}
    for got in (got_training, got_inference):
        assert torch.allclose(got, want, atol=1e-10), f"{path}: max diff {(got - want).abs().max():.2e}"


@pytest.mark.parametrize(("block", "halo"), [(2, 1), (3, 2), (4, 1), (1, 1), (2, 0)])
@pytest.mark.parametrize("path", FORCED_PATHS)
def test_training_gradients_match_naive_reference(
    block: int, halo: int, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every path's gradients (the kernel's hand-written backward included) equal the reference's."""
    spy = PathSpy(monkeypatch)
    torch.manual_seed(0)
    module = HaloAttention(8, block, halo, heads=2).double()
    module.attention_path = path
    x = torch.randn(2, 8, 7, 5, dtype=torch.float64, requires_grad=True)
    grad = torch.randn(2, 8, 7, 5, dtype=torch.float64)
    inputs = [x, *module.parameters()]
    got = torch.autograd.grad(module(x), inputs, grad)
    assert spy.taken() == {path}
    want = torch.autograd.grad(naive_halo(module, x), inputs, grad)
    for name, mine, theirs in zip(["x", *dict(module.named_parameters())], got, want, strict=True):
        diff = (mine - theirs).abs().max()
        assert torch.allclose(mine, theirs, atol=1e-8), f"{path}, {name}: max diff {diff:.2e}"


def test_kernel_path_with_the_softmax_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where torch has no ``softmax(out=)``, the windowed kernel's in-step softmax gives the same layer."""
    monkeypatch.setattr(_common, "_softmax_has_out", lambda: False)
    torch.manual_seed(0)
    module = HaloAttention(8, 2, 1, heads=2).double()
    x = torch.randn(2, 8, 5, 7, dtype=torch.float64, requires_grad=True)
    grad = torch.randn_like(x)
    inputs = [x, *module.parameters()]
    got = torch.autograd.grad(module(x), inputs, grad)
    want = torch.autograd.grad(naive_halo(module, x), inputs, grad)
    assert all(torch.allclose(a, b, atol=1e-8) for a, b in zip(got, want, strict=True))


@pytest.mark.parametrize(
    ("block", "halo", "height", "width"),
    [(2, 1, 6, 4), (3, 2, 5, 7), (4, 1, 8, 6), (1, 1, 3, 4), (2, 0, 5, 5)],
)
@pytest.mark.parametrize("maps_per_chunk", [1, 2, 6], ids=["one-head", "two-of-three-heads", "whole-batch"])
def test_window_attention_equals_gathered_attention_and_passes_gradcheck(
    block: int, halo: int, height: int, width: int, maps_per_chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chunked CPU attention (forward and backward) against whole tensors of blocks and windows.

    Chunks of one image-head, of two of an image's three heads (a partial last chunk), and of
    the whole batch (2 images x 3 heads).
    """
    module = HaloAttention(6, block, halo, heads=3).double()
    blocks = math.ceil(height / block) * math.ceil(width / block)
    map_bytes = blocks * module.window**2 * 2 * 8  # one image-head's windows, d = 2, float64
    monkeypatch.setattr(_halo_kernel, "CHUNK_BYTES", maps_per_chunk * map_bytes)
    generator = torch.Generator().manual_seed(0)
    qkv = torch.randn(2, height * width, 18, dtype=torch.float64, generator=generator)  # q, k, v side by side
    tables = torch.randn(block * block, module.window**2, 2, dtype=torch.float64, generator=generator)
    mask = module._padding_mask(height, width, torch.float64, qkv.device)
    inputs = [qkv.requires_grad_(), tables.requires_grad_()]

    def chunked(qkv: torch.Tensor, tables: torch.Tensor) -> torch.Tensor:
        return WindowAttention.apply(qkv, tables, mask, 0.5, module.heads, block, halo, height, width)

    def gathered(qkv: torch.Tensor, tables: torch.Tensor) -> torch.Tensor:
        q, k, v = qkv.transpose(1, 2).reshape(2, 18, height, width).chunk(3, dim=1)  # (B, I, H, W) maps
        out = module._gathered_attention(q, k, v, tables, mask, 0.5)
        return out.flatten(2).transpose(1, 2)  # (B, H*W, I) rows

    chunks = _halo_kernel._Chunks(qkv, module.heads, block, halo, height, width, backward=False)
    assert [chunk.image_heads for chunk in chunks] == {1: [1] * 6, 2: [2, 1, 2, 1], 6: [6]}[maps_per_chunk]
    got, want = chunked(*inputs), gathered(*inputs)
    assert got.shape == want.shape == (2, height * width, 6)
    assert torch.allclose(got, want, atol=1e-12), f"max diff {(got - want).abs().max():.2e}"
    grad = torch.randn_like(want)
    for name, mine, theirs in zip(
        ("qkv", "tables"),
        torch.autograd.grad(got, inputs, grad),
        torch.autograd.grad(want, inputs, grad),
        strict=True,
    ):
        assert torch.allclose(mine, theirs, atol=1e-12), f"{name}: max diff {(mine - theirs).abs().max():.2e}"
    assert torch.autograd.gradcheck(chunked, inputs, fast_mode=True)
    # a gradient with channels-first memory, as the output projection's baddbmm gives it
    transposed_grad = torch.randn(2, 6, height * width, dtype=torch.float64).transpose(1, 2)
    mine = torch.autograd.grad(chunked(*inputs), inputs, transposed_grad)
    theirs = torch.autograd.grad(gathered(*inputs), inputs, transposed_grad)
    assert all(torch.allclose(a, b, atol=1e-12) for a, b in zip(mine, theirs, strict=True))


def test_attends_to_content_not_an_average_pool() -> None:
    """The seed's inverted mask made interior outputs independent of the query; ours are not."""
    torch.manual_seed(0)
    module = HaloAttention(8, 2, 1, heads=1).double()
    x = torch.randn(1, 8, 6, 6, dtype=torch.float64)
    with torch.no_grad():
        module.q.weight.mul_(10)  # sharpen the softmax so content matters
    got, want = module(x), naive_halo(module, x)
    assert torch.allclose(got, want, atol=1e-5)
    uniform = module.out(module.v(x).mean(dim=(2, 3), keepdim=True))
    assert not torch.allclose(got, uniform.expand_as(got), atol=1e-3)


def test_outputs_only_see_their_halo_window() -> None:
    """Appending a row changes only the last block row: blocks 0-1 (rows 0-3) see rows -1..4."""
    torch.manual_seed(0)
    module = HaloAttention(8, 2, 1, heads=2).double()
    x = torch.randn(1, 8, 5, 5, dtype=torch.float64)
    larger = torch.cat([x, torch.full((1, 8, 1, 5), 100.0, dtype=torch.float64)], dim=2)
    got_small, got_large = module(x), module(larger)
    assert torch.allclose(got_small[:, :, :4], got_large[:, :, :4], atol=1e-9)
    assert not torch.allclose(got_small[:, :, 4], got_large[:, :, 4], atol=1e-3)


@pytest.mark.parametrize(("c1", "heads", "dim_head", "inner"), [(64, 4, 0, 64), (32, 2, 8, 16)])
def test_inner_width_scales_with_channels(c1: int, heads: int, dim_head: int, inner: int) -> None:
    module = HaloAttention(c1, 2, 1, heads, dim_head)
    assert module.inner == inner
    assert module.q.weight.shape == (inner, c1, 1, 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"c1": 30, "heads": 4}, "channels 30 not divisible by heads 4"),
        ({"c1": 32, "block": 0}, "block must be >= 1, got 0"),
        ({"c1": 32, "halo": -1}, "halo must be >= 0, got -1"),
    ],
)
def test_bad_arguments_name_the_values(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HaloAttention(**kwargs)


@pytest.mark.parametrize(("c1", "size"), [(256, 20), (64, 80)])
def test_flop_counter_matches_analytic_macs(c1: int, size: int) -> None:
    module = HaloAttention(c1).eval()
    x = torch.randn(1, c1, size, size)
    with torch.no_grad(), sdpa_kernel([SDPBackend.MATH]), FlopCounterMode(display=False) as counter:
        module(x)
    assert counter.get_total_flops() == 2 * halo_macs(c1, size, size)


def test_flop_formula_counts_padding() -> None:
    """At 17 x 17 (TTA P5) the attention runs on the 18 x 18 padded grid."""
    module = HaloAttention(32).eval()
    with torch.no_grad(), sdpa_kernel([SDPBackend.MATH]), FlopCounterMode(display=False) as counter:
        module(torch.randn(1, 32, 17, 17))
    assert counter.get_total_flops() == 2 * halo_macs(32, 17, 17)
