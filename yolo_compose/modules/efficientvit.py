"""CascadedGroupAttention: EfficientViT's cascaded group attention as a residual YOLO layer.

Paper: Liu et al., "EfficientViT: Memory Efficient Vision Transformer with Cascaded Group
Attention", https://arxiv.org/abs/2305.07027

The channels are split into ``heads`` groups of d = C / heads. Head i attends over its own split
plus the output of head i - 1 (the cascade, paper Eq. 2-3):

    x'_i   = split_i + out_{i-1}                         (x'_0 = split_0)
    q, k, v = BN(W_qkv,i x'_i)          key_dim, key_dim and d channels (1x1 conv + BN)
    q      = BN(DWConv_i q)             one depthwise kernel per head (k_i x k_i)
    out_i  = v softmax(q^T k / sqrt(key_dim) + B_i)^T
    y      = x + BN(W_proj ReLU(concat_i out_i))         (1x1 conv + BN, BN weight 0 at init)

B_i[(y1, x1), (y2, x2)] = b_i[|y1 - y2|, |x1 - x2|] is a learned bias per head indexed by the
absolute pixel offset, as in the official code's ``attention_biases``.

Where attention runs (exactly): with ``window > 0`` and H > window or W > window, the map is
padded at the bottom/right to a multiple of ``window``, attention runs inside each window x window
tile with the padded keys masked out, and the result is cropped (LocalWindowAttention). Otherwise
(the map fits in one window, or ``window = 0``) attention is global over the whole H x W map.
With the defaults (window 20) a 640 input is global at P5 (20 x 20) and tiled at P4 (4 tiles) and
P3 (16 tiles of 400 tokens), so the attention memory stays linear in the pixels.

The bias table holds offsets ``0 .. S - 1`` per axis with S = min(resolution, window)
(S = resolution when window = 0): tiled offsets never exceed window - 1, and global attention on a
map larger than the trained ``resolution`` reuses the bias of the largest trained offset (offsets
are clamped to S - 1), so the math is exact at every size up to the trained one.

Differences (from the paper's official code and the seed code, a copy of it):

* The layer is residual, ``x + CGA(x)``: EfficientViT always wraps CGA in a residual block, and
  the projection BN starting at weight 0 makes the layer the identity at init. The seed used the
  bare module as a YAML layer, whose output is exactly zero at init. The ``zero_init`` argument
  of the other modules (residual, identity at init) is accepted and changes nothing: CGA is that
  already.
* The value width is d = C / heads (what EfficientViT's blocks use, so the cascade sum is
  well-defined); the seed's ``attn_ratio`` argument is therefore implied, not an argument.
* ``kernels`` defaults to one kernel size (5) repeated for every head; a list must have one entry
  per head. The seed defaulted to 8 heads with 4 kernels, an IndexError.
* The bias table is a (heads, S, S) grid gathered in every forward with clamped offsets; the seed
  sized it to one resolution and cached the gathered bias in eval mode, a cache that went stale
  after ``.half()`` or a weight update.
* In tiled mode the 1x1 and depthwise convolutions run on the whole map and only the attention is
  tiled; the official LocalWindowAttention cuts the map first, so its depthwise convolution saw a
  zero border at every tile edge and its padded pixels took part as keys. Here padded keys are
  masked, so the output does not depend on the padding.
* On GPUs attention runs through ``F.scaled_dot_product_attention`` with the bias (and the padding
  mask) as an additive mask; on the CPU explicit matmul/softmax ops are used, which measured faster
  there (see ``CascadedGroupAttention.attention``). The path is chosen once per module
  (``attention_path``, see ``_common.default_attention_path``).
* The cascade is sequential over heads by construction (head i needs head i - 1's output); the
  bias gather, the padding mask and the projection are computed once for all heads.

Cost (multiply-adds), for N = H * W, C channels, h heads, d = C / h, key_dim kd, tiles of
L = th * tw pixels covering Np >= N padded pixels (global: L = Np = N):

    MACs = N * C * (2 kd + d)  (q, k, v)  +  N * kd * sum_i k_i^2  (depthwise on q)
         + h * Np * L * (kd + d)  (q.k and attn.v)  +  N * C^2  (projection)

:func:`cga_macs` computes it; the tests check it against ``FlopCounterMode``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._common import (
    check_divisible,
    check_input,
    check_positive,
    default_attention_path,
    padded_length,
    resolve_attention_path,
)

Kernels = int | list[int] | tuple[int, ...] | None


def _kernel_list(kernels: Kernels, heads: int) -> list[int]:
    """One odd depthwise kernel size per head: an int (or None = 5) is repeated for every head."""
    if isinstance(kernels, (list, tuple)):
        sizes = [int(k) for k in kernels]
    else:
        sizes = [5 if kernels is None else int(kernels)] * heads
    if len(sizes) != heads:
        raise ValueError(f"kernels {sizes} has {len(sizes)} entries but heads is {heads}: give one per head")
    for size in sizes:
        if size < 1 or size % 2 == 0:
            raise ValueError(f"kernel size {size} in kernels {sizes} must be odd and >= 1")
    return sizes


def tile_shape(height: int, width: int, window: int) -> tuple[int, int]:
    """(th, tw) of the attention tiles: the whole map, or window x window when it does not fit."""
    if window > 0 and (height > window or width > window):
        return window, window
    return height, width


def cga_macs(
    c1: int,
    height: int,
    width: int,
    key_dim: int = 16,
    heads: int = 8,
    window: int = 20,
    kernels: Kernels = None,
) -> int:
    """Multiply-adds of one CascadedGroupAttention forward on a (1, c1, height, width) input."""
    value_dim = c1 // heads
    pixels = height * width
    tile_h, tile_w = tile_shape(height, width, window)
    padded_pixels = padded_length(height, tile_h) * padded_length(width, tile_w)
    qkv = pixels * c1 * (2 * key_dim + value_dim)
    depthwise = pixels * key_dim * sum(k * k for k in _kernel_list(kernels, heads))
    attention = heads * padded_pixels * tile_h * tile_w * (key_dim + value_dim)
    projection = pixels * c1 * c1
    return qkv + depthwise + attention + projection


class ConvBN(nn.Sequential):
    """Convolution without bias followed by BatchNorm (EfficientViT's Conv2d_BN)."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 1, groups: int = 1) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, groups=groups, bias=False),
            nn.BatchNorm2d(c_out),
        )


class CascadedGroupAttention(nn.Module):
    """Residual cascaded group attention (EfficientViT CGA), global or in window tiles.

    C channels split into ``heads`` groups of d = C / heads; head i projects its split plus head
    i - 1's output to q, k (``key_dim`` channels each) and v (d channels), filters q with its own
    depthwise kernel, attends with a learned |dy|, |dx| bias, and the concatenated heads go
    through ReLU and a 1x1 conv + BN back to C channels, added to the input. Attention is global
    when the map fits in one ``window`` x ``window`` tile (or ``window = 0``), tiled otherwise.

    Args:
        c1: input (and output) channels; must be divisible by ``heads``.
        key_dim: channels of q and k per head (default 16).
        heads: attention heads (default 8).
        resolution: trained feature-map side, imgsz // stride (default 20 = P5 at 640); sizes the
            bias table together with ``window``.
        window: tile side for local attention when H or W exceeds it; 0 = always global
            (default 20).
        kernels: depthwise kernel size on q, one int for every head or a list with one odd size
            per head (default 5).
        zero_init: accepted for the same YAML interface as the other modules; it changes nothing
            here. CGA is residual in every case and its projection BN starts at weight 0 and bias 0
            (the paper's official init), so its branch is exactly 0 in eval and train mode (0
            times the normalised features, plus 0) and a freshly built layer is the identity.

    Shape: (B, C, H, W) -> (B, C, H, W)

    The cascade runs the heads one after another (head i needs head i - 1's output), so its cost
    grows with ``heads`` in sequential steps; :func:`cga_macs` gives the multiply-adds.

    ``attention_path`` ("auto", "sdpa", "math" or "kernel") is set at construction from
    ``_common.default_attention_path()`` and may be changed on an instance.
    """

    def __init__(
        self,
        c1: int,
        key_dim: int = 16,
        heads: int = 8,
        resolution: int = 20,
        window: int = 20,
        kernels: Kernels = None,
        zero_init: bool = False,
    ) -> None:
        super().__init__()
        check_positive(key_dim, "key_dim")
        check_positive(heads, "heads")
        check_positive(resolution, "resolution")
        check_positive(window, "window", allow_zero=True)
        check_divisible(c1, heads, "channels", "heads")
        self.c1 = c1
        self.key_dim = key_dim
        self.heads = heads
        self.value_dim = c1 // heads
        self.resolution = resolution
        self.window = window
        self.kernels = _kernel_list(kernels, heads)
        self.zero_init = bool(zero_init)  # the layer is the identity at init either way
        self.attention_path = default_attention_path()
        self.table_size = min(resolution, window) if window > 0 else resolution
        self.scale = key_dim**-0.5
        self.qkvs = nn.ModuleList(ConvBN(self.value_dim, 2 * key_dim + self.value_dim) for _ in range(heads))
        self.dws = nn.ModuleList(ConvBN(key_dim, key_dim, k, groups=key_dim) for k in self.kernels)
        self.proj = nn.Sequential(nn.ReLU(), ConvBN(c1, c1))
        self.attention_biases = nn.Parameter(torch.zeros(heads, self.table_size, self.table_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Zero bias table and a projection BN with weight 0: the layer starts as the identity."""
        nn.init.zeros_(self.attention_biases)
        nn.init.zeros_(self.proj[1][1].weight)

    def extra_repr(self) -> str:
        return (
            f"c1={self.c1}, key_dim={self.key_dim}, heads={self.heads}, resolution={self.resolution}, "
            f"window={self.window}, kernels={self.kernels}, zero_init={self.zero_init}"
        )

    def tile_bias(self, tile_h: int, tile_w: int) -> torch.Tensor:
        """(heads, L, L) additive bias of one th x tw tile, L = th * tw, offsets clamped to S - 1.

        The (L, L) table index dy * S + dx is built by broadcasting a (th, th) row-offset and a
        (tw, tw) column-offset table, then one ``index_select`` gathers every head at once.
        """
        device, last = self.attention_biases.device, self.table_size - 1
        rows, cols = torch.arange(tile_h, device=device), torch.arange(tile_w, device=device)
        dy = (rows.unsqueeze(1) - rows.unsqueeze(0)).abs().clamp(max=last)  # (th, th)
        dx = (cols.unsqueeze(1) - cols.unsqueeze(0)).abs().clamp(max=last)  # (tw, tw)
        index = dy.view(tile_h, 1, tile_h, 1) * self.table_size + dx.view(1, tile_w, 1, tile_w)  # th,tw,th,tw
        pixels = tile_h * tile_w
        bias = self.attention_biases.flatten(1).index_select(1, index.flatten())  # (heads, L * L)
        return bias.view(self.heads, pixels, pixels)

    @staticmethod
    def to_tiles(x: torch.Tensor, tile_h: int, tile_w: int) -> torch.Tensor:
        """(B, c, H, W) -> (B, T, th * tw, c): zero-pad to whole tiles and cut them out, row-major."""
        B, c, H, W = x.shape
        pad_h, pad_w = padded_length(H, tile_h) - H, padded_length(W, tile_w) - W
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h))
        n_h, n_w = (H + pad_h) // tile_h, (W + pad_w) // tile_w
        x = x.view(B, c, n_h, tile_h, n_w, tile_w)  # (B, c, nH, th, nW, tw)
        return x.permute(0, 2, 4, 3, 5, 1).reshape(B, n_h * n_w, tile_h * tile_w, c)  # (B, T, L, c)

    @staticmethod
    def from_tiles(x: torch.Tensor, height: int, width: int, tile_h: int, tile_w: int) -> torch.Tensor:
        """(B, T, th * tw, c) -> (B, c, H, W): put the tiles back and crop the padding."""
        B, _, _, c = x.shape
        n_h, n_w = padded_length(height, tile_h) // tile_h, padded_length(width, tile_w) // tile_w
        x = x.view(B, n_h, n_w, tile_h, tile_w, c).permute(0, 5, 1, 3, 2, 4)  # (B, c, nH, th, nW, tw)
        x = x.reshape(B, c, n_h * tile_h, n_w * tile_w)
        return x[:, :, :height, :width]

    def padding_mask(self, x: torch.Tensor, tile_h: int, tile_w: int) -> torch.Tensor | None:
        """(T, 1, L) mask: 0 on image keys, -inf on padded keys; None when the tiles fit exactly."""
        _, _, H, W = x.shape
        if H % tile_h == 0 and W % tile_w == 0:
            return None
        pad_h, pad_w = padded_length(H, tile_h) - H, padded_length(W, tile_w) - W
        mask = F.pad(x.new_zeros(1, 1, H, W), (0, pad_w, 0, pad_h), value=float("-inf"))
        return self.to_tiles(mask, tile_h, tile_w).squeeze(0).transpose(1, 2)  # (T, 1, L)

    def attend(
        self,
        head: int,
        feat: torch.Tensor,
        bias: torch.Tensor,
        pad_mask: torch.Tensor | None,
        tile: tuple[int, int],
    ) -> torch.Tensor:
        """One head of the cascade: (B, d, H, W) input -> (B, d, H, W) attention output.

        ``bias`` is the head's (L, L) position bias; ``pad_mask`` (T, 1, L) masks padded keys.
        """
        _, _, H, W = feat.shape
        if pad_mask is not None:
            bias = bias + pad_mask  # (T, L, L)
        q, k, v = self.qkvs[head](feat).split([self.key_dim, self.key_dim, self.value_dim], dim=1)
        q = self.dws[head](q)
        q, k, v = (self.to_tiles(t, *tile) for t in (q, k, v))  # (B, T, L, kd | kd | d)
        out = self.attention(q, k, v, bias.to(q.dtype))  # (B, T, L, d)
        return self.from_tiles(out, H, W, *tile)  # (B, d, H, W)

    def attention(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        bias: torch.Tensor,
    ) -> torch.Tensor:
        """softmax(q k^T * scale + bias) v over the last two dims.

        The path is the module's ``attention_path`` (see ``_common.default_attention_path``):
        ``F.scaled_dot_product_attention`` on the ``"sdpa"`` path (``"auto"`` off the CPU, in
        fp16/bf16 and while tracing); the explicit ops otherwise, which are CGA's CPU kernel:
        for these head sizes (key_dim 16, d = C / heads) they measured 0.6-0.8x the time of SDPA's
        fused CPU kernel with an additive mask, and in training SDPA falls back to a math path (the
        learned bias needs a gradient) with extra masking passes, about 2x slower. ``"math"`` and
        ``"kernel"`` are therefore the same computation here.
        """
        if resolve_attention_path(self.attention_path, q) == "sdpa":
            return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=self.scale)
        logits = torch.matmul(q * self.scale, k.transpose(-1, -2)).add_(bias)  # (B, T, L, L)
        return torch.matmul(logits.softmax(dim=-1), v)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.c1, type(self).__name__)
        _, _, H, W = x.shape
        tile = tile_shape(H, W, self.window)
        biases = self.tile_bias(*tile)  # (heads, L, L)
        pad_mask = self.padding_mask(x, *tile)  # (T, 1, L) or None
        splits = x.chunk(self.heads, dim=1)  # heads x (B, d, H, W)
        outputs = []
        feat = splits[0]
        for head in range(self.heads):
            if head > 0:
                feat = splits[head] + outputs[-1]
            outputs.append(self.attend(head, feat, biases[head], pad_mask, tile))
        return x + self.proj(torch.cat(outputs, dim=1))  # (B, C, H, W)
