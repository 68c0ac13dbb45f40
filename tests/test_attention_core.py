"""The shared attention core: every path equals a float64 reference, the path is chosen once per module.

The hand-written backward of the CPU kernel equals autograd's, autocast and tracing route "auto" to
SDPA, and the in-place softmax (public ``out=`` overload or its fallback) equals ``Tensor.softmax``.
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from _paths import FORCED_PATHS, PathSpy

from yolo_compose.modules import _common
from yolo_compose.modules._common import (
    ATTENTION_PATH_ENV,
    CpuAttention,
    attention,
    default_attention_path,
    set_attention_path,
    softmax_,
    softmax_backward_,
)
from yolo_compose.modules.botnet import MHSA
from yolo_compose.modules.efficientvit import CascadedGroupAttention
from yolo_compose.modules.halo import HaloAttention

ATTENTION_MODULES = [HaloAttention, MHSA, CascadedGroupAttention]


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


# ---- each path against the float64 reference -----------------------------------------------------


@pytest.mark.parametrize("path", FORCED_PATHS)
@pytest.mark.parametrize("bias_shape", [(6, 4, 9), (1, 4, 9), (4, 9)], ids=["full", "broadcast-batch", "2d"])
def test_each_path_equals_the_reference_in_value_and_gradient(path, bias_shape, monkeypatch):
    spy = PathSpy(monkeypatch)
    q, k, v, bias = inputs(bias_shape)
    with torch.no_grad():
        bias[..., -2:] = -math.inf  # masked keys, as the padding masks write them
    grad = torch.randn(6, 4, 5, dtype=torch.float64)
    out = attention(q, k, v, bias, 0.3, path)
    assert spy.taken() == {path}
    want = naive(q * 0.3, k, v, bias)
    torch.testing.assert_close(out, want, msg=lambda m: f"{path}: {m}")
    ours = torch.autograd.grad(out, (q, k, v, bias), grad)
    reference = torch.autograd.grad(want, (q, k, v, bias), grad)
    for name, mine, theirs in zip("qkv", ours, reference, strict=False):
        torch.testing.assert_close(mine, theirs, msg=lambda m, name=name: f"{path}, grad {name}: {m}")
    torch.testing.assert_close(ours[3], reference[3], msg=lambda m: f"{path}, grad bias: {m}")


@pytest.mark.parametrize("path", FORCED_PATHS)
def test_each_path_sums_bias_terms_given_in_another_view(path, monkeypatch):
    spy = PathSpy(monkeypatch)
    q, k, v, _ = inputs((6, 4, 9))
    generator = torch.Generator().manual_seed(2)
    rows = torch.randn(6, 2, 2, 3, 1, dtype=torch.float64, generator=generator).requires_grad_()
    cols = torch.randn(6, 2, 2, 1, 3, dtype=torch.float64, generator=generator).requires_grad_()
    grad = torch.randn(6, 4, 5, dtype=torch.float64)
    out = attention(q, k, v, (rows, cols), 0.3, path)
    assert spy.taken() == {path}
    want = naive(q * 0.3, k, v, (rows + cols).reshape(6, 4, 9))
    torch.testing.assert_close(out, want)
    for mine, theirs in zip(
        torch.autograd.grad(out, (q, k, v, rows, cols), grad),
        torch.autograd.grad(want, (q, k, v, rows, cols), grad),
        strict=True,
    ):
        torch.testing.assert_close(mine, theirs)


def test_auto_takes_the_kernel_on_cpu_floats_and_sdpa_under_autocast_and_tracing(monkeypatch):
    spy = PathSpy(monkeypatch)
    for dtype in (torch.float32, torch.float64):
        q, k, v, bias = inputs((6, 4, 9), dtype)
        attention(q, k, v, bias)
        assert spy.taken() == {"kernel"}, dtype
    q, k, v, bias = inputs((6, 4, 9), torch.float32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        attention(q, k, v, bias)
    assert spy.taken() == {"sdpa"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        detached = tuple(t.detach() for t in (q, k, v, bias))
        torch.jit.trace(lambda q, k, v, bias: attention(q, k, v, bias), detached, check_trace=False)
    assert spy.taken() == {"sdpa"}


def test_forcing_the_kernel_where_it_cannot_run_is_a_clear_error():
    q, k, v, bias = inputs((6, 4, 9), torch.float32)
    under_autocast = r"'kernel' runs on CPU float32/float64 .* under autocast"
    with pytest.raises(ValueError, match=under_autocast), torch.autocast("cpu", dtype=torch.bfloat16):
        attention(q, k, v, bias, path="kernel")
    with pytest.raises(ValueError, match=r"got a cpu torch\.float16 tensor"):
        attention(*(t.detach().half() for t in (q, k, v, bias)), path="kernel")
    with pytest.raises(ValueError, match="attention path 'fused' is not one of auto, sdpa, math, kernel"):
        attention(q, k, v, bias, path="fused")


# ---- the path is chosen once per module ------------------------------------------------------------


@pytest.fixture
def process_default():
    """Undo set_attention_path after the test: the process default is global."""
    yield set_attention_path
    set_attention_path(None)


@pytest.mark.parametrize("module_class", ATTENTION_MODULES, ids=lambda c: c.__name__)
def test_modules_take_the_path_at_construction(module_class, monkeypatch, process_default):
    assert module_class(32).attention_path == "auto"
    monkeypatch.setenv(ATTENTION_PATH_ENV, "math")
    built_under_env = module_class(32)
    assert built_under_env.attention_path == "math"
    process_default("sdpa")  # over the environment
    assert module_class(32).attention_path == "sdpa"
    assert built_under_env.attention_path == "math", "a built module keeps its path"
    process_default(None)
    assert default_attention_path() == "math"


def test_a_bad_environment_value_names_the_variable(monkeypatch):
    monkeypatch.setenv(ATTENTION_PATH_ENV, "flash")
    message = f"{ATTENTION_PATH_ENV} 'flash' is not one of auto, sdpa, math, kernel"
    with pytest.raises(ValueError, match=message):
        HaloAttention(32)
    with pytest.raises(ValueError, match="attention path 'flash' is not one of"):
        set_attention_path("flash")


# ---- the in-place softmax and its backward, public ops only -----------------------------------------


@pytest.mark.parametrize("has_out", [True, False], ids=["softmax-out", "fallback"])
def test_in_place_softmax_equals_tensor_softmax(has_out, monkeypatch):
    monkeypatch.setattr(_common, "_softmax_has_out", lambda: has_out)
    logits = torch.randn(6, 4, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(3)) * 20
    logits[:, :, -3:] = -math.inf
    want = logits.softmax(dim=-1)
    got = softmax_(logits)
    assert got.data_ptr() == logits.data_ptr(), "written over its input"
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-15)
    assert torch.count_nonzero(got[:, :, -3:]) == 0


def test_this_torch_has_the_public_softmax_out_overload():
    """torch >= 2.2 (the declared floor) has it; the fallback is for builds without it."""
    assert _common._softmax_has_out()


@pytest.mark.parametrize("has_out", [True, False], ids=["softmax-out", "fallback"])
def test_kernel_passes_gradcheck_with_either_softmax(has_out, monkeypatch):
    monkeypatch.setattr(_common, "_softmax_has_out", lambda: has_out)
    q, k, v, bias = inputs((6, 4, 9))
    assert torch.autograd.gradcheck(lambda *t: CpuAttention.apply(*t[:3], 0.3, t[3]), (q, k, v, bias))


def test_softmax_backward_equals_autograd():
    generator = torch.Generator().manual_seed(4)
    logits = torch.randn(6, 4, 9, dtype=torch.float64, generator=generator).requires_grad_()
    grad = torch.randn(6, 4, 9, dtype=torch.float64, generator=generator)
    weights = logits.softmax(dim=-1)
    (want,) = torch.autograd.grad(weights, logits, grad)
    torch.testing.assert_close(softmax_backward_(grad.clone(), weights.detach()), want)


def test_no_private_torch_api_in_the_modules():
    """The CPU fast paths use public torch ops only (no ``torch._x`` calls, no ``torch.ops.aten._x``)."""
    import pathlib
    import re

    folder = pathlib.Path(_common.__file__).parent
    for source in folder.glob("*.py"):
        found = re.findall(r"torch\.(?:ops\.aten\.)?_[a-z]\w*", source.read_text(encoding="utf-8"))
        assert not found, f"{source.name}: {found}"
