"""Exact FLOPs of the aten ops a forward runs: a small dispatch mode with its own formula table.

The count is what ``torch.utils.flop_counter.FlopCounterMode`` gives (``tests/test_build.py``
checks the totals are equal on plain and attention models): 2 FLOPs per multiply-add of every
matrix product and convolution, nothing for element-wise ops, and an op without a formula is
run as its C++ composite kernel so that its parts are counted (``linear`` becomes ``addmm``,
the math attention kernel becomes ``bmm``s).

Why not import torch's table: ``torch.utils.flop_counter`` registers flex-attention formulas
on import, which imports triton (about 0.1 s, 5% of a whole ``insert``), and ``FlopCounterMode``
itself imports ``torch._dynamo`` on first use (about 1 s). The few formulas a forward needs are
written out below.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

aten = torch.ops.aten


def matmul_flops(a_shape: torch.Size, b_shape: torch.Size) -> int:
    """(..., m, k) @ (..., k, n): 2 m k n per leading (batch) index."""
    *batch, m, k = a_shape
    n = b_shape[-1]
    if b_shape[-2] != k:
        raise ValueError(f"matmul shapes do not match: {tuple(a_shape)} @ {tuple(b_shape)}")
    return 2 * math.prod(batch) * m * k * n


def conv_flops(x: torch.Tensor, weight: torch.Tensor, out: torch.Tensor, transposed: bool) -> int:
    """2 x (batch x positions x every weight): a regular convolution applies the whole filter
    bank (c_out x c_in/groups x kernel) at each output position, a transposed one at each input
    position. Bias adds are not counted."""
    positions = (x.shape if transposed else out.shape)[2:]
    return 2 * x.shape[0] * math.prod(positions) * math.prod(weight.shape)


def attention_flops(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> int:
    """A fused attention kernel: q k^T (L x S x E) then weights @ v (L x S x Ev), per batch and head."""
    *batch, length, embed = query.shape
    keys, value_embed = key.shape[-2], value.shape[-1]
    return 2 * math.prod(batch) * length * keys * (embed + value_embed)


def _mm(a: torch.Tensor, b: torch.Tensor, *_: Any, **__: Any) -> int:
    return matmul_flops(a.shape, b.shape)


def _addmm(_bias: torch.Tensor, a: torch.Tensor, b: torch.Tensor, *_: Any, **__: Any) -> int:
    return matmul_flops(a.shape, b.shape)


def _convolution(x: torch.Tensor, weight: torch.Tensor, _bias: Any, _stride: Any, _padding: Any,
                 _dilation: Any, transposed: bool, *_: Any, result: torch.Tensor, **__: Any) -> int:
    return conv_flops(x, weight, result, bool(transposed))


def _conv2d(x: torch.Tensor, weight: torch.Tensor, *_: Any, result: torch.Tensor, **__: Any) -> int:
    return conv_flops(x, weight, result, transposed=False)


def _fused_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, *_: Any, **__: Any) -> int:
    return attention_flops(query, key, value)


#: aten op (overload packet) -> FLOPs from its args; the op's output is passed as `result`.
FORMULAS: dict[Any, Callable[..., int]] = {
    aten.mm: _mm,
    aten.bmm: _mm,
    aten.addmm: _addmm,
    aten.baddbmm: _addmm,
    aten.conv2d: _conv2d,  # counted before it decomposes into `convolution`: one dispatch, not two
    aten.convolution: _convolution,
    aten._convolution: _convolution,
    aten._scaled_dot_product_flash_attention: _fused_attention,
    aten._scaled_dot_product_efficient_attention: _fused_attention,
    aten._scaled_dot_product_cudnn_attention: _fused_attention,
}

#: Composite ops known to hold no products: run as they are rather than decomposed, which
#: would only add dispatches (batch norm alone becomes four ops).
NO_PRODUCTS = frozenset({
    aten.batch_norm, aten.layer_norm, aten.group_norm, aten.instance_norm,
    aten.flatten, aten.reshape, aten.chunk, aten.split, aten.type_as, aten.dropout,
})

_IMPLICIT = torch._C.DispatchKey.CompositeImplicitAutograd


def _composite_kernel(func: Any) -> Callable[..., Any] | None:
    """The op's C++ CompositeImplicitAutograd kernel runner, or None where torch has none for it.

    Uses two private torch names (``OpOverload._op_dk``, ``torch._C._dispatch_has_kernel_for_dispatch_key``);
    where a torch release lacks either, the public ``OpOverload.decompose`` is used instead (same
    count, slower first use; ``tests/test_build.py`` holds both paths to ``FlopCounterMode``).
    """
    run_kernel = getattr(func, "_op_dk", None)
    has_kernel = getattr(torch._C, "_dispatch_has_kernel_for_dispatch_key", None)
    if run_kernel is None or has_kernel is None:
        return None
    return (lambda *args, **kwargs: run_kernel(_IMPLICIT, *args, **kwargs)) if has_kernel(
        func.name(), _IMPLICIT
    ) else (lambda *args, **kwargs: NotImplemented)


def _decompose(func: Any, args: Any, kwargs: dict[str, Any]) -> Any:
    """Run an op without a formula as its C++ composite kernel, so that its parts get counted.

    Returns NotImplemented for an op that has none (it is then run and counted as itself).
    ``OpOverload.decompose`` would prefer a Python decomposition where one is registered
    (``matmul``, ``upsample_nearest2d``), whose first use imports sympy and torch._decomp
    (~1.5 s here); the C++ kernels give the same aten ops, so the same count.
    """
    run_kernel = _composite_kernel(func)
    if run_kernel is None:
        return func.decompose(*args, **kwargs)
    return run_kernel(*args, **kwargs)


class FlopCounter(TorchDispatchMode):
    """Counts FLOPs of the aten ops that run, per layer.

    Attribution is by the ``layer`` attribute, which the caller's forward pre-hooks set to the
    running layer's index (None outside any layer).
    """

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # A private hook of TorchDispatchMode: overriding it keeps torch._dynamo (about 1 s to
        # import) out of the build. A torch release without the hook only pays that import.
        return False

    def __init__(self) -> None:
        super().__init__()
        self.layer: int | None = None
        self.flops: dict[int | None, int] = defaultdict(int)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        packet = func._overloadpacket
        formula = FORMULAS.get(packet)
        if formula is None and packet not in NO_PRODUCTS and func is not torch.ops.prim.device.default:
            with self:
                result = _decompose(func, args, kwargs)
            if result is not NotImplemented:
                return result
        out = func(*args, **kwargs)
        if formula is not None:
            self.flops[self.layer] += int(formula(*args, **kwargs, result=out))
        return out

    @property
    def total(self) -> int:
        return sum(self.flops.values())
