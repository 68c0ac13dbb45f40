"""HaloAttention: blocked local self-attention with halo windows (HaloNet).

Paper: Vaswani et al., "Scaling Local Self-Attention for Parameter Efficient Visual Backbones",
https://arxiv.org/abs/2103.12731

The image is split into non-overlapping b x b query blocks; every query in a block attends to the
same (b + 2h) x (b + 2h) window around the block (the block plus a halo of h pixels). Logits are
content plus factorised relative position, as in the paper (Sec. 2, Eq. for relative attention):

    logit(i, j) = (q_i . k_j + q_i . r^h[y_j - y_i] + q_i . r^w[x_j - x_i]) / sqrt(d)

with learned per-offset tables r^h, r^w of size d (shared by the heads), then a softmax over the
window, a weighted sum of v, heads concatenated and a 1x1 output projection.

Differences (from the paper and the seed code, a copy of halonet-pytorch):

* Any H, W: the map is zero-padded at the bottom/right to a multiple of b, padded and
  out-of-image keys are masked with -inf, and the output is cropped back. The seed required
  H, W divisible by b and its mask was inverted (it masked the *valid* keys), which made the module
  an average pool inside the image and a constant at the borders.
* q, k and v are 1x1 projections of the whole map computed *before* the windows are cut (k and v
  have no bias), the same math as the seed's per-window projection at (b + 2h)^2 / b^2 less cost.
* The inner width heads * dim_head equals c1 by default (heads 4, dim_head c1 / 4) instead of the
  seed's fixed 8 x 64 = 512, so the cost scales with the layer it is inserted at and a width-scaled
  model (n/s/m/l/x) keeps the same attention-to-conv cost ratio.
* The relative tables hold exactly the b + w - 1 offsets that occur (the seed stored 2w - 1 rows,
  some never used).
* ``zero_init`` (off by default: the paper's plain layer) makes it residual, ``x + out(...)``,
  with the output projection at 0: the identity at init, for inserting into a trained network.
* The 1/sqrt(d) scale is applied inside the attention products and folded into the (tiny)
  relative tables, not applied to the query map.
* The relative logits of a block are one batched product per query position: the b*b query
  positions each get a (w*w, d) table of r^h[y_j - y_i] + r^w[x_j - x_i], built once per forward
  from the two learned tables, and the padding mask is added in the same product.
* The attention path is chosen once per module (``attention_path``, from
  ``_common.default_attention_path``: ``YOLO_COMPOSE_ATTENTION`` or ``set_attention_path``;
  settable per instance). With ``"auto"`` (default), on the CPU in float32/float64 outside
  autocast and tracing (training and eager inference) the layer runs the CPU kernel,
  :meth:`HaloAttention._cpu_forward`: q, k and v are one batched product on channels-last
  pixel rows (the three 1x1 weights side by side), and :class:`._halo_kernel.WindowAttention`
  does the rest chunk by chunk, about 1 MiB of window data at a time, in buffers that every chunk
  reuses, so the key/value windows are never held whole (``_halo_kernel.py`` says how and why).
  Elsewhere (GPU, autocast, tracing for TorchScript/ONNX: the ``"sdpa"`` path) the projections
  are the 1x1 convolutions, the windows are gathered with one ``index_select`` and attention is
  ``F.scaled_dot_product_attention`` with the relative logits and the mask as an additive bias
  (``"math"``: the same with plain ops). Every path holds the same parameters (``q``, ``k``,
  ``v``, ``out`` convolutions) and computes the same math; the tests hold each to a float64
  reference.

Cost (multiply-adds), for N = H * W pixels, Np = Hp * Wp after padding to a multiple of b,
C = c1, I = heads * dim_head, w = b + 2h:

    MACs = N * C * 3I  (q, k, v)  +  Np * I * w^2  (relative logits)
         + Np * I * 2w^2  (q.k and attn.v)  +  N * I * C  (output)

:func:`halo_macs` computes it; the tests check it against ``FlopCounterMode``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._common import (
    attention,
    check_divisible,
    check_input,
    check_positive,
    default_attention_path,
    init_relative_tables,
    pad_to_multiple,
    padded_length,
    resolve_attention_path,
    zero_layer_,
)
from ._halo_kernel import WindowAttention


def halo_macs(
    c1: int,
    height: int,
    width: int,
    block: int = 2,
    halo: int = 1,
    heads: int = 4,
    dim_head: int = 0,
) -> int:
    """Multiply-adds of one HaloAttention forward on a (1, c1, height, width) input."""
    inner = heads * (dim_head or c1 // heads)
    window = block + 2 * halo
    pixels = height * width
    padded_pixels = padded_length(height, block) * padded_length(width, block)
    projections = pixels * c1 * 3 * inner + pixels * inner * c1
    relative = padded_pixels * inner * window * window
    attention = padded_pixels * inner * 2 * window * window
    return projections + relative + attention


class HaloAttention(nn.Module):
    """Blocked local multi-head self-attention: b x b query blocks attend (b + 2h)^2 windows.

    The input is projected to q, k, v of width ``heads * dim_head`` with 1x1 convolutions, each
    block's queries attend the keys of their window with content + relative-position logits, and a
    1x1 convolution maps the concatenated heads back to ``c1`` channels. Works at any H, W.

    Args:
        c1: input (and output) channels.
        block: query block size b, pixels per side (default 2).
        halo: halo h, extra pixels on each side of the block in the key window (default 1).
        heads: number of attention heads (default 4).
        dim_head: channels per head; 0 (default) means ``c1 // heads``, so the inner width equals c1.
        zero_init: make the layer residual, ``x + out(attention)``, with the output projection's
            weight and bias at 0, so a freshly built layer is exactly the identity (default False:
            the paper's plain layer). See :func:`._common.zero_layer_` for why this form.

    Shape:
        (B, c1, H, W) -> (B, c1, H, W)

    ``attention_path`` ("auto", "sdpa", "math" or "kernel") is set at construction from
    ``_common.default_attention_path()`` and may be changed on an instance.
    """

    def __init__(
        self,
        c1: int,
        block: int = 2,
        halo: int = 1,
        heads: int = 4,
        dim_head: int = 0,
        zero_init: bool = False,
    ) -> None:
        super().__init__()
        check_positive(c1, "c1")
        check_positive(block, "block")
        check_positive(halo, "halo", allow_zero=True)
        check_positive(heads, "heads")
        if dim_head == 0:
            check_divisible(c1, heads, "channels", "heads")
            dim_head = c1 // heads
        check_positive(dim_head, "dim_head")
        self.c1 = c1
        self.block = block
        self.halo = halo
        self.heads = heads
        self.dim_head = dim_head
        self.inner = heads * dim_head
        self.window = block + 2 * halo
        self.zero_init = bool(zero_init)
        self.attention_path = default_attention_path()
        self.q = nn.Conv2d(c1, self.inner, 1, bias=False)
        self.k = nn.Conv2d(c1, self.inner, 1, bias=False)
        self.v = nn.Conv2d(c1, self.inner, 1, bias=False)
        self.out = nn.Conv2d(self.inner, c1, 1)
        # Offsets between a query (block row i) and a key (window row j) run over j - i - halo in
        # -(block + halo - 1) .. (block + halo - 1): block + window - 1 rows.
        self.rel_height = nn.Parameter(torch.empty(block + self.window - 1, dim_head))
        self.rel_width = nn.Parameter(torch.empty(block + self.window - 1, dim_head))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Relative tables ~ N(0, 1/d) as in the reference code; convs keep PyTorch's defaults.

        With ``zero_init`` the output projection starts at 0: the residual layer is the identity.
        """
        init_relative_tables(self.rel_height, self.rel_width, dim_head=self.dim_head)
        if self.zero_init:
            zero_layer_(self.out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attend each b x b block to its halo window; see the class docstring."""
        check_input(x, self.c1, type(self).__name__)
        H, W = x.shape[-2:]
        scale = self.dim_head**-0.5
        tables = self._relative_tables(scale, x.dtype)  # (b*b, w*w, d)
        mask = self._padding_mask(H, W, x.dtype, x.device)  # (nb, w*w)
        path = resolve_attention_path(self.attention_path, x)
        if path == "kernel":
            branch = self._cpu_forward(x, tables, mask, scale)
        else:
            q, k, v = self.q(x), self.k(x), self.v(x)  # (B, I, H, W) each
            branch = self.out(self._gathered_attention(q, k, v, tables, mask, scale, path))
        return x + branch if self.zero_init else branch

    def _cpu_forward(
        self, x: torch.Tensor, tables: torch.Tensor, mask: torch.Tensor, scale: float
    ) -> torch.Tensor:
        """The CPU float path: projections as batched products on channels-last pixel rows.

        The q, k, v projections are one product of the (B, H*W, C) pixel rows (a transposed view
        of x) with the three 1x1 weights side by side, which gives the channels-last rows that
        :class:`WindowAttention` cuts without any transposing copy; the output projection reads
        its (B, H*W, I) result as transposed operand and writes (B, C, H*W) directly. Same weights
        and math as the convolutions of the other path; at YOLO's shapes the three convolutions'
        training step took 1.4-2.1x the time of the one product (their backward loops over images).
        """
        B, C, H, W = x.shape
        pixels = x.flatten(2).transpose(1, 2)  # (B, H*W, C), a view
        weight = torch.cat([self.q.weight, self.k.weight, self.v.weight]).flatten(1)  # (3I, C)
        qkv = torch.bmm(pixels, weight.t().expand(B, -1, -1))  # (B, H*W, 3I)
        attended = WindowAttention.apply(qkv, tables, mask, scale, self.heads, self.block, self.halo, H, W)
        out_weight = self.out.weight.flatten(1).expand(B, -1, -1)  # (B, C, I)
        out = torch.baddbmm(self.out.bias.view(1, C, 1), out_weight, attended.transpose(1, 2))  # (B, C, H*W)
        return out.view(B, C, H, W)

    def _gathered_attention(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, tables: torch.Tensor, mask: torch.Tensor,
        scale: float, path: str = "sdpa",
    ) -> torch.Tensor:
        """The attention of (B, I, H, W) maps with whole tensors of blocks and windows: (B, I, H, W).

        The ``"sdpa"`` and ``"math"`` paths (export, autocast, other devices);
        :class:`WindowAttention` is the same math on the CPU kernel path.
        """
        B, _, H, W = q.shape
        q = self._query_blocks(q).flatten(0, 2)  # (B*heads*nb, b*b, d)
        bias = self._relative_logits(q, tables, mask)
        k = self._windows(self._padded(self._by_head(k)))  # (B*heads*nb, w*w, d)
        v = self._windows(self._padded(self._by_head(v)))
        out = attention(q, k, v, bias, scale, path)  # (B*heads*nb, b*b, d)
        return self._merge_blocks(out.unflatten(0, (B, self.heads, -1)), H, W)

    def _query_blocks(self, q: torch.Tensor) -> torch.Tensor:
        """(B, I, H, W) queries -> (B, heads, nb, b*b, d): the map cut into b x b blocks (one copy)."""
        B = q.shape[0]
        b = self.block
        q = pad_to_multiple(q, b)
        n_h, n_w = q.shape[2] // b, q.shape[3] // b
        q = q.reshape(B, self.heads, self.dim_head, n_h, b, n_w, b)
        return q.permute(0, 1, 3, 5, 4, 6, 2).reshape(B, self.heads, n_h * n_w, b * b, self.dim_head)

    def _by_head(self, t: torch.Tensor) -> torch.Tensor:
        """(B, I, H, W) -> (B*heads, H, W, d): one head's channels per map, channels last (a view)."""
        B, _, H, W = t.shape
        return t.reshape(B, self.heads, self.dim_head, H, W).permute(0, 1, 3, 4, 2).flatten(0, 1)

    def _padded(self, t: torch.Tensor) -> torch.Tensor:
        """(G, H, W, D) -> (G, Hp + 2h, Wp + 2h, D): the halo on every side, and bottom/right up to a
        multiple of b; zeros outside the image. Block (i, j)'s window starts at (i*b, j*b) in it."""
        _, H, W, _ = t.shape
        b, margin = self.block, self.halo
        pad_h, pad_w = padded_length(H, b) - H, padded_length(W, b) - W
        return F.pad(t, (0, 0, margin, pad_w + margin, margin, pad_h + margin))

    def _windows(self, t: torch.Tensor) -> torch.Tensor:
        """(G, Hp + 2h, Wp + 2h, D) padded maps -> (G * nb, w*w, D): every block's window.

        One flat index (``index_select`` over pixels, each a contiguous row of D channels): the
        gather that exports to ONNX with dynamic shapes.
        """
        G, height, width, D = t.shape
        b, w = self.block, self.window
        n_h, n_w = (height - w) // b + 1, (width - w) // b + 1
        index = self._square_index(n_h, n_w, w, width, t.device)  # (nb * w*w,)
        return t.flatten(1, 2).index_select(1, index).reshape(G * n_h * n_w, w * w, D)

    def _square_index(
        self, n_h: int, n_w: int, size: int, row_length: int, device: torch.device
    ) -> torch.Tensor:
        """Flat positions, in a padded map of row length `row_length`, of each block's size x size square.

        Entry (block (i, j), offset (dy, dx)) is ``(i*b + dy) * row_length + (j*b + dx)``.
        """
        b = self.block
        offsets = torch.arange(size, device=device)
        rows = torch.arange(n_h, device=device) * b  # (nH,) first square row of each block row
        cols = torch.arange(n_w, device=device) * b  # (nW,)
        y = (rows[:, None, None, None] + offsets[None, None, :, None]) * row_length  # (nH, 1, size, 1)
        x = cols[None, :, None, None] + offsets[None, None, None, :]  # (1, nW, 1, size)
        return (y + x).reshape(-1)  # (nH * nW * size * size,)

    def _relative_tables(self, scale: float, dtype: torch.dtype) -> torch.Tensor:
        """T_p[j] = scale * (r^h[y_j - y_p] + r^w[x_j - x_p]) for block position p, window key j.

        Shape (b*b, w*w, d): one (w*w, d) table per query position of a block.
        """
        b, w = self.block, self.window
        device = self.rel_height.device
        rows = torch.arange(b, device=device)
        keys = torch.arange(w, device=device)
        offsets = keys[None, :] - rows[:, None] + b - 1  # (b, w): table row of (query row, key row)
        index_h = offsets[:, None, :, None].expand(b, b, w, w).reshape(b * b, w * w)
        index_w = offsets[None, :, None, :].expand(b, b, w, w).reshape(b * b, w * w)
        return ((self.rel_height[index_h] + self.rel_width[index_w]) * scale).to(dtype)

    def _relative_logits(self, q: torch.Tensor, tables: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """q_p . T_p[j] + mask_j for every block, query position p and window key j: (N, b*b, w*w).

        q is (N, b*b, d) with N = B * heads * nb in (B, heads, nb) order and mask is (nb, w*w).
        All N blocks are multiplied with the tables at once: one ``baddbmm`` over the b*b
        positions whose added term is the padding mask, so the bias comes out of a single product.
        """
        lead, window_keys = q.shape[0], tables.shape[1]
        per_block = mask.expand(lead // mask.shape[0], -1, -1).reshape(1, lead, window_keys)
        by_position = q.transpose(0, 1)  # (b*b, N, d), a view
        logits = torch.baddbmm(per_block, by_position, tables.transpose(1, 2))  # (b*b, N, w*w)
        return logits.transpose(0, 1)  # (N, b*b, w*w)

    def _padding_mask(
        self, height: int, width: int, dtype: torch.dtype, device: torch.device
    ) -> torch.Tensor:
        """Additive mask (nblocks, w*w): 0 for keys inside the image, -inf for padding."""
        valid = torch.ones(1, height, width, 1, dtype=dtype, device=device)
        windows = self._windows(self._padded(valid))[:, :, 0]  # (nb, w*w): 0 = padding
        return torch.zeros_like(windows).masked_fill(windows == 0, -math.inf)

    def _merge_blocks(self, out: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """(B, heads, nb, b*b, d) block outputs back to a cropped (B, I, H, W) map."""
        B = out.shape[0]
        b = self.block
        n_h, n_w = padded_length(height, b) // b, padded_length(width, b) // b
        out = out.reshape(B, self.heads, n_h, n_w, b, b, self.dim_head)
        out = out.permute(0, 1, 6, 2, 4, 3, 5)  # (B, heads, d, nH, b, nW, b)
        out = out.reshape(B, self.inner, n_h * b, n_w * b)
        if out.shape[-2:] == (height, width):
            return out  # no crop: slicing would cost a zeroed copy in the backward
        return out[:, :, :height, :width]
