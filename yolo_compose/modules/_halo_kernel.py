"""HaloAttention's CPU kernel: the chunked window attention of its ``"kernel"`` path.

Holds :class:`WindowAttention`, the autograd Function that :meth:`.halo.HaloAttention._cpu_forward`
runs between the q, k, v product and the output projection, and :class:`_Chunks`, the geometry,
chunk order and reused buffers it works in. A private helper of ``halo.py`` (timm's ``layers/``
style): ``halo.py`` holds the layer, its parameters and its gathered path, which computes the same
function with whole tensors; this file holds only the CPU implementation of the attention, which
the tests hold to the gathered path, forward and backward.

Why a kernel: the gathered path holds the key and value windows whole, (w/b)^2 times the size of
a map (26 MB each at P4 C128 batch 8, 52 MB at P3), and the query blocks and the padded maps,
forward and backward. Before this kernel, about a third of a CPU training step went to copies
between layouts (head split, padding, block cut, their gradients) and to zero-filling
window-sized gradient maps, much of it page faults on freshly allocated megabytes. Here the
windows are cut chunk by chunk, about :data:`CHUNK_BYTES` of window data at a time, into buffers
that every chunk reuses: none of those tensors is ever held whole, and every layout change is a
chunk-sized copy of d-channel runs. The backward cuts them again from the saved q, k, v rows and
sums the window gradients back cell by cell.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import torch

from ._common import padded_length, softmax_, softmax_backward_

#: Window data (bytes) that :class:`WindowAttention` cuts per chunk: small enough that a chunk's
#: windows, blocks and staging maps stay in cache while they are reused, large enough that the
#: per-chunk Python overhead is negligible.
CHUNK_BYTES = 1 << 20


class WindowAttention(torch.autograd.Function):
    """HaloAttention's attention on the CPU, from projected pixel rows to output rows, chunk by chunk.

    Inputs: qkv (B, H*W, 3I) channels-last pixel rows (q, k, v side by side, each ``heads`` x d),
    the relative tables (b*b, w*w, d) of :meth:`.halo.HaloAttention._relative_tables` (scale included),
    the padding mask (nb, w*w), the scale, then heads, block, halo and the map's H, W. Output:
    (B, H*W, I) pixel rows, heads concatenated, before the output projection.

    For each chunk (whole images, or some heads of one image: about :data:`CHUNK_BYTES` of window
    data) the forward copies q, k and v into zero-bordered staging maps, one per image-head, cuts
    the query blocks and the key and value windows out of them into buffers that every chunk
    reuses, computes ``mask + q . T_p + scale * q k^T`` (relative and content logits written into
    the same rows of the weights), the softmax over them in place, and the output blocks, which go
    straight back to the output rows. The backward cuts the same blocks and windows again from
    the saved input and writes the gradients of q, k and v (window gradients summed cell by
    cell) straight into a gradient of the input's layout.

    Saved for the backward: the input, the tables and the attention weights (one
    (B * heads * nb, b*b, w*w) tensor); no window, block or padded copy of a map is ever held
    whole, and every layout change is a chunk-sized copy of d-channel runs into a reused buffer.
    Float32/float64 on the CPU (``cpu_kernel_applies``); not twice differentiable.
    """

    @staticmethod
    def forward(
        ctx,
        qkv: torch.Tensor,
        tables: torch.Tensor,
        mask: torch.Tensor,
        scale: float,
        heads: int,
        block: int,
        halo: int,
        height: int,
        width: int,
    ) -> torch.Tensor:
        chunks = _Chunks(qkv, heads, block, halo, height, width, backward=False)
        qkv_maps = chunks.maps(qkv, 3)  # (B, heads, 3, H, W, d), a view
        weights = qkv.new_empty(chunks.all_rows, block * block, chunks.window**2)  # (B*heads*nb, b*b, w*w)
        out = qkv.new_empty(qkv.shape[0], qkv.shape[1], qkv.shape[2] // 3)  # (B, H*W, I)
        tables_t = tables.transpose(1, 2)  # (b*b, d, w*w)
        for chunk in chunks:
            q, k, v = chunks.load(qkv_maps, chunk).unbind(1)  # staging maps (maps, side_h, side_w, d)
            queries = chunks.cut_blocks(q, chunks.queries)  # (rows, b*b, d)
            keys = chunks.cut_windows(k, chunks.keys)  # (rows, w*w, d)
            values = chunks.cut_windows(v, chunks.values)
            logits = weights[chunk.rows]  # (rows, b*b, w*w)
            by_position = logits.transpose(0, 1)  # (b*b, rows, w*w), a view
            torch.baddbmm(chunks.mask(mask, chunk), queries.transpose(0, 1), tables_t, out=by_position)
            torch.baddbmm(logits, queries, keys.transpose(1, 2), alpha=scale, out=logits)
            softmax_(logits)
            blocks = torch.bmm(logits, values, out=queries)  # (rows, b*b, d)
            chunks.place_blocks(blocks, chunk, part=0)
            chunks.store(chunk, chunks.maps(out, 1))
        ctx.save_for_backward(qkv, tables, weights)
        ctx.scale, ctx.geometry = scale, (heads, block, halo, height, width)
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out: torch.Tensor):
        qkv, tables, weights = ctx.saved_tensors
        scale, chunks = ctx.scale, _Chunks(qkv, *ctx.geometry, backward=True)
        qkv_maps, grad_out_maps = chunks.maps(qkv, 3), chunks.maps(grad_out, 1)
        grad_qkv = torch.empty_like(qkv, memory_format=torch.contiguous_format)
        grad_tables = torch.zeros_like(tables)  # (b*b, w*w, d)
        for chunk in chunks:
            q, k, v = chunks.load(qkv_maps, chunk).unbind(1)
            queries = chunks.cut_blocks(q, chunks.queries)
            keys = chunks.cut_windows(k, chunks.keys)
            values = chunks.cut_windows(v, chunks.values)
            grad_blocks = chunks.cut_blocks(chunks.load(grad_out_maps, chunk)[:, 0], chunks.grad_blocks)
            chunk_weights = weights[chunk.rows]
            grad_logits = chunks.grad_logits[: chunk.count]
            torch.bmm(grad_blocks, values.transpose(1, 2), out=grad_logits)  # of the weights, for now
            grad_values = torch.bmm(chunk_weights.transpose(1, 2), grad_blocks, out=values)
            chunks.add_windows(grad_values, chunk, part=2)
            softmax_backward_(grad_logits, chunk_weights)
            by_position = grad_logits.transpose(0, 1)  # (b*b, rows, w*w)
            torch.baddbmm(grad_tables, by_position.transpose(1, 2), queries.transpose(0, 1), out=grad_tables)
            grad_queries = torch.baddbmm(grad_blocks, grad_logits, keys, beta=0, alpha=scale, out=grad_blocks)
            grad_queries_t = grad_queries.transpose(0, 1)  # (b*b, rows, d), a view
            torch.baddbmm(grad_queries_t, by_position, tables, out=grad_queries_t)
            chunks.place_blocks(grad_queries, chunk, part=0)
            grad_logits_t = grad_logits.transpose(1, 2)  # (rows, w*w, b*b)
            grad_keys = torch.baddbmm(keys, grad_logits_t, queries, beta=0, alpha=scale, out=keys)
            chunks.add_windows(grad_keys, chunk, part=1)
            chunks.store(chunk, chunks.maps(grad_qkv, 3))
        return grad_qkv, grad_tables, None, None, None, None, None, None, None


class _Chunk(NamedTuple):
    """The image-heads ``images x heads`` of one :class:`WindowAttention` chunk, and their weight rows."""

    images: slice
    heads: slice
    rows: slice

    @property
    def image_heads(self) -> int:
        """Image-heads in the chunk."""
        return (self.images.stop - self.images.start) * (self.heads.stop - self.heads.start)

    @property
    def count(self) -> int:
        """Blocks (rows) in the chunk."""
        return self.rows.stop - self.rows.start


class _Chunks:
    """Geometry of one :class:`WindowAttention` call, its chunks, and the buffers they share.

    Iterating yields :class:`_Chunk` s: whole images where an image's window data fits in
    :data:`CHUNK_BYTES`, else groups of heads of one image. Each image-head has a staging map,
    channels-last and padded: ``halo`` pixels on every side, the bottom/right up to a multiple of
    b, and b more rows and columns so that :meth:`add_windows`' last cell view stays whole.
    Block (i, j)'s window starts at pixel (i*b, j*b) of a staging map, its query block at
    (halo + i*b, halo + j*b). Rows of the weights are in (B, heads, nb) order.
    """

    def __init__(
        self, qkv: torch.Tensor, heads: int, block: int, halo: int, height: int, width: int, *, backward: bool
    ) -> None:
        self.images = qkv.shape[0]
        self.heads, self.dim = heads, qkv.shape[2] // (3 * heads)
        self.height, self.width = height, width
        self.block, self.halo, self.window = block, halo, block + 2 * halo
        self.n_h, self.n_w = padded_length(height, block) // block, padded_length(width, block) // block
        self.per_map = self.n_h * self.n_w  # blocks of one image-head
        self.all_rows = self.images * heads * self.per_map  # blocks of the whole batch
        map_bytes = self.per_map * self.window**2 * self.dim * qkv.element_size()  # one image-head's windows
        fit = max(1, CHUNK_BYTES // map_bytes)  # image-heads per chunk
        self.chunk_images = min(self.images, max(1, fit // heads))
        self.chunk_heads = heads if fit >= heads else fit
        maps = self.chunk_images * self.chunk_heads
        side_h = self.n_h * block + 2 * halo + block
        side_w = self.n_w * block + 2 * halo + block
        self.loaded = qkv.new_zeros(maps, 3, side_h, side_w, self.dim)  # q, k, v; border stays 0
        self.staged = qkv.new_empty(maps, 3 if backward else 1, side_h, side_w, self.dim)  # out or grads
        rows = maps * self.per_map
        self.queries = qkv.new_empty(rows, block * block, self.dim)
        self.keys = qkv.new_empty(rows, self.window**2, self.dim)
        self.values = torch.empty_like(self.keys)
        if backward:
            self.grad_blocks = torch.empty_like(self.queries)
            self.grad_logits = qkv.new_empty(rows, block * block, self.window**2)
        self._masks: torch.Tensor | None = None

    def __iter__(self) -> Iterator[_Chunk]:
        for image in range(0, self.images, self.chunk_images):
            images = slice(image, min(image + self.chunk_images, self.images))
            for head in range(0, self.heads, self.chunk_heads):
                heads = slice(head, min(head + self.chunk_heads, self.heads))
                first = (images.start * self.heads + heads.start) * self.per_map
                count = (images.stop - images.start) * (heads.stop - heads.start) * self.per_map
                yield _Chunk(images, heads, slice(first, first + count))

    def maps(self, pixels: torch.Tensor, parts: int) -> torch.Tensor:
        """(B, H*W, parts * heads * d) pixel rows -> a (B, heads, parts, H, W, d) view."""
        grid = pixels.reshape(self.images, self.height, self.width, parts, self.heads, self.dim)
        return grid.permute(0, 4, 3, 1, 2, 5)

    def mask(self, mask: torch.Tensor, chunk: _Chunk) -> torch.Tensor:
        """The (nb, w*w) padding mask repeated for the blocks of `chunk`: (rows, w*w)."""
        if self._masks is None:
            self._masks = mask.repeat(self.loaded.shape[0], 1)
        return self._masks[: chunk.count]

    def load(self, maps: torch.Tensor, chunk: _Chunk) -> torch.Tensor:
        """Copy `chunk`'s parts of (B, heads, parts, H, W, d) maps into the input staging maps.

        Returns them as (maps, parts, side_h, side_w, d); their border stays 0.
        """
        parts = maps.shape[2]
        self._interior(self._staging(self.loaded, chunk)[:, :, :parts]).copy_(maps[chunk.images, chunk.heads])
        return self.loaded[: chunk.image_heads, :parts]

    def store(self, chunk: _Chunk, maps: torch.Tensor) -> None:
        """Copy the image part of the output staging maps into `chunk`'s (B, heads, parts, H, W, d) maps."""
        parts = maps.shape[2]
        maps[chunk.images, chunk.heads].copy_(self._interior(self._staging(self.staged, chunk)[:, :, :parts]))

    def cut_blocks(self, padded: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """The b x b query blocks of (maps, side_h, side_w, d) staging maps: (rows, b*b, d) in `out`."""
        return self._cut(padded, self.block, self.halo, out)

    def cut_windows(self, padded: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """The w x w windows of (maps, side_h, side_w, d) staging maps: (rows, w*w, d) in `out`."""
        return self._cut(padded, self.window, 0, out)

    def _staging(self, buffer: torch.Tensor, chunk: _Chunk) -> torch.Tensor:
        """`chunk`'s staging maps in `buffer` as (images, heads, parts, side_h, side_w, d)."""
        images = chunk.images.stop - chunk.images.start
        return buffer[: chunk.image_heads].unflatten(0, (images, -1))

    def _interior(self, staging: torch.Tensor) -> torch.Tensor:
        """The image part of (..., side_h, side_w, d) staging maps."""
        h = self.halo
        return staging[..., h : h + self.height, h : h + self.width, :]

    def _cut(self, padded: torch.Tensor, size: int, start: int, out: torch.Tensor) -> torch.Tensor:
        """Copy the size x size square at (start + i*b, start + j*b) of each block (i, j), in one copy."""
        b, s = self.block, padded.stride()
        squares = padded[:, start:, start:].as_strided(
            (padded.shape[0], self.n_h, self.n_w, size, size, self.dim),
            (s[0], b * s[1], b * s[2], s[1], s[2], s[3]),
        )
        chunk = out[: squares.shape[0] * self.per_map]
        chunk.view(squares.shape).copy_(squares)
        return chunk

    def place_blocks(self, blocks: torch.Tensor, chunk: _Chunk, part: int) -> None:
        """Copy (rows, b*b, d) blocks into output staging `part`, where :meth:`cut_blocks` cut them."""
        c, b, h = chunk.image_heads, self.block, self.halo
        grid = self.staged[:c, part, h : h + self.n_h * b, h : h + self.n_w * b]
        grid = grid.unflatten(1, (self.n_h, b)).unflatten(3, (self.n_w, b))  # (c, nH, b, nW, b, d)
        grid.copy_(blocks.view(c, self.n_h, self.n_w, b, b, self.dim).permute(0, 1, 3, 2, 4, 5))

    def add_windows(self, grad_windows: torch.Tensor, chunk: _Chunk, part: int) -> None:
        """Sum (rows, w*w, d) window gradients into output staging `part`, where the windows were cut.

        Windows overlap, but each b x b cell of a window (offsets ``dy // b``, ``dx // b``) lands
        on a distinct cell of the map for every block, so one strided add per cell position
        writes all blocks at once without clashes: ``ceil(w / b)^2`` adds of b * d contiguous
        values (4 for block 2, halo 1). The first cell position covers the map's top-left
        n_h*b x n_w*b pixels exactly once, so it is a copy, and only the rest is zeroed first.
        """
        c, b, w = chunk.image_heads, self.block, self.window
        staged = self.staged[:c, part]
        tall, wide = self.n_h * b, self.n_w * b
        staged[:, tall:].zero_()
        staged[:, :tall, wide:].zero_()
        windows = grad_windows.view(c, self.n_h, self.n_w, w, w, self.dim)
        for y0 in range(0, w, b):
            for x0 in range(0, w, b):
                rows, cols = min(b, w - y0), min(b, w - x0)
                cells = staged[:, y0 : y0 + tall, x0 : x0 + wide]
                cells = cells.unflatten(1, (self.n_h, b)).unflatten(3, (self.n_w, b))[:, :, :rows, :, :cols]
                part = windows[:, :, :, y0 : y0 + rows, x0 : x0 + cols].permute(0, 1, 3, 2, 4, 5)
                if y0 == x0 == 0:
                    cells.copy_(part)
                else:
                    cells.add_(part)
