"""The shared attention core: its hand-written backward equals autograd's, and autocast routes to SDPA."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

from yolo_compose.modules._common import CpuAttention, attention


def naive(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """softmax(q k^T + bias) v written with plain differentiable ops."""
    return torch.softmax(q @ k.transpose(1, 2) + bias, dim=-1) @ v


def inputs(bias_shape: tuple[int, ...], dtype: torch.dtype = torch.float64) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    q = torch.randn(6, 4, 8, dtype=dtype, generator=generator)
    k = torch.randn(6, 9, 8, dtype=dtype, generator=generator)
    v = torch.randn(6, 9, 5, dtype=dtype, generator=generator)
    bias = torch.randn(*bias_shape, dtype=dtype, generator=generator)
    return [t.requires_grad_() for t in (q, k, v, bias)]


@pytest.mark.parametrize("bias_shape", [(6, 4, 9), (1, 4, 9), (4, 9)], ids=["full", "broadcast-batch", "2d"])
def test_backward_passes_gradcheck(bias_shape):
    q, k, v, bias = inputs(bias_shape)
    assert torch.autograd.gradcheck(lambda *t: CpuAttention.apply(*t[:3], 1.0, t[3]), (q, k, v, bias))


def test_masked_keys_get_no_weight_and_gradients_match_autograd():
    q, k, v, bias = inputs((6, 4, 9))
    with torch.no_grad():
        bias[:, :, -3:] = -math.inf  # padding keys, as HaloAttention's mask writes them
    grad = torch.randn(6, 4, 5, dtype=torch.float64)
    ours = torch.autograd.grad(attention(q, k, v, bias), (q, k, v, bias), grad)
    reference = torch.autograd.grad(naive(q, k, v, bias), (q, k, v, bias), grad)
    for mine, theirs in zip(ours, reference, strict=True):
        torch.testing.assert_close(mine, theirs)
    assert torch.count_nonzero(ours[1][:, -3:]) == 0  # masked keys receive no gradient


def test_only_the_inputs_that_need_it_get_a_gradient():
    q, k, v, bias = inputs((6, 4, 9))
    bias = bias.detach()
    out = attention(q, k, v, bias)
    out.sum().backward()
    assert bias.grad is None and all(t.grad is not None for t in (q, k, v))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_autocast_takes_sdpa_and_trains(dtype):
    q, k, v, bias = inputs((6, 4, 9), torch.float32)
    with torch.autocast("cpu", dtype=dtype):
        out = attention(q, k, v, bias)
    out.float().sum().backward()
    assert torch.isfinite(out).all()
    assert all(t.grad is not None and torch.isfinite(t.grad).all() for t in (q, k, v, bias))


def test_scale_inside_the_product_equals_prescaled_queries():
    """``scale`` multiplies q k^T only (not the bias), in the forward and in every gradient."""
    q, k, v, bias = inputs((6, 4, 9))
    assert torch.autograd.gradcheck(lambda *t: CpuAttention.apply(*t[:3], 0.3, t[3]), (q, k, v, bias))
    grad = torch.randn(6, 4, 5, dtype=torch.float64)
    ours = torch.autograd.grad(attention(q, k, v, bias, 0.3), (q, k, v, bias), grad)
    reference = torch.autograd.grad(naive(q * 0.3, k, v, bias), (q, k, v, bias), grad)
    for mine, theirs in zip(ours, reference, strict=True):
        torch.testing.assert_close(mine, theirs)


def test_bias_terms_are_summed_into_the_logits_in_their_own_view():
    """Two terms of a (6, 2, 2, 3, 3) view of the (6, 4, 9) logits, as MHSA passes its positions."""
    q, k, v, _ = inputs((6, 4, 9))
    generator = torch.Generator().manual_seed(1)
    rows = torch.randn(6, 2, 2, 3, 1, dtype=torch.float64, generator=generator).requires_grad_()
    cols = torch.randn(6, 2, 2, 1, 3, dtype=torch.float64, generator=generator).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda q, k, v, rows, cols: CpuAttention.apply(q, k, v, 0.3, rows, cols), (q, k, v, rows, cols)
    )
    grad = torch.randn(6, 4, 5, dtype=torch.float64)
    ours = torch.autograd.grad(attention(q, k, v, (rows, cols), 0.3), (q, k, v, rows, cols), grad)
    full = (rows + cols).reshape(6, 4, 9)
    reference = torch.autograd.grad(naive(q * 0.3, k, v, full), (q, k, v, rows, cols), grad)
    for mine, theirs in zip(ours, reference, strict=True):
        torch.testing.assert_close(mine, theirs)


def test_bias_terms_take_the_same_sum_on_the_sdpa_path():
    """Under tracing (export) the terms are summed into one mask for SDPA: same output."""
    q, k, v, _ = inputs((6, 4, 9), torch.float32)
    rows, cols = torch.randn(6, 2, 2, 3, 1), torch.randn(6, 2, 2, 1, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.trace is deprecated in favour of export
        traced = torch.jit.trace(
            lambda q, k, v: attention(q, k, v, (rows, cols), 0.3), (q, k, v), check_trace=False
        )
    eager = attention(q, k, v, (rows, cols), 0.3)
    torch.testing.assert_close(traced(q, k, v), eager)
