"""CascadedGroupAttention against a naive reference written from the EfficientViT equations.

The reference loops over heads, kernel taps and pixel pairs, applies BatchNorm by its eval formula
and the softmax by hand in float64; window tiling is a "same tile" predicate on pixel pairs of the
unpadded map, so it checks the pad-and-mask path independently of the module's reshapes.
"""

from __future__ import annotations

import math

import pytest
import torch
from _paths import FORCED_PATHS, PathSpy
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from yolo_compose.modules.efficientvit import CascadedGroupAttention, cga_macs


def randomize(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Random weights and BN statistics, so no term of the math is hidden by a zero or one init."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in module.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * 0.4)
        for bn in (m for m in module.modules() if isinstance(m, torch.nn.BatchNorm2d)):
            bn.running_mean.copy_(torch.randn(bn.running_mean.shape, generator=generator) * 0.1)
            bn.running_var.copy_(torch.rand(bn.running_var.shape, generator=generator) + 0.5)
    return module


def batch_norm_eval(t: torch.Tensor, bn: torch.nn.BatchNorm2d) -> torch.Tensor:
    """(t - running_mean) / sqrt(running_var + eps) * weight + bias, per channel."""
    shape = (1, -1, 1, 1)
    mean, var = bn.running_mean.double().view(shape), bn.running_var.double().view(shape)
    weight, bias = bn.weight.double().view(shape), bn.bias.double().view(shape)
    return (t - mean) / torch.sqrt(var + bn.eps) * weight + bias


def pointwise(t: torch.Tensor, conv: torch.nn.Conv2d) -> torch.Tensor:
    """1x1 convolution as a channel contraction."""
    return torch.einsum("oc,bchw->bohw", conv.weight.double()[:, :, 0, 0], t)


def depthwise(t: torch.Tensor, conv: torch.nn.Conv2d) -> torch.Tensor:
    """k x k depthwise convolution with zero padding, one kernel tap at a time."""
    kernel = conv.weight.double()[:, 0]  # (c, k, k)
    size = kernel.shape[-1]
    _, _, H, W = t.shape
    padded = torch.nn.functional.pad(t, [size // 2] * 4)
    out = torch.zeros_like(t)
    for dy in range(size):
        for dx in range(size):
            out += kernel[:, dy, dx].view(1, -1, 1, 1) * padded[:, :, dy : dy + H, dx : dx + W]
    return out


def logit_bias(module: CascadedGroupAttention, head: int, H: int, W: int) -> torch.Tensor:
    """(N, N) bias b[|dy|, |dx|] (clamped to the table) plus -inf between pixels of different tiles."""
    table = module.attention_biases.double()[head]
    side = min(module.resolution, module.window) if module.window > 0 else module.resolution
    tiled = 0 < module.window < max(H, W)
    tile_h, tile_w = (module.window, module.window) if tiled else (H, W)
    pixels = [(y, x) for y in range(H) for x in range(W)]
    bias = torch.empty(len(pixels), len(pixels), dtype=torch.float64)
    for i, (y1, x1) in enumerate(pixels):
        for j, (y2, x2) in enumerate(pixels):
            same_tile = y1 // tile_h == y2 // tile_h and x1 // tile_w == x2 // tile_w
            dy, dx = min(abs(y1 - y2), side - 1), min(abs(x1 - x2), side - 1)
            bias[i, j] = table[dy, dx] if same_tile else -math.inf
    return bias


def softmax_rows(logits: torch.Tensor) -> torch.Tensor:
    """exp(l - max) / sum exp(l - max) along the last dim."""
    weights = torch.exp(logits - logits.max(dim=-1, keepdim=True).values)
    return weights / weights.sum(dim=-1, keepdim=True)


def reference_cga(module: CascadedGroupAttention, x: torch.Tensor) -> torch.Tensor:
    """y = x + BN(W_proj ReLU(concat_i out_i)), out_i = v softmax(q^T k / sqrt(kd) + B_i)^T."""
    x = x.double()
    B, C, H, W = x.shape
    heads, key_dim, value_dim = module.heads, module.key_dim, C // module.heads
    outputs = []
    for head in range(heads):
        feat = x[:, head * value_dim : (head + 1) * value_dim]
        if head > 0:
            feat = feat + outputs[-1]
        conv, bn = module.qkvs[head]
        qkv = batch_norm_eval(pointwise(feat, conv), bn)
        q, k, v = qkv[:, :key_dim], qkv[:, key_dim : 2 * key_dim], qkv[:, 2 * key_dim :]
        dw_conv, dw_bn = module.dws[head]
        q = batch_norm_eval(depthwise(q, dw_conv), dw_bn)
        q, k, v = q.flatten(2), k.flatten(2), v.flatten(2)  # (B, c, N)
        logits = torch.einsum("bci,bcj->bij", q, k) / math.sqrt(key_dim) + logit_bias(module, head, H, W)
        attention = softmax_rows(logits)  # (B, N, N)
        outputs.append(torch.einsum("bij,bcj->bci", attention, v).reshape(B, value_dim, H, W))
    relu_cat = torch.relu(torch.cat(outputs, dim=1))
    proj_conv, proj_bn = module.proj[1]
    return x + batch_norm_eval(pointwise(relu_cat, proj_conv), proj_bn)


CASES = {
    # name: (constructor kwargs, H, W)
    "global at the trained size": (dict(resolution=7, window=8), 7, 7),
    "global rectangular": (dict(resolution=8, window=8), 8, 5),
    "global beyond the trained size (clamped offsets)": (dict(resolution=4, window=0), 9, 6),
    "tiles that fit exactly": (dict(resolution=12, window=6), 12, 12),
    "padded tiles": (dict(resolution=20, window=5), 11, 8),
}


#: CGA's CPU kernel is its explicit ops (no hand-written backward): "kernel" runs the "math" code.
TAKEN = {"kernel": {"math"}, "math": {"math"}, "sdpa": {"sdpa"}}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("path", FORCED_PATHS)
def test_matches_reference(case, path, monkeypatch):
    """Each attention path in float32 against the float64 reference."""
    spy = PathSpy(monkeypatch)
    kwargs, H, W = CASES[case]
    module = randomize(CascadedGroupAttention(16, key_dim=4, heads=4, kernels=[3, 5, 1, 3], **kwargs)).eval()
    module.attention_path = path
    x = torch.randn(2, 16, H, W, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got = module(x)
    assert spy.taken() == TAKEN[path]
    want = reference_cga(module, x)
    err = (got.double() - want).abs().max().item()
    assert torch.allclose(got.double(), want, atol=1e-5, rtol=1e-5), f"{case}, {path}: max error {err:.2e}"


@pytest.mark.parametrize("case", ["global rectangular", "padded tiles"])
@pytest.mark.parametrize("path", FORCED_PATHS)
def test_float64_values_and_gradients_match_reference(case, path, monkeypatch):
    """Each path in float64, value and gradients (input, bias table) against the reference."""
    spy = PathSpy(monkeypatch)
    kwargs, H, W = CASES[case]
    module = randomize(CascadedGroupAttention(16, key_dim=4, heads=4, kernels=[3, 5, 1, 3], **kwargs))
    module = module.double().eval()
    module.attention_path = path
    x = torch.randn(2, 16, H, W, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    x.requires_grad_()
    got, want = module(x), reference_cga(module, x)
    assert spy.taken() == TAKEN[path]
    assert torch.allclose(got, want, atol=1e-10), f"{case}, {path}: max diff {(got - want).abs().max():.2e}"
    grad = torch.randn_like(got)
    inputs = (x, module.attention_biases, module.qkvs[1][0].weight)
    for name, mine, theirs in zip(
        ("x", "attention_biases", "qkvs.1 weight"),
        torch.autograd.grad(got, inputs, grad),
        torch.autograd.grad(want, inputs, grad),
        strict=True,
    ):
        diff = (mine - theirs).abs().max()
        assert torch.allclose(mine, theirs, atol=1e-9), f"{case}, {path}, grad {name}: max diff {diff:.2e}"


def test_identity_at_init_not_zero():
    module = CascadedGroupAttention(32, heads=4)
    x = torch.randn(2, 32, 9, 13)
    for mode in (True, False):
        module.train(mode)
        assert torch.equal(module(x), x), f"train={mode}: a fresh layer must pass its input through"


def test_attention_term_reaches_the_output():
    module = randomize(CascadedGroupAttention(32, heads=4)).eval()
    x = torch.randn(1, 32, 6, 6)
    assert (module(x) - x).abs().max() > 1e-3, "with a trained projection the attention must change x"


def test_default_kernels_match_heads():
    module = CascadedGroupAttention(64, heads=8)  # the seed crashed here: 8 heads, 4 kernels
    assert module.kernels == [5] * 8
    assert [dw[0].kernel_size for dw in module.dws] == [(5, 5)] * 8


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(heads=8, kernels=[5, 5, 5, 5]), "kernels [5, 5, 5, 5] has 4 entries but heads is 8"),
        (dict(heads=4, kernels=4), "kernel size 4 in kernels [4, 4, 4, 4] must be odd"),
        (dict(heads=3), "channels 64 not divisible by heads 3"),
        (dict(window=-1), "window must be >= 0, got -1"),
    ],
)
def test_bad_arguments_name_the_values(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        CascadedGroupAttention(64, **kwargs)


def test_wrong_channels_names_both_counts():
    module = CascadedGroupAttention(32, heads=4)
    with pytest.raises(ValueError, match="built for 32 input channels but got 48"):
        module(torch.randn(1, 48, 8, 8))


def test_no_stale_bias_after_half_or_update():
    module = randomize(CascadedGroupAttention(16, key_dim=4, heads=4, resolution=6)).eval()
    x = torch.randn(1, 16, 6, 6)
    before = module(x)
    with torch.no_grad():
        module.attention_biases.add_(1.0)
        module.attention_biases[:, 0, 0] += 2.0
    assert not torch.allclose(module(x), before), "an eval forward must use the updated bias table"
    full = module(x)
    half = module.half()(x.half())
    assert half.dtype == torch.float16 and torch.isfinite(half).all()
    assert torch.allclose(half.float(), full, atol=5e-2), "fp16 output must track the fp32 output"


SIZES = [(8, 8), (20, 20), (20, 12), (12, 20), (17, 17), (14, 14), (30, 30), (40, 24)]


@pytest.mark.parametrize("size", SIZES)
def test_any_size_batch_and_train_eval(size):
    module = randomize(CascadedGroupAttention(32, heads=4, resolution=20))
    x = torch.randn(3, 32, *size)
    module.train()
    out = module(x)
    out.square().mean().backward()
    assert out.shape == x.shape and torch.isfinite(out).all()
    assert torch.isfinite(module.attention_biases.grad).all()
    module.eval()
    with torch.no_grad():
        batched, single = module(x), module(x[1:2])
    assert torch.allclose(batched[1:2], single, atol=1e-5), f"{size}: samples must not interact"


def test_tiled_matches_global_inside_one_tile():
    global_module = randomize(CascadedGroupAttention(16, key_dim=4, heads=4, resolution=8, window=0)).eval()
    tiled_module = randomize(CascadedGroupAttention(16, key_dim=4, heads=4, resolution=8, window=8)).eval()
    x = torch.randn(1, 16, 8, 8)
    assert torch.allclose(global_module(x), tiled_module(x), atol=1e-6)


def test_state_dict_does_not_depend_on_input_size():
    module = CascadedGroupAttention(32, heads=4)
    shapes = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    for size in [(8, 8), (30, 17), (50, 50)]:
        module(torch.randn(1, 32, *size))
    assert {k: tuple(v.shape) for k, v in module.state_dict().items()} == shapes
    CascadedGroupAttention(32, heads=4).load_state_dict(module.state_dict())


@pytest.mark.parametrize(("channels", "size"), [(256, 20), (64, 80)])
def test_flops_equal_the_analytic_formula(channels, size):
    module = CascadedGroupAttention(channels).eval()
    x = torch.randn(1, channels, size, size)
    with sdpa_kernel([SDPBackend.MATH]), FlopCounterMode(display=False) as counter, torch.no_grad():
        module(x)
    assert counter.get_total_flops() == 2 * cga_macs(channels, size, size)


def test_flops_formula_with_padding_and_global():
    for kwargs, size in ((dict(window=8), (13, 9)), (dict(window=0), (12, 10))):
        module = CascadedGroupAttention(32, heads=4, kernels=[3, 5, 3, 1], **kwargs).eval()
        with sdpa_kernel([SDPBackend.MATH]), FlopCounterMode(display=False) as counter, torch.no_grad():
            module(torch.randn(1, 32, *size))
        want = cga_macs(32, *size, heads=4, kernels=[3, 5, 3, 1], **kwargs)
        assert counter.get_total_flops() == 2 * want, f"{kwargs} at {size}"
