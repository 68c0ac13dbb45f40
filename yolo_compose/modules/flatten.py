"""FocusedLinearAttention: FLatten Transformer's focused linear attention on YOLO feature maps.

Paper: Han et al., "FLatten Transformer: Vision Transformer using Focused Linear Attention",
https://arxiv.org/abs/2308.00442

The math follows the paper (Sec. 4, Eq. 5-7) and the official PVT variant, on a (B, C, H, W) map
with N = H * W tokens, h heads of d = C / h channels:

    q = W_q x,  k = W_k x + P,  v = W_v x                 (1x1 convolutions; P: position grid)
    phi(t) = ReLU(t) + 1e-6, divided by softplus(s)      (s: learned per-channel scale)
    f_p(t) = ||t|| * t^p / ||t^p||                        (focusing, norms over all C, p = 3)
    q, k   = f_p(phi(q)), f_p(phi(k))
    per head:  kv = k^T v / N,  z_i = 1 / (q_i . mean_j k_j + 1e-6),  o_i = (q_i kv) z_i
    y = W_o (o + DWConv(v))                               (rank restoration, k x k depthwise)

which is linear in N: kv (d x d per head) is formed once and reused by every query. The depthwise
convolution has d channels and is shared by the heads, as in the official code.

Differences (from the official code and the seed code, a copy of it):

* The position encoding is a (C, size, size) grid for the trained feature-map side ``size``,
  bilinearly interpolated to the current H x W (unchanged at the trained size). The seed sized it
  to ``num_patches`` tokens and crashed at any other input size.
* kv and z use the mean over tokens (k^T v / N and mean_j k_j), the official code's later
  overflow fix; the result equals the seed's sums up to the +1e-6 in z. The feature map, focusing
  and the kv/z core run in at least float32 even under autocast (fp16/bf16 are raised to float32,
  float64 stays float64): the p-th powers and token sums overflow fp16.
* The module works on (B, C, H, W) directly with 1x1 convolutions instead of tokens and Linear
  layers (the same math), and q, k, v come from one fused 1x1 convolution (the seed's q and kv).
* ``sr_ratio`` (spatial reduction of k, v) is not supported; the official FLatten configs use 1.
  Dropout is omitted (the seed's default rates are 0).
* As in the seed, the module is the attention alone, not a residual block: its output replaces
  the input features. With ``zero_init`` it is ``x + FLA(x)`` with the output projection at 0,
  the identity at init (for inserting into a pretrained network).

Cost (multiply-adds), for N = H * W, C channels, h heads, kernel k:

    MACs = N * 3C^2  (q, k, v)  +  N * C^2 / h  (k^T v)  +  N * C^2 / h  (q kv)
         + N * C  (z)  +  N * C * k^2  (depthwise on v)  +  N * C^2  (output)
         = N * (4C^2 + 2C^2 / h + C + C k^2)

:func:`flatten_macs` computes it; the tests check it against ``FlopCounterMode``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._common import check_divisible, check_input, check_positive, resize_table_2d, zero_layer_


def flatten_macs(c1: int, height: int, width: int, heads: int = 8, kernel_size: int = 5) -> int:
    """Multiply-adds of one FocusedLinearAttention forward on a (1, c1, height, width) input."""
    pixels = height * width
    return pixels * (4 * c1 * c1 + 2 * c1 * c1 // heads + c1 + c1 * kernel_size * kernel_size)


def core_dtype(dtype: torch.dtype) -> torch.dtype:
    """The type the feature map and the kv/z core run in: `dtype`, raised to float32 if below it.

    fp16/bf16 (autocast's outputs) overflow in the focusing powers and token sums; float64 stays
    float64.
    """
    return torch.promote_types(dtype, torch.float32)


def channel_norm(t: torch.Tensor) -> torch.Tensor:
    """Euclidean norm over dim 1, keepdim; square-sum-sqrt is ~6x faster than ``norm(dim=1)`` on CPU.

    Only used on strictly positive feature maps, so the sqrt never sees 0 (finite gradient).
    """
    return t.square().sum(dim=1, keepdim=True).sqrt()


def focus(t: torch.Tensor, power: int) -> torch.Tensor:
    """Focusing function f_p(t) = ||t|| * t^p / ||t^p||, norms over the channel dim (dim 1).

    ||t^p|| is floored at the smallest normal float: for a token whose entries are all near the
    1e-6 floor, (t^p)^2 underflows to 0 and the division would give inf.
    """
    powered = t**power
    return powered * (channel_norm(t) / channel_norm(powered).clamp_min(torch.finfo(t.dtype).tiny))


class FocusedLinearAttention(nn.Module):
    """Focused linear attention (FLatten): O(N) global attention with a focusing kernel map.

    The input is projected to q, k, v of C channels by one 1x1 convolution; k gets the position
    grid (interpolated to H x W); q and k go through ReLU + 1e-6, a learned softplus scale and the
    focusing function; each of the ``heads`` heads forms kv = k^T v / N and normalises by
    z = 1 / (q . mean(k)); a shared depthwise convolution of v is added and a 1x1 convolution with
    bias gives the output. Works at any H, W.

    Args:
        c1: input (and output) channels; must be divisible by ``heads``.
        size: trained feature-map side, imgsz // stride (default 20 = P5 at 640): the side of
            the stored position grid.
        heads: attention heads (default 8).
        focusing_factor: power p of the focusing function (default 3).
        kernel_size: odd kernel of the rank-restoring depthwise convolution (default 5).
        qkv_bias: whether the q, k, v projection has a bias (default False).
        zero_init: make the layer residual, ``x + FLA(x)``, with the output projection's weight
            and bias at 0, so a freshly built layer is exactly the identity (default False: the
            attention alone, as in the seed). See :func:`._common.zero_layer_` for why this form.

    Shape: (B, C, H, W) -> (B, C, H, W)

    :func:`flatten_macs` gives the multiply-adds.
    """

    def __init__(
        self,
        c1: int,
        size: int = 20,
        heads: int = 8,
        focusing_factor: int = 3,
        kernel_size: int = 5,
        qkv_bias: bool = False,
        zero_init: bool = False,
    ) -> None:
        super().__init__()
        check_positive(size, "size")
        check_positive(heads, "heads")
        check_positive(focusing_factor, "focusing_factor")
        check_divisible(c1, heads, "channels", "heads")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size {kernel_size} must be odd and >= 1")
        self.c1 = c1
        self.size = size
        self.heads = heads
        self.head_dim = c1 // heads
        self.focusing_factor = int(focusing_factor)
        self.kernel_size = kernel_size
        self.zero_init = bool(zero_init)
        self.qkv = nn.Conv2d(c1, 3 * c1, 1, bias=bool(qkv_bias))
        self.dwc = nn.Conv2d(
            self.head_dim, self.head_dim, kernel_size, padding=kernel_size // 2, groups=self.head_dim
        )
        self.proj = nn.Conv2d(c1, c1, 1)
        self.scale = nn.Parameter(torch.zeros(1, c1, 1, 1))
        self.positional_encoding = nn.Parameter(torch.zeros(1, c1, size, size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Zero position grid and scale (softplus(0) = log 2), as in the official code.

        With ``zero_init`` the output projection starts at 0: the residual layer is the identity.
        """
        nn.init.zeros_(self.positional_encoding)
        nn.init.zeros_(self.scale)
        if self.zero_init:
            zero_layer_(self.proj)

    def extra_repr(self) -> str:
        return (
            f"c1={self.c1}, size={self.size}, heads={self.heads}, "
            f"focusing_factor={self.focusing_factor}, kernel_size={self.kernel_size}, "
            f"zero_init={self.zero_init}"
        )

    def position(self, height: int, width: int) -> torch.Tensor:
        """(1, C, H, W) position grid: the stored grid, bilinearly resized when H x W differs."""
        return resize_table_2d(self.positional_encoding[0], height, width).unsqueeze(0)

    def feature_map(self, t: torch.Tensor) -> torch.Tensor:
        """ReLU + 1e-6, divided by softplus(scale), then focused: the kernel map of q and k."""
        t = (F.relu(t) + 1e-6) / F.softplus(self.scale.to(t.dtype))
        return focus(t, self.focusing_factor)

    def linear_attention(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Per-head (q kv) z on (B, h, d, N) tensors (float32 or float64); returns (B, h, d, N)."""
        tokens = q.shape[-1]
        kv = torch.matmul(k, v.transpose(-1, -2)) / tokens  # (B, h, d, d): sum_n k[c, n] v[e, n] / N
        k_mean = k.mean(dim=-1, keepdim=True)  # (B, h, d, 1)
        z = 1.0 / (torch.matmul(k_mean.transpose(-1, -2), q) + 1e-6)  # (B, h, 1, N)
        return torch.matmul(kv.transpose(-1, -2), q) * z  # (B, h, d, N)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.c1, type(self).__name__)
        B, _, H, W = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=1)  # 3 x (B, C, H, W)
        core = core_dtype(v.dtype)
        with torch.autocast(device_type=x.device.type, enabled=False):
            k = k.to(core) + self.position(H, W).to(core)
            q, k = self.feature_map(q.to(core)), self.feature_map(k)
            heads = (B, self.heads, self.head_dim, H * W)
            out = self.linear_attention(q.reshape(heads), k.reshape(heads), v.to(core).reshape(heads))
        out = out.to(v.dtype).reshape(B, self.heads, self.head_dim, H, W)
        out = self.proj((out + self.rank_restoration(v)).flatten(1, 2))  # (B, C, H, W)
        return x + out if self.zero_init else out

    def rank_restoration(self, v: torch.Tensor) -> torch.Tensor:
        """The shared depthwise convolution of each head's v: (B, C, H, W) -> (B, heads, d, H, W).

        On the CPU the per-head maps are copied channels-last (the copy that splitting v by head
        needs anyway): the depthwise convolution's backward there took 2.6-3.5x as long on
        channels-first maps at YOLO's shapes, a third of FLatten's training step at P5.
        """
        B = v.shape[0]
        by_head = v.unflatten(1, (self.heads, self.head_dim))  # (B, heads, d, H, W), a view
        if v.device.type != "cpu":
            return self.dwc(by_head.flatten(0, 1)).unflatten(0, (B, self.heads))
        channels_last = by_head.permute(0, 1, 3, 4, 2).contiguous()  # (B, heads, H, W, d)
        maps = channels_last.flatten(0, 1).permute(0, 3, 1, 2)  # (B*heads, d, H, W), channels-last strides
        return self.dwc(maps).unflatten(0, (B, self.heads))
