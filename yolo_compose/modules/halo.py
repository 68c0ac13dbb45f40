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
* Attention runs through ``F.scaled_dot_product_attention`` with the relative logits and the mask
  as an additive bias (fused kernels at inference and export); with autograd the same math is
  written out (see ``_common.attention``). The relative logits multiply q with the whole tables
  and then pick each query row's offsets (one matrix product, no copy of q).

Cost (multiply-adds), for N = H * W pixels, Np = Hp * Wp after padding to a multiple of b,
C = c1, I = heads * dim_head, w = b + 2h:

    MACs = N * C * 3I  (q, k, v)  +  Np * I * 2(b + w - 1)  (relative logits, whole tables)
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
    init_relative_tables,
    pad_to_multiple,
    padded_length,
)


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
    relative = padded_pixels * inner * 2 * (block + window - 1)
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

    Shape:
        (B, c1, H, W) -> (B, c1, H, W)
    """

    def __init__(
        self,
        c1: int,
        block: int = 2,
        halo: int = 1,
        heads: int = 4,
        dim_head: int = 0,
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
        """Relative tables ~ N(0, 1/d) as in the reference code; convs keep PyTorch's defaults."""
        init_relative_tables(self.rel_height, self.rel_width, dim_head=self.dim_head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attend each b x b block to its halo window; see the class docstring."""
        check_input(x, self.c1, type(self).__name__)
        B, _, H, W = x.shape
        q = self._query_blocks(self.q(x) * self.dim_head**-0.5)  # (B, heads, nb, b*b, d)
        k = self._gather(self.k(x), self.window, self.halo)  # (B, heads, nb, w*w, d)
        v = self._gather(self.v(x), self.window, self.halo)  # (B, heads, nb, w*w, d)
        bias = self._relative_logits(q) + self._padding_mask(H, W, q.dtype, q.device)
        q, k, v, bias = (t.flatten(0, 2) for t in (q, k, v, bias))  # batch dims (B*heads*nb)
        out = attention(q, k, v, bias)  # (B*heads*nb, b*b, d)
        return self.out(self._merge_blocks(out.unflatten(0, (B, self.heads, -1)), H, W))

    def _query_blocks(self, q: torch.Tensor) -> torch.Tensor:
        """(B, I, H, W) queries -> (B, heads, nb, b*b, d): the map cut into b x b blocks (one copy)."""
        B = q.shape[0]
        b = self.block
        q = pad_to_multiple(q, b)
        n_h, n_w = q.shape[2] // b, q.shape[3] // b
        q = q.reshape(B, self.heads, self.dim_head, n_h, b, n_w, b)
        return q.permute(0, 1, 3, 5, 4, 6, 2).reshape(B, self.heads, n_h * n_w, b * b, self.dim_head)

    def _gather(self, t: torch.Tensor, size: int, margin: int) -> torch.Tensor:
        """Split a (B, I, H, W) map by head and cut out every block's square: (B, heads, nb, size*size, d).

        ``size = w, margin = halo`` gives the key/value windows (the query blocks, which do not
        overlap, are a plain reshape: :meth:`_query_blocks`).
        """
        B, _, H, W = t.shape
        t = t.reshape(B, self.heads, self.dim_head, H, W).permute(0, 1, 3, 4, 2)  # (B, heads, H, W, d)
        return self._squares(t, size, margin)

    def _squares(self, t: torch.Tensor, size: int, margin: int) -> torch.Tensor:
        """(B, G, H, W, D) -> (B, G, nblocks, size*size, D): the square of side `size` starting `margin`
        pixels above and left of every b x b block; pixels outside the image are zeros.

        The squares are gathered with one flat index (``index_select`` over pixels, each a
        contiguous row of D channels) rather than ``Tensor.unfold``: the same copy, and it exports
        to ONNX with dynamic shapes.
        """
        B, G, H, W, D = t.shape
        b = self.block
        n_h, n_w = padded_length(H, b) // b, padded_length(W, b) // b
        t = F.pad(t, (0, 0, margin, n_w * b - W + margin, margin, n_h * b - H + margin))
        index = self._square_index(n_h, n_w, size, t.shape[3], t.device)  # (nb * size*size,)
        t = t.flatten(2, 3).index_select(2, index)  # (B, G, nb * size*size, D)
        return t.reshape(B, G, n_h * n_w, size * size, D)

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

    def _relative_logits(self, q: torch.Tensor) -> torch.Tensor:
        """q_i . r^h[y_j - y_i] + q_i . r^w[x_j - x_i] for every query and window key: (..., b*b, w*w).

        q is multiplied with the whole (b + w - 1)-row tables (one matrix product, no copy of q);
        query row y then keeps table rows ``j - y + b - 1`` for window rows j = 0 .. w - 1, a
        contiguous slice starting at ``b - 1 - y`` (the same for columns).
        """
        b, w = self.block, self.window
        q = q.unflatten(-2, (b, b))  # (B, heads, nb, b_y, b_x, d)
        table_h = q @ self.rel_height.to(q.dtype).t()  # (B, heads, nb, b_y, b_x, b + w - 1)
        table_w = q @ self.rel_width.to(q.dtype).t()  # (B, heads, nb, b_y, b_x, b + w - 1)
        logits_h = torch.stack([table_h[..., y, :, b - 1 - y : b - 1 - y + w] for y in range(b)], dim=-3)
        logits_w = torch.stack([table_w[..., :, x, b - 1 - x : b - 1 - x + w] for x in range(b)], dim=-2)
        logits = logits_h.unsqueeze(-1) + logits_w.unsqueeze(-2)  # (B, heads, nb, b_y, b_x, w_y, w_x)
        return logits.flatten(-4, -3).flatten(-2, -1)  # (B, heads, nb, b*b, w*w)

    def _padding_mask(
        self, height: int, width: int, dtype: torch.dtype, device: torch.device
    ) -> torch.Tensor:
        """Additive mask (nblocks, 1, w*w): 0 for keys inside the image, -inf for padding."""
        valid = torch.ones(1, 1, height, width, 1, dtype=dtype, device=device)
        windows = self._squares(valid, self.window, self.halo)[0, 0, :, :, 0]  # (nb, w*w): 0 = padding
        mask = torch.zeros_like(windows).masked_fill(windows == 0, -math.inf)
        return mask[:, None, :]  # (nb, 1, w*w)

    def _merge_blocks(self, out: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """(B, heads, nb, b*b, d) block outputs back to a cropped (B, I, H, W) map."""
        B = out.shape[0]
        b = self.block
        n_h, n_w = padded_length(height, b) // b, padded_length(width, b) // b
        out = out.reshape(B, self.heads, n_h, n_w, b, b, self.dim_head)
        out = out.permute(0, 1, 6, 2, 4, 3, 5)  # (B, heads, d, nH, b, nW, b)
        out = out.reshape(B, self.inner, n_h * b, n_w * b)
        return out[:, :, :height, :width]
