"""Small helpers shared by the attention modules: input checks, padding, table resizing, zero
init, and the attention core with the choice of its path (SDPA, plain ops, the CPU kernel).

Every helper works on plain tensors and Python ints so that the modules stay traceable with
``torch.jit.trace`` and exportable to ONNX.
"""

from __future__ import annotations

import functools
import os

import torch
import torch.nn.functional as F
from torch import nn


def check_divisible(value: int, divisor: int, what: str, by_what: str) -> None:
    """Raise ValueError naming both values when `value` is not a multiple of `divisor`."""
    if divisor <= 0 or value % divisor != 0:
        raise ValueError(f"{what} {value} not divisible by {by_what} {divisor}")


def check_positive(value: int, what: str, *, allow_zero: bool = False) -> None:
    """Raise ValueError naming the value when it is negative (or zero unless allowed)."""
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else ">= 1"
        raise ValueError(f"{what} must be {bound}, got {value}")


def check_input(x: torch.Tensor, channels: int, module: str) -> None:
    """Raise ValueError unless `x` is (B, channels, H, W): a wrong layer input names both counts.

    A channel mismatch usually means the module was built for another width scale (n/s/m/l/x)
    or placed after a different layer than the one it was built for.
    """
    if x.dim() != 4:
        raise ValueError(f"{module} expects a (B, C, H, W) tensor, got shape {tuple(x.shape)}")
    if x.shape[1] != channels:
        raise ValueError(
            f"{module} was built for {channels} input channels but got {x.shape[1]} "
            f"(input shape {tuple(x.shape)})"
        )


def padded_length(length: int, multiple: int) -> int:
    """Smallest multiple of `multiple` that is >= `length`.

    Written with non-negative operands only: in an exported graph ``//`` on traced sizes becomes
    ONNX ``Div``, which truncates toward zero, so the ``-(-a // b)`` idiom would round wrongly.
    """
    return (length + multiple - 1) // multiple * multiple


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Zero-pad a (..., H, W) tensor at the bottom and right so H and W are multiples of `multiple`."""
    height, width = x.shape[-2:]
    pad_h = padded_length(height, multiple) - height
    pad_w = padded_length(width, multiple) - width
    if pad_h == 0 and pad_w == 0:
        return x
    return F.pad(x, (0, pad_w, 0, pad_h))


def resize_table_1d(table: torch.Tensor, length: int) -> torch.Tensor:
    """Linearly resample a (L, D) table of learned embeddings to (length, D) rows.

    ``align_corners=True`` maps first row to first row and last to last; for relative-offset tables
    of odd length (2S - 1) the centre row (offset 0) stays the centre row. At ``length == L`` the
    table is returned unchanged, so the math at the trained size is exactly the table's. A single
    output row is the table's midpoint (offset 0 of a relative table), not its first row.
    """
    if table.shape[0] == length:
        return table
    # align_corners=False at one output row samples position (L - 1) / 2: the midpoint.
    resized = F.interpolate(table.t().unsqueeze(0), size=length, mode="linear", align_corners=length > 1)
    return resized.squeeze(0).t()  # (length, D)


def resize_table_2d(table: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Bilinearly resample a (D, H, W) grid of embeddings to (D, height, width).

    At the table's own size the table is returned unchanged (identical math at the trained size).
    """
    if tuple(table.shape[-2:]) == (height, width):
        return table
    resized = F.interpolate(table.unsqueeze(0), size=(height, width), mode="bilinear", align_corners=False)
    return resized.squeeze(0)


def relative_index(queries: int, keys: int, offset: int = 0) -> torch.Tensor:
    """(queries, keys) long tensor of ``j - i + offset`` (row index into a relative-offset table).

    For a table that covers offsets ``-(queries - 1) .. keys - 1`` use ``offset = queries - 1``.
    """
    query_pos = torch.arange(queries).unsqueeze(1)
    key_pos = torch.arange(keys).unsqueeze(0)
    return key_pos - query_pos + offset


#: Environment variable that sets the attention path of modules built while it is set.
ATTENTION_PATH_ENV = "YOLO_COMPOSE_ATTENTION"
#: The attention paths a module can be set to (see :func:`default_attention_path`).
ATTENTION_PATHS = ("auto", "sdpa", "math", "kernel")

_process_default: str | None = None  # set by set_attention_path


def default_attention_path() -> str:
    """The attention path of a module built now: ``set_attention_path``'s, else the environment's, else auto.

    Each attention module stores it at construction as ``module.attention_path`` (the way timm's
    layers store ``fused_attn``), and it can be set on an instance afterwards. The paths:

    * ``"auto"`` (default): ``"kernel"`` where it applies (:func:`cpu_kernel_applies`), else
      ``"sdpa"``;
    * ``"sdpa"``: ``F.scaled_dot_product_attention`` (fused kernels where the backend has them,
      the op exporters know);
    * ``"math"``: the same math written with plain differentiable ops (autograd's backward);
    * ``"kernel"``: the CPU fast path (see :func:`attention`); an error on inputs it cannot take.

    ``YOLO_COMPOSE_ATTENTION=math`` (for example) sets it for every module built in a process.
    """
    if _process_default is not None:
        return _process_default
    return check_attention_path(os.environ.get(ATTENTION_PATH_ENV, "auto"), ATTENTION_PATH_ENV)


def set_attention_path(path: str | None) -> None:
    """Set the attention path of every module built from now on, over the environment; None undoes it.

    Modules built before keep theirs (set ``module.attention_path`` to change one).
    """
    global _process_default
    _process_default = None if path is None else check_attention_path(path, "attention path")


def check_attention_path(path: str, what: str) -> str:
    """`path` if it names an attention path; else a ValueError naming `what` and the valid paths."""
    if path not in ATTENTION_PATHS:
        raise ValueError(f"{what} {path!r} is not one of {', '.join(ATTENTION_PATHS)}")
    return path


def resolve_attention_path(path: str, x: torch.Tensor) -> str:
    """The path a forward on `x` takes for a module set to `path`: ``"sdpa"``, ``"math"`` or ``"kernel"``."""
    check_attention_path(path, "attention path")
    applies = cpu_kernel_applies(x)
    if path == "auto":
        return "kernel" if applies else "sdpa"
    if path == "kernel" and not applies:
        raise ValueError(
            f"attention path 'kernel' runs on CPU float32/float64 tensors outside autocast and tracing, "
            f"got a {x.device.type} {x.dtype} tensor{' under autocast' if _cpu_autocast_on() else ''}"
            f"{' while tracing' if torch.jit.is_tracing() else ''}; use 'auto', 'sdpa' or 'math'"
        )
    return path


def cpu_kernel_applies(x: torch.Tensor) -> bool:
    """Whether the CPU fast path can take `x`: CPU float32/float64, outside autocast and tracing.

    Not in fp16/bf16 (autocast included): CPU batched products in those types with a transposed
    operand are orders of magnitude slower than SDPA. Not while tracing: TorchScript and ONNX
    export keep SDPA, the op exporters know.
    """
    kernel_ok = x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)
    return kernel_ok and not torch.jit.is_tracing() and not _cpu_autocast_on()


def _cpu_autocast_on() -> bool:
    """Whether CPU autocast is active (its ops would run the explicit products in fp16/bf16)."""
    try:
        return torch.is_autocast_enabled("cpu")
    except TypeError:  # torch < 2.4 takes no device argument
        return torch.is_autocast_cpu_enabled()


def attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    bias: torch.Tensor | tuple[torch.Tensor, ...],
    scale: float = 1.0,
    path: str = "auto",
) -> torch.Tensor:
    """softmax(scale * q k^T + bias) v over (N, L, d) x (N, S, d) with a bias broadcastable to (N, L, S).

    ``bias`` may also be a tuple of terms whose broadcast sum has N * L * S elements in the
    (N, L, S) order, seen in another shape: MHSA passes its position logits as (N, H, W, H, 1) and
    (N, H, W, 1, W) terms of the (N, H*W, H*W) logits. On the kernel path the sum is then never a
    tensor of its own.

    ``path`` (see :func:`default_attention_path`) picks the computation; all three give the same
    function. ``"kernel"`` is :class:`CpuAttention`: the math written out with one fused
    ``baddbmm`` for ``bias + scale * q k^T`` and a backward of its own. In training the bias (the
    relative logits) needs a gradient, which sends SDPA to its unfused math path with extra passes
    for scaling and fully-masked rows, and in eval SDPA's fused CPU kernel with an additive bias
    measured 1.1-1.7x slower at YOLO's shapes (MHSA at P5 and P4, HaloAttention at P3-P5).

    ``scale`` is applied inside the product (``baddbmm``'s alpha, SDPA's scale) rather than to q
    beforehand, which would be one more pass over the queries in the forward and the backward.
    """
    terms = bias if isinstance(bias, tuple) else (bias,)
    path = resolve_attention_path(path, q)
    if path == "kernel":
        return CpuAttention.apply(q, k, v, scale, *terms)
    if len(terms) > 1:
        bias = sum(terms[1:], terms[0]).reshape(q.shape[0], q.shape[1], k.shape[1])
    if path == "sdpa":
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=scale)
    logits = torch.baddbmm(bias, q, k.transpose(1, 2), alpha=scale)  # (N, L, S)
    return torch.bmm(logits.softmax(dim=-1), v)


class CpuAttention(torch.autograd.Function):
    """softmax(bias + scale * q k^T) v with a backward that keeps every batched product in a fast layout.

    Inputs: q (N, L, d), k (N, S, d), v (N, S, dv), scale, then the bias terms (see
    :func:`attention`). Output (N, L, dv).

    The forward allocates one (N, L, S) buffer: the bias terms are summed into it, ``baddbmm``
    adds ``scale * q k^T`` in place, and the softmax is written over it. The backward allocates
    one more, the logits' gradient ``w * (g - sum_j w_j g_j)`` for the weights' gradient
    ``g = grad_out v^T``: each row's sum is ``grad_out_i . out_i`` (the sum over j of
    ``w_ij grad_out_i . v_j``), a product of (N, L, dv) tensors, so ``baddbmm`` writes ``g - sum``
    in one product and one in-place multiply by the weights finishes it (public ops, one pass over
    the N x L x S values fewer than forming ``g * w`` for the sums). A fresh buffer of megabytes
    costs its page faults on every step, as much as the softmax itself at MHSA's P5 shape. Every
    gradient is one ``bmm`` whose result is already in its input's layout: autograd's own
    backward of ``baddbmm(bias, q, k^T)`` computes the gradient of the *transposed* k, as
    (N, d, S) products with an inner size of L (4 queries in a HaloAttention block), then copies
    it back. Not twice differentiable.
    """

    @staticmethod
    def forward(
        ctx, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float, *bias_terms: torch.Tensor
    ) -> torch.Tensor:
        logits = q.new_empty(q.shape[0], q.shape[1], k.shape[1])  # (N, L, S)
        view_shape = _sum_into(logits, bias_terms)
        torch.baddbmm(logits, q, k.transpose(1, 2), alpha=scale, out=logits)
        weights = softmax_(logits)
        out = torch.bmm(weights, v)  # (N, L, dv)
        ctx.save_for_backward(q, k, v, weights, out)
        ctx.scale, ctx.view_shape = scale, view_shape
        ctx.term_shapes = [term.shape for term in bias_terms]
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out: torch.Tensor):
        q, k, v, weights, out = ctx.saved_tensors
        grad_out = grad_out.contiguous()
        need_q, need_k, need_v, _, *need_terms = ctx.needs_input_grad
        grad_v = torch.bmm(weights.transpose(1, 2), grad_out) if need_v else None  # (N, S, d)
        row_sums = (grad_out * out).sum(-1, keepdim=True)  # (N, L, 1): sum_j w_ij g_ij
        grad_logits = torch.baddbmm(row_sums.neg_().expand_as(weights), grad_out, v.transpose(1, 2))
        grad_logits.mul_(weights)  # (N, L, S)
        grad_terms = [
            grad_logits.view(ctx.view_shape).sum_to_size(shape) if need else None
            for shape, need in zip(ctx.term_shapes, need_terms, strict=True)
        ]
        grad_q = torch.bmm(grad_logits, k) if need_q else None  # (N, L, d)
        grad_k = torch.bmm(grad_logits.transpose(1, 2), q) if need_k else None  # (N, S, d)
        if ctx.scale != 1.0:  # the products' gradients carry the scale; (N, L, d) + (N, S, d), not (N, L, S)
            for grad in (grad_q, grad_k):
                if grad is not None:
                    grad.mul_(ctx.scale)
        return grad_q, grad_k, grad_v, None, *grad_terms


def _sum_into(logits: torch.Tensor, terms: tuple[torch.Tensor, ...]) -> torch.Size:
    """Write the broadcast sum of `terms` over `logits` (N, L, S); return the shape it was seen in.

    One term broadcasts to (N, L, S); several broadcast to a shape of as many elements, which is
    `logits` in another view (see :func:`attention`).
    """
    if len(terms) == 1:
        logits.copy_(terms[0])
        return logits.shape
    shape = torch.broadcast_shapes(*(term.shape for term in terms))
    view = logits.view(shape)
    torch.add(terms[0], terms[1], out=view)
    for term in terms[2:]:
        view.add_(term)
    return shape


def softmax_(logits: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dim of a contiguous tensor, written over it; returns it.

    The attention's logits are a temporary of (N, L, S) floats; writing the weights into the same
    buffer saves allocating a second one, whose first touch costs page faults every training step
    (a fresh buffer of megabytes comes from the OS). ``torch.softmax(..., out=)`` (the public
    ``softmax.int_out`` overload) runs the fused kernel, which reads a whole row (max, sum)
    before it writes that row, so reading and writing the same memory is safe; where this torch
    lacks the overload, three in-place passes compute the same. The tests check both against
    ``Tensor.softmax``.
    """
    if _softmax_has_out():
        return torch.softmax(logits, -1, out=logits)
    return _softmax_in_steps_(logits)


@functools.cache
def _softmax_has_out() -> bool:
    """Whether ``torch.softmax`` takes ``out=`` in this torch (the ``softmax.int_out`` overload)."""
    probe = torch.zeros(1, 2)
    try:
        torch.softmax(probe, -1, out=probe)
    except TypeError:
        return False
    return True


def _softmax_in_steps_(logits: torch.Tensor) -> torch.Tensor:
    """The softmax over the last dim in three in-place passes: subtract the row max, exp, divide by the sum.

    Rows hold at least one finite logit (every query has a valid key), so masked -inf entries
    become exact zeros.
    """
    logits.sub_(logits.amax(dim=-1, keepdim=True)).exp_()
    return logits.div_(logits.sum(dim=-1, keepdim=True))


def softmax_backward_(grad_weights: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The softmax backward ``weights * (grad - sum(grad * weights))``, written over `grad_weights`.

    The same saving as :func:`softmax_` for the backward's (N, L, S) temporary, in public ops: the
    row sums first, then one in-place subtract and multiply. Used on chunk-sized tensors
    (HaloAttention's windows), where the passes stay in cache.
    """
    row_sums = (grad_weights * weights).sum(dim=-1, keepdim=True)
    return grad_weights.sub_(row_sums).mul_(weights)


def init_relative_tables(*tables: torch.Tensor, dim_head: int) -> None:
    """Relative-position tables ~ N(0, 1/dim_head), as HaloNet's and BoTNet's official code do."""
    for table in tables:
        nn.init.normal_(table, std=dim_head**-0.5)


def zero_layer_(layer: nn.Module) -> None:
    """Set a layer's weight and bias to 0: the last linear map of a residual branch that starts as 0.

    This is the ``zero_init`` option of the modules: ``y = x + branch(x)`` with the branch's last
    linear map zero-initialised (ControlNet's zero convolution; the non-local block's zeroed
    output BN), so a freshly built layer is exactly the identity and an inserted layer does not
    change a pretrained network's predictions before fine-tuning. It was chosen over a
    LayerScale/ReZero gate ``x + gamma * branch(x)`` because:

    * it adds no parameter: the state-dict keys are the same with the option on or off, and a
      checkpoint of either loads into the other;
    * weight decay treats it as every other layer: ultralytics decays every conv weight and puts
      every parameter whose name contains "bias" in its no-decay group (with the warm-up bias
      learning rate), and that is where the zeroed weight and bias go. A gate would need a name
      chosen for its optimizer group: decayed toward 0 (toward the identity) as ``gamma``, or at
      the warm-up bias rate of 0.1 as ``*bias*``;
    * it is exact: zero weights and bias give exact zeros for any finite input, so ``x + 0`` is
      ``x`` bit for bit;
    * it is not dead: on the first step the zeroed map's gradient is the branch's output
      gradient times its input, non-zero; the layers before it get theirs from the next step on.
    """
    for name in ("weight", "bias"):
        tensor = getattr(layer, name, None)
        if tensor is not None:
            nn.init.zeros_(tensor)
