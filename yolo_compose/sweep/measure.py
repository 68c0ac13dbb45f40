"""Building and measuring every variant of a sweep (the bridge side: imports torch and ultralytics).

One process measures every scale; torch and ultralytics are imported once. Per scale, the base is
built and measured first and every variant is compared with it. A variant is built exactly as
``insert`` builds it (:func:`yolo_compose.build.build_edit`: restricted mode, stride probe,
resolution args filled) and counted by the same function (:func:`yolo_compose.build.measure_built`),
so its params and GFLOPs are what ``insert`` reports for the same placement. Then:

- **output shape** of each inserted row at imgsz, from the counting forward itself;
- **training-step memory** at batch 8 (at ``memory_imgsz``, default 128, so that the probe stays
  small): on CUDA the peak ``torch.cuda.max_memory_allocated`` of a forward and backward; on CPU,
  where no allocator peak is reliable, the bytes a training step must hold at the start of its
  backward: the parameters, their gradients, and every tensor autograd saves for backward
  (recorded with ``torch.autograd.graph.saved_tensors_hooks`` during a training-mode forward;
  optimizer state and temporaries are not counted). ``memory_method`` in the results says which;
- **latency** of an eval forward (batch 1, CPU, at ``latency_imgsz``, default 256, so that three
  runs cost less than one insert's forwards), the median of ``latency_repeats`` runs
  measured round-robin over the base and every variant (one forward of each, then again), with
  ``torch.set_num_threads`` fixed for the whole sweep, so that a noisy machine slows all of them
  alike and the ratios to the base hold. The models of a scale are kept until its rounds are
  done (about 4 bytes per parameter each; ``latency_repeats`` 0 keeps none).

Not done per variant (to stay within 1.5x of one ``insert``'s build and summary): the rectangular
validation forward and ultralytics' own (thop) GFLOPs figure. A variant whose build or any
measurement fails gets its one-line reason instead of numbers; the sweep goes on.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .. import build, integration
from ..build import build_edit, build_from_dict, measure_built, parse_model_dict
from ..build.model import one_line, stdout_to_stderr
from ..build.run import in_channels, random_input
from ..errors import BuildError, ComposeError
from .options import MEMORY_BATCH, MeasureOptions
from .plan import SweepPlan, Variant

torch = build.torch


CPU_MEMORY_METHOD = "cpu: params + grads + tensors saved for backward"
CUDA_MEMORY_METHOD = "cuda: torch.cuda.max_memory_allocated of a forward + backward"


def default_threads() -> int:
    """Intra-op threads for the sweep: what insert's validation forwards use (up to 4 cores, one on
    a busy machine, the user's OMP_NUM_THREADS kept), fixed once for every model."""
    return build.validation_thread_count()


@dataclass
class Measured:
    """One model's numbers (or why there are none)."""

    params: int | None = None
    gflops: float | None = None
    out_shape: list[list[int]] | None = None
    train_mem_mib: float | None = None
    latency_ms: float | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    model: Any = None  # kept for the latency rounds, then dropped


def versions() -> dict[str, str]:
    """The torch and ultralytics versions the numbers were measured with."""
    return {"torch": str(torch.__version__), "ultralytics": integration.ultralytics_version()}


def memory_method() -> str:
    """How train_mem_mib is measured on this machine."""
    return CUDA_MEMORY_METHOD if torch.cuda.is_available() else CPU_MEMORY_METHOD


@stdout_to_stderr
def measure_sweep(
    plan: SweepPlan, options: MeasureOptions, on_step: Callable[[str], None] = lambda _text: None
) -> dict[str, Measured]:
    """Build and measure the base and every variant at every scale: row name -> Measured.

    The base failing to build is a BuildError (there is nothing to compare with); a variant
    failing is its row's error. Each variant's edit gets its resolution args filled.
    """
    results: dict[str, Measured] = {}
    with fixed_threads(options.threads or default_threads()):
        for scale in plan.scales:
            results.update(_measure_scale(plan, scale, options, on_step))
    return results


def _measure_scale(
    plan: SweepPlan, scale: str, options: MeasureOptions, on_step: Callable[[str], None]
) -> dict[str, Measured]:
    base_name = plan.base_name(scale)
    on_step(f"{base_name}: build")
    base = _measure_base(plan, scale, options)
    measured = {base_name: base}
    on_step(f"{base_name}: measured")
    for variant in plan.variants_at(scale):
        measured[variant.name] = _measure_variant(variant, options)
        on_step(f"{variant.name}: measured")
    _latency_rounds(measured, options, on_step)
    for item in measured.values():
        item.model = None
    return measured


def _measure_base(plan: SweepPlan, scale: str, options: MeasureOptions) -> Measured:
    name = f"{plan.base_name(scale)}.yaml"
    model = build_from_dict(parse_model_dict(plan.base_text, source_name=name, scale=scale or None),
                            source_name=name)
    measure = measure_built(model, source_name=name, imgsz=options.imgsz, check_sizes=False,
                            with_ultralytics_gflops=False)
    result = Measured(measure.params, measure.gflops, model=model if options.latency_repeats else None)
    result.train_mem_mib = _memory(model, options)
    return result


def _measure_variant(variant: Variant, options: MeasureOptions) -> Measured:
    """Build as insert does, count, probe memory; a failure is the row's one-line error."""
    result = Measured()
    try:
        built = build_edit(variant.edit, scale=variant.scale, imgsz=options.imgsz,
                           source_name=variant.file_name, on_warning=result.warnings.append)
        measure = measure_built(built.model, source_name=variant.file_name, imgsz=options.imgsz,
                                check_sizes=False, already_run=built.probed, with_ultralytics_gflops=False)
        by_index = {layer.index: layer for layer in measure.layers}
        result.params, result.gflops = measure.params, measure.gflops
        result.out_shape = [list(by_index[i].out_shape) for i in variant.edit.inserted]
        result.train_mem_mib = _memory(built.model, options)
        result.model = built.model if options.latency_repeats else None
    except ComposeError as exc:
        result.error = str(exc)
    except Exception as exc:  # a module's own failure in a probe: the row says why, the sweep goes on
        result.error = f"{variant.file_name}: {one_line(exc)}"
    return result


# --- training-step memory ----------------------------------------------------------------------


def _memory(model: Any, options: MeasureOptions) -> float | None:
    """MiB of one training step at batch 8 (see the module docstring); None when not asked."""
    if not options.memory_imgsz:
        return None
    size = options.memory_size
    x = torch.rand(MEMORY_BATCH, in_channels(model), size, size,
                   generator=torch.Generator().manual_seed(0))
    try:
        if torch.cuda.is_available():
            return _cuda_step_mib(model, x)
        return _cpu_step_mib(model, x)
    except Exception as exc:
        layer = integration.failing_layer(exc.__traceback__)
        raise BuildError(f"training step at batch {MEMORY_BATCH}, {size}x{size} failed: "
                         f"{one_line(exc)}", layer=layer) from None
    finally:
        model.eval()


def _tensors(value: Any) -> Iterator[Any]:
    """Every tensor in a (nested) output."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors(item)


def _cpu_step_mib(model: Any, x: Any) -> float:
    """Params + grads + the storages autograd saves for backward in a training-mode forward."""
    param_storages = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: set[int] = set()
    saved = 0

    def pack(tensor: Any) -> Any:
        nonlocal saved
        storage = tensor.untyped_storage()
        key = storage.data_ptr()
        if key not in seen and key not in param_storages:
            seen.add(key)
            saved += storage.nbytes()
        return tensor

    model.train()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        output = model(x)
    del output
    trainable = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    return (weights + trainable + saved) / 2**20


def _cuda_step_mib(model: Any, x: Any) -> float:
    """Peak CUDA memory of a forward and backward (a sum of the outputs stands in for the loss)."""
    device = torch.device("cuda")
    model.to(device).train()
    try:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        output = model(x.to(device))
        loss = sum(t.float().sum() for t in _tensors(output))
        loss.backward()  # type: ignore[union-attr]
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() / 2**20
    finally:
        model.zero_grad(set_to_none=True)
        model.to("cpu")
        torch.cuda.empty_cache()


# --- latency ------------------------------------------------------------------------------------


def _latency_rounds(
    measured: dict[str, Measured], options: MeasureOptions, on_step: Callable[[str], None]
) -> None:
    """Median eval-forward time of every built model, measured one after another in each round."""
    models = {name: item for name, item in measured.items() if item.model is not None}
    x = random_input((options.latency_size, options.latency_size))
    times: dict[str, list[float]] = {name: [] for name in models}
    for round_number in range(1, options.latency_repeats + 1):
        for name, item in models.items():
            try:
                times[name].append(_forward_seconds(item.model, x))
            except Exception as exc:  # it ran at imgsz while counting; keep the row, not the number
                item.error = item.error or f"eval forward failed: {one_line(exc)}"
        on_step(f"latency round {round_number}/{options.latency_repeats}")
    for name, item in models.items():
        if times[name]:
            item.latency_ms = 1000.0 * statistics.median(times[name])


def _forward_seconds(model: Any, x: Any) -> float:
    with torch.inference_mode():
        start = time.perf_counter()
        model(x)
        return time.perf_counter() - start


@contextmanager
def fixed_threads(threads: int) -> Iterator[None]:
    """torch's intra-op threads fixed for the whole sweep (latencies compare), then restored."""
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)

