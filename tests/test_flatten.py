"""FocusedLinearAttention against a naive reference written from the FLatten equations.

The reference computes the attention in its quadratic form, o_i = sum_j s_ij v_j / sum_j s_ij with
s_ij = f(phi(q_i)) . f(phi(k_j)) for every pixel pair, in float64 with an explicit depthwise
convolution, so it checks the module's linear (kv first) evaluation order independently.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from yolo_compose.modules.flatten import FocusedLinearAttention, core_dtype, flatten_macs


def randomize(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Random weights, position grid and scale, so no term of the math is hidden by a zero init."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in module.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * 0.4)
    return module


def pointwise(t: torch.Tensor, conv: torch.nn.Conv2d) -> torch.Tensor:
    """1x1 convolution (with its bias, if any) as a channel contraction."""
    out = torch.einsum("oc,bchw->bohw", conv.weight.double()[:, :, 0, 0], t)
    return out if conv.bias is None else out + conv.bias.double().view(1, -1, 1, 1)


def depthwise(t: torch.Tensor, conv: torch.nn.Conv2d) -> torch.Tensor:
    """k x k depthwise convolution with zero padding and bias, one kernel tap at a time."""
    kernel = conv.weight.double()[:, 0]  # (c, k, k)
    size = kernel.shape[-1]
    _, _, H, W = t.shape
    padded = F.pad(t, [size // 2] * 4)
    out = conv.bias.double().view(1, -1, 1, 1).expand_as(t).clone()
    for dy in range(size):
        for dx in range(size):
            out += kernel[:, dy, dx].view(1, -1, 1, 1) * padded[:, :, dy : dy + H, dx : dx + W]
    return out


def kernel_map(t: torch.Tensor, scale: torch.Tensor, power: int) -> torch.Tensor:
    """f_p(phi(t)): phi = (ReLU + 1e-6) / softplus(scale), f_p(u) = ||u|| u^p / ||u^p|| over channels."""
    u = (torch.clamp(t, min=0) + 1e-6) / torch.log1p(torch.exp(scale.double()))
    norm = torch.sqrt((u * u).sum(dim=1, keepdim=True))
    powered = u**power
    return norm * powered / torch.sqrt((powered * powered).sum(dim=1, keepdim=True))


def reference_flatten(module: FocusedLinearAttention, x: torch.Tensor) -> torch.Tensor:
    """y = W_o (o + DWConv(v)), o_i = sum_j s_ij v_j / N / (sum_j s_ij / N + 1e-6) per head."""
    x = x.double()
    B, C, H, W = x.shape
    heads, head_dim, tokens = module.heads, C // module.heads, H * W
    q, k, v = pointwise(x, module.qkv).split(C, dim=1)
    position = module.positional_encoding.double()
    if position.shape[-2:] != (H, W):
        position = F.interpolate(position, size=(H, W), mode="bilinear", align_corners=False)
    q = kernel_map(q, module.scale, module.focusing_factor).flatten(2)  # (B, C, N)
    k = kernel_map(k + position, module.scale, module.focusing_factor).flatten(2)
    v_tokens = v.flatten(2)
    out = torch.empty_like(v_tokens)
    for head in range(heads):
        channels = slice(head * head_dim, (head + 1) * head_dim)
        similarity = torch.einsum("bci,bcj->bij", q[:, channels], k[:, channels])  # (B, N, N)
        numerator = torch.einsum("bij,bcj->bci", similarity, v_tokens[:, channels]) / tokens
        denominator = similarity.sum(dim=-1).unsqueeze(1) / tokens + 1e-6  # (B, 1, N)
        out[:, channels] = numerator / denominator
    head_slices = [v[:, h * head_dim : (h + 1) * head_dim] for h in range(heads)]
    rank = torch.cat([depthwise(head_v, module.dwc) for head_v in head_slices], dim=1)
    return pointwise(out.view(B, C, H, W) + rank, module.proj)


CASES = {
    # name: (constructor kwargs, H, W)
    "trained size": (dict(size=6), 6, 6),
    "trained size, p = 2, qkv bias, kernel 3": (
        dict(size=5, focusing_factor=2, qkv_bias=True, kernel_size=3),
        5,
        5,
    ),
    "larger rectangular map (grid interpolated)": (dict(size=6), 9, 5),
    "smaller map (grid interpolated)": (dict(size=8), 4, 7),
}


@pytest.mark.parametrize("case", list(CASES))
def test_matches_reference(case):
    kwargs, H, W = CASES[case]
    module = randomize(FocusedLinearAttention(16, heads=4, **kwargs)).eval()
    x = torch.randn(2, 16, H, W, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got = module(x)
    want = reference_flatten(module, x)
    err = (got.double() - want).abs().max().item()
    assert torch.allclose(got.double(), want, atol=1e-5, rtol=1e-5), f"{case}: max abs error {err:.2e}"


def test_position_grid_used_unchanged_at_the_trained_size():
    module = randomize(FocusedLinearAttention(16, size=6, heads=4))
    assert torch.equal(module.position(6, 6), module.positional_encoding)
    resized = F.interpolate(module.positional_encoding, size=(9, 4), mode="bilinear", align_corners=False)
    assert torch.equal(module.position(9, 4), resized)


SIZES = [(8, 8), (20, 20), (20, 12), (12, 20), (17, 17), (14, 14), (30, 30), (40, 24)]


@pytest.mark.parametrize("size", SIZES)
def test_any_size_batch_and_train_eval(size):
    module = randomize(FocusedLinearAttention(32, size=20, heads=4))
    x = torch.randn(3, 32, *size)
    module.train()
    out = module(x)
    out.square().mean().backward()
    assert out.shape == x.shape and torch.isfinite(out).all()
    assert torch.isfinite(module.positional_encoding.grad).all()
    module.eval()
    with torch.no_grad():
        batched, single = module(x), module(x[1:2])
    assert torch.allclose(batched[1:2], single, atol=1e-5), f"{size}: samples must not interact"


def test_float64_stays_float64(monkeypatch):
    """The core is raised to float32 only from below: float64 in, float64 math (float32 would miss 1e-12)."""
    module = randomize(FocusedLinearAttention(16, size=6, heads=4)).double().eval()
    x = torch.randn(2, 16, 9, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    seen = []
    core = FocusedLinearAttention.linear_attention

    def recording_core(self, q, k, v):
        seen.append(q.dtype)
        return core(self, q, k, v)

    monkeypatch.setattr(FocusedLinearAttention, "linear_attention", recording_core)
    with torch.no_grad():
        got = module(x)
    want = reference_flatten(module, x)
    assert seen == [torch.float64] and got.dtype == torch.float64
    assert torch.allclose(got, want, atol=1e-12, rtol=1e-12), f"max diff {(got - want).abs().max():.2e}"


@pytest.mark.parametrize(
    ("dtype", "core"),
    [(torch.float16, torch.float32), (torch.bfloat16, torch.float32), (torch.float64, torch.float64)],
)
def test_core_dtype_raises_only_below_float32(dtype, core):
    assert core_dtype(dtype) == core
    assert core_dtype(torch.float32) == torch.float32


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_autocast_core_stays_finite_with_large_activations(dtype):
    module = randomize(FocusedLinearAttention(32, size=20, heads=4)).eval()
    x = torch.randn(2, 32, 20, 20) * 30  # large pre-activations: their cubes overflow fp16
    with torch.no_grad():
        full = module(x)
        with torch.autocast("cpu", dtype=dtype):
            low = module(x)
    assert low.dtype == dtype and torch.isfinite(low).all()
    relative = ((low.float() - full).norm() / full.norm()).item()
    assert relative < 5e-2, f"{dtype}: relative error {relative:.3f} vs float32"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(heads=3), "channels 64 not divisible by heads 3"),
        (dict(kernel_size=4), "kernel_size 4 must be odd"),
        (dict(size=0), "size must be >= 1, got 0"),
    ],
)
def test_bad_arguments_name_the_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FocusedLinearAttention(64, **kwargs)


def test_wrong_channels_names_both_counts():
    module = FocusedLinearAttention(32, heads=4)
    with pytest.raises(ValueError, match="built for 32 input channels but got 16"):
        module(torch.randn(1, 16, 8, 8))


def test_state_dict_does_not_depend_on_input_size():
    module = FocusedLinearAttention(32, heads=4)
    shapes = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    for size in [(8, 8), (30, 17), (50, 50)]:
        module(torch.randn(1, 32, *size))
    assert {k: tuple(v.shape) for k, v in module.state_dict().items()} == shapes
    FocusedLinearAttention(32, heads=4).load_state_dict(module.state_dict())


@pytest.mark.parametrize(("channels", "size"), [(256, 20), (64, 80), (48, 17)])
def test_flops_equal_the_analytic_formula(channels, size):
    module = FocusedLinearAttention(channels).eval()
    with sdpa_kernel([SDPBackend.MATH]), FlopCounterMode(display=False) as counter, torch.no_grad():
        module(torch.randn(1, channels, size, size))
    assert counter.get_total_flops() == 2 * flatten_macs(channels, size, size)
