"""BoTNet MHSA: equals a pair-by-pair reference written from the paper's equations."""

from __future__ import annotations

import pytest
import torch
from _paths import FORCED_PATHS, PathSpy
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from yolo_compose.modules.botnet import MHSA, mhsa_macs


def lerp_rows(table: torch.Tensor, rows: int) -> torch.Tensor:
    """Resample a (L, D) table to `rows` rows linearly, first/last rows fixed; one row = the midpoint."""
    length = table.shape[0]
    if rows == length:
        return table
    out = []
    for t in range(rows):
        pos = t * (length - 1) / (rows - 1) if rows > 1 else (length - 1) / 2
        lo = min(int(pos), length - 2)
        frac = pos - lo
        out.append(table[lo] * (1 - frac) + table[lo + 1] * frac)
    return torch.stack(out)


def naive_mhsa(module: MHSA, x: torch.Tensor) -> torch.Tensor:
    """BoTNet attention pair by pair, explicit softmax.

    logit(i, j) = (q_i.k_j + q_i.r_h[y_j - y_i] + q_i.r_w[x_j - x_i]) / sqrt(d)
    """
    B, C, H, W = x.shape
    heads, d = module.heads, module.dim_head
    q, k, v = (conv(x).reshape(B, heads, d, H * W) for conv in (module.q, module.k, module.v))
    rel_h = lerp_rows(module.rel_height, 2 * H - 1)  # row of offset o: o + H - 1
    rel_w = lerp_rows(module.rel_width, 2 * W - 1)
    out = torch.zeros_like(q)
    for i in range(H * W):
        yi, xi = divmod(i, W)
        qi = q[..., i]  # (B, heads, d)
        logits = (
            torch.stack(
                [
                    (qi * k[..., j]).sum(-1)
                    + (qi * rel_h[j // W - yi + H - 1]).sum(-1)
                    + (qi * rel_w[j % W - xi + W - 1]).sum(-1)
                    for j in range(H * W)
                ],
                dim=-1,
            )
            / d**0.5
        )  # (B, heads, N)
        weights = logits.exp() / logits.exp().sum(-1, keepdim=True)
        out[..., i] = (v * weights.unsqueeze(2)).sum(-1)
    return out.reshape(B, C, H, W)


def make_module(width: int, height: int, heads: int = 2, channels: int = 16) -> MHSA:
    torch.manual_seed(0)
    return MHSA(channels, width, height, heads).double().eval()


@pytest.mark.parametrize(("height", "width"), [(4, 4), (3, 5), (5, 2)])
@pytest.mark.parametrize("path", FORCED_PATHS)
def test_matches_naive_reference_at_trained_size(
    height: int, width: int, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each attention path (CPU kernel, SDPA, plain ops), with autograd on and off, against float64."""
    spy = PathSpy(monkeypatch)
    module = make_module(width, height)
    module.attention_path = path
    x = torch.randn(2, 16, height, width, dtype=torch.float64)
    want = naive_mhsa(module, x)
    got_training = module(x)
    with torch.no_grad():
        got_inference = module(x)
    assert spy.taken() == {path}
    for got in (got_training, got_inference):
        assert torch.allclose(got, want, atol=1e-10), f"{path}: max diff {(got - want).abs().max():.2e}"


@pytest.mark.parametrize("path", FORCED_PATHS)
@pytest.mark.parametrize(("height", "width"), [(3, 5), (4, 6)], ids=["trained", "resampled"])
def test_gradients_match_naive_reference(height: int, width: int, path: str, monkeypatch) -> None:
    spy = PathSpy(monkeypatch)
    module = make_module(width=5, height=3)
    module.attention_path = path
    x = torch.randn(2, 16, height, width, dtype=torch.float64, requires_grad=True)
    grad = torch.randn_like(x)
    inputs = [x, *module.parameters()]
    got = torch.autograd.grad(module(x), inputs, grad)
    assert spy.taken() == {path}
    want = torch.autograd.grad(naive_mhsa(module, x), inputs, grad)
    for name, mine, theirs in zip(["x", *dict(module.named_parameters())], got, want, strict=True):
        diff = (mine - theirs).abs().max()
        assert torch.allclose(mine, theirs, atol=1e-8), f"{path}, {name}: max diff {diff:.2e}"


@pytest.mark.parametrize(("height", "width"), [(5, 3), (6, 6), (2, 3), (1, 1)])
def test_resamples_tables_at_other_sizes(height: int, width: int) -> None:
    """Trained at 3 x 5 (H x W): a swapped 5 x 3 map or any other size uses resampled tables."""
    module = make_module(width=5, height=3)
    x = torch.randn(1, 16, height, width, dtype=torch.float64)
    got, want = module(x), naive_mhsa(module, x)
    assert torch.allclose(got, want, atol=1e-5), f"max diff {(got - want).abs().max():.2e}"


def test_resampling_is_identity_at_trained_size() -> None:
    module = make_module(width=5, height=3)
    assert module.table(module.rel_width, 5) is module.rel_width
    assert module.table(module.rel_height, 3) is module.rel_height
    grown = module.table(module.rel_width, 7)  # 9 rows -> 13 rows
    assert grown.shape == (13, module.dim_head)
    assert torch.equal(grown[6], module.rel_width[4]), "offset 0 must stay offset 0"
    assert torch.equal(grown[0], module.rel_width[0]) and torch.equal(grown[-1], module.rel_width[-1])


def test_position_term_is_q_i_dot_r_ij_not_its_transpose() -> None:
    """With zero content (k = 0) the logits are position-only; swapping roles changes the output."""
    module = make_module(width=3, height=3, heads=1)
    with torch.no_grad():
        module.k.weight.zero_()
        module.k.bias.zero_()
    x = torch.randn(1, 16, 3, 3, dtype=torch.float64)
    got, want = module(x), naive_mhsa(module, x)
    assert torch.allclose(got, want, atol=1e-5)


def test_rejects_channels_not_divisible_by_heads() -> None:
    with pytest.raises(ValueError, match="channels 30 not divisible by heads 4"):
        MHSA(30)


@pytest.mark.parametrize(("c1", "size"), [(256, 20), (64, 80)])
def test_flop_counter_matches_analytic_macs(c1: int, size: int) -> None:
    module = MHSA(c1, size, size).eval()
    x = torch.randn(1, c1, size, size)
    with torch.no_grad(), sdpa_kernel([SDPBackend.MATH]), FlopCounterMode(display=False) as counter:
        module(x)
    assert counter.get_total_flops() == 2 * mhsa_macs(c1, size, size)
