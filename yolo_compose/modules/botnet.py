"""MHSA: the global multi-head self-attention of Bottleneck Transformers (BoTNet).

Paper: Srinivas et al., "Bottleneck Transformers for Visual Recognition",
https://arxiv.org/abs/2101.11605

Every pixel attends every pixel of the map. The logits follow the paper's Fig. 4 with the
relative position encoding of its official code (``relative_logits`` in the BoTNet TPU code):

    logit(i, j) = (q_i . k_j + q_i . r^h[y_j - y_i] + q_i . r^w[x_j - x_i]) / sqrt(d)

with q, k, v 1x1 convolutions of the input, d = c1 / heads channels per head and learned tables
r^h of 2H - 1 and r^w of 2W - 1 rows of size d (shared by the heads). The softmax-weighted sum of
v, heads concatenated, is the output (BoTNet has no output projection inside MHSA).

Differences (from the paper and the seed code, a copy of leaderj1001/BottleneckTransformers):

* Any input size: the tables are stored at the trained size (``width``, ``height``: the feature
  map at the training image size) and linearly resampled to 2H - 1 / 2W - 1 rows at other sizes
  (``align_corners=True``: the extreme offsets map to each other and offset 0 stays offset 0).
  At the trained size no resampling happens, so the math there is exactly the paper's. The seed
  stored an absolute H x W embedding: it crashed at any other H * W and was silently wrong when H
  and W were swapped (e.g. a 12 x 20 validation map against a 20 x 12 table).
* The position term is q_i . r_ij as in the paper; the seed computed r_i . q_j, the transpose.
* Logits are scaled by 1 / sqrt(d) (content and position alike); the seed had no scaling, which
  saturates the softmax for wide heads and overflows sooner in fp16.
* ``zero_init`` (off by default: the paper's plain layer) makes it residual, ``x + MHSA(x)``,
  with the value projection at 0: the identity at init, for inserting into a trained network.
* Attention runs through ``F.scaled_dot_product_attention`` with the position logits as an
  additive bias, so fused kernels are used where the backend has them (GPU, half precision,
  export); on the CPU in float32/float64 the same math runs as ``_common.CpuAttention``. The path
  is chosen once per module (``attention_path``, see ``_common.default_attention_path``).

Cost (multiply-adds), N = H * W, C = c1:

    MACs = 3 * N * C^2  (q, k, v)  +  N * C * (H + W)  (position logits)  +  2 * N^2 * C  (q.k, attn.v)

:func:`mhsa_macs` computes it; the tests check it against ``FlopCounterMode``. Memory grows with
N^2 per head: keep MHSA at P5 (N = 400 at 640; P3 would be 6,400 tokens).
"""

from __future__ import annotations

import torch
from torch import nn

from ._common import (
    attention,
    check_divisible,
    check_input,
    check_positive,
    default_attention_path,
    init_relative_tables,
    relative_index,
    resize_table_1d,
    zero_layer_,
)


def mhsa_macs(c1: int, height: int, width: int) -> int:
    """Multiply-adds of one MHSA forward on a (1, c1, height, width) input."""
    pixels = height * width
    return 3 * pixels * c1 * c1 + pixels * c1 * (height + width) + 2 * pixels * pixels * c1


class MHSA(nn.Module):
    """Global multi-head self-attention with 2-D relative position logits (BoTNet).

    q, k, v are 1x1 convolutions of the input with ``c1`` channels split into ``heads`` heads of
    ``d = c1 // heads``; each pixel attends all H * W pixels with content + relative-position logits.

    Args:
        c1: input (and output) channels; must be divisible by ``heads``.
        width: feature-map width at the trained image size (default 20: P5 at 640).
        height: feature-map height at the trained image size (default 20).
        heads: number of attention heads (default 4).
        zero_init: make the layer residual, ``x + MHSA(x)``, with the value projection's weight
            and bias at 0, so a freshly built layer is exactly the identity (default False: the
            paper's plain layer). MHSA has no output projection (BoTNet puts none inside it); the
            attention output is linear in v, so a zero v makes it exactly 0. See
            :func:`._common.zero_layer_` for why this form.

    Shape:
        (B, c1, H, W) -> (B, c1, H, W), any H, W.

    ``attention_path`` ("auto", "sdpa", "math" or "kernel") is set at construction from
    ``_common.default_attention_path()`` and may be changed on an instance.
    """

    def __init__(
        self,
        c1: int,
        width: int = 20,
        height: int = 20,
        heads: int = 4,
        zero_init: bool = False,
    ) -> None:
        super().__init__()
        check_positive(c1, "c1")
        check_positive(width, "width")
        check_positive(height, "height")
        check_positive(heads, "heads")
        check_divisible(c1, heads, "channels", "heads")
        self.c1 = c1
        self.width = width
        self.height = height
        self.heads = heads
        self.dim_head = c1 // heads
        self.zero_init = bool(zero_init)
        self.attention_path = default_attention_path()
        self.q = nn.Conv2d(c1, c1, 1)
        self.k = nn.Conv2d(c1, c1, 1)
        self.v = nn.Conv2d(c1, c1, 1)
        self.rel_height = nn.Parameter(torch.empty(2 * height - 1, self.dim_head))
        self.rel_width = nn.Parameter(torch.empty(2 * width - 1, self.dim_head))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Relative tables ~ N(0, 1/d) as in the official code; convs keep PyTorch's defaults.

        With ``zero_init`` the value projection starts at 0: the residual layer is the identity.
        """
        init_relative_tables(self.rel_height, self.rel_width, dim_head=self.dim_head)
        if self.zero_init:
            zero_layer_(self.v)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attend every pixel to every pixel; see the class docstring."""
        check_input(x, self.c1, type(self).__name__)
        B, C, H, W = x.shape
        q, k, v = (self._heads(conv(x)) for conv in (self.q, self.k, self.v))  # (B, heads, N, d)
        scale = self.dim_head**-0.5
        q, k, v = (t.flatten(0, 1) for t in (q, k, v))  # (B*heads, N, d)
        position = self._relative_logits(q, H, W, scale)  # terms of (B*heads, N, N)
        path = self.attention_path
        out = attention(q, k, v, position, scale, path).unflatten(0, (B, self.heads))  # (B, heads, N, d)
        out = out.transpose(2, 3).reshape(B, C, H, W)
        return x + out if self.zero_init else out

    def _heads(self, t: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, heads, H*W, d)."""
        B, _, H, W = t.shape
        return t.reshape(B, self.heads, self.dim_head, H * W).transpose(2, 3)

    def _relative_logits(
        self, q: torch.Tensor, height: int, width: int, scale: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """scale * (q_i . r^h[y_j - y_i] + q_i . r^w[x_j - x_i]) for all query/key pairs, as two terms.

        q is (G, N, d). The terms are (G, H, W, H, 1) and (G, H, W, 1, W): their broadcast sum is
        the (G, N, N) logits seen as (G, H_i, W_i, H_j, W_j), which the attention forms in its
        own logits buffer (see ``_common.attention``). The scale multiplies the small tables, not
        q (one pass over the queries fewer, both ways).
        """
        G, _, d = q.shape
        height, width = int(height), int(width)  # plain ints also while tracing (sizes are baked in)
        rel_h = self.table(self.rel_height, height).to(q.dtype) * scale  # (2H - 1, d)
        rel_w = self.table(self.rel_width, width).to(q.dtype) * scale  # (2W - 1, d)
        rel_h = rel_h[relative_index(height, height, height - 1).to(q.device)]  # (H_i, H_j, d)
        rel_w = rel_w[relative_index(width, width, width - 1).to(q.device)]  # (W_i, W_j, d)
        q = q.reshape(G, height, width, d)
        logits_h = torch.einsum("gyxd,yjd->gyxj", q, rel_h)  # (G, H, W, H)
        logits_w = torch.einsum("gyxd,xkd->gyxk", q, rel_w)  # (G, H, W, W)
        return logits_h.unsqueeze(-1), logits_w.unsqueeze(-2)

    @staticmethod
    def table(parameter: torch.Tensor, size: int) -> torch.Tensor:
        """The relative table for a map side of `size` pixels: 2 * size - 1 rows (resampled if needed)."""
        return resize_table_1d(parameter, 2 * size - 1)
