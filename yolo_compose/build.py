"""Build a composed model with ultralytics, run it at every size it will meet, and measure it.

What `insert` does after the edit (``--no-build`` skips all of it):

1. **Build** the YAML with ultralytics' own ``DetectionModel`` (or the task's model class) for one
   scale, in ultralytics' *restricted* mode: no ``eval()`` of ``activation:``, only nn.Module
   layers. ``ULTRALYTICS_SAFE_LOAD=1`` is read once, when ultralytics is imported, so instead of
   a child process (which would pay the ~2 s import twice) the build sets the thread-local flag
   ultralytics itself uses while loading a checkpoint (:func:`yolo_compose.integration.restricted_mode`);
   that works whether or not ultralytics was already imported. The CLI runs it offline and without
   AutoInstall (:func:`yolo_compose.integration.prepare_process`; importing this module sets
   nothing), and nothing here downloads.
2. **Fill resolution args** (a module's trained feature-map size) from imgsz and the stride at the
   insertion point, which the stride-probe forward measures; the YAML row gets the values.
3. **Run** the model at the stride probe (256), at imgsz and at a rectangular size (imgsz x 0.6
   rounded to 32, as validation's rect batches are). A failure is a :class:`BuildError` naming the
   layer, the size and why, in one line.
4. **Measure** per layer: params, output shape, and FLOPs counted exactly at imgsz from the aten
   ops that run (convolutions, matmuls, attention) under the math attention kernel, with the
   counter of :mod:`yolo_compose.flops` (equal to torch's ``FlopCounterMode``, without its import
   cost); ultralytics' own GFLOPs figure (thop on small proxy images, extrapolated) is reported
   beside it, labelled as such.

FLOPs are counted during the imgsz forward itself, so checking and counting cost one pass.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import integration

with integration.heavy_imports():  # quiet and quick in the CLI's process; plain for a library caller
    import torch
    import ultralytics.nn.tasks  # noqa: F401  (here so that one pause covers both imports)
    import yaml
    from torch.nn.attention import SDPBackend, sdpa_kernel

    from .composer import naming
    from .composer.edit import set_args
    from .composer.naming import guess_scale, scaled_name
    from .composer.rules import is_safe_activation
    from .errors import BuildError, Hint, Param
    from .flops import FlopCounter
    from .integration import STRIDE_PROBE, probe_sizes

#: Most intra-op threads the validation forwards use (more gains nothing on batch-1 forwards).
MAX_VALIDATION_THREADS = 4

if TYPE_CHECKING:
    from .composer.edit import EditResult
    from .modules.registry import ModuleSpec

ATTENTION_BATCH = 16  # batch size of the O(N^2) memory estimate (ultralytics' default batch)
ATTENTION_WARN_BYTES = 2 * 1024**3  # warn when one N x N attention tensor would exceed this


# --- results ----------------------------------------------------------------------------------


@dataclass
class LayerMeasure:
    """One built layer: what the YAML says, what was built and what it costs at imgsz."""

    index: int
    from_: Any
    repeats: int  # as built (ultralytics scales repeats by depth)
    module: str  # the YAML name
    type: str  # the class path ultralytics prints
    args: list[Any]  # the YAML args
    in_channels: int | None  # injected input channels (our modules only)
    params: int
    gflops: float
    out_shape: list[int]  # C, H, W at imgsz (without the batch)
    in_shape: list[int]
    stride: int | None  # imgsz / output height, for feature maps


@dataclass
class ModelMeasure:
    """A built model's layers and totals at one scale and imgsz."""

    source_name: str
    scale: str
    task: str
    imgsz: int
    sizes: list[tuple[int, int]]  # every (h, w) a forward pass ran at
    layers: list[LayerMeasure]
    params: int
    gflops: float  # counted exactly at imgsz
    ultralytics_gflops: float  # ultralytics' own figure (thop, extrapolated); 0.0 = it gave none

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        data = asdict(self)
        data["sizes"] = [list(size) for size in self.sizes]
        for layer in data["layers"]:
            layer["from"] = layer.pop("from_")
        return data


@dataclass
class FilledArg:
    """A resolution arg written into a row: its value came from imgsz and the layer's stride."""

    layer: int
    name: str
    value: int
    stride: int


@dataclass
class ScaleResult:
    """One scale built and run (``--all-scales``)."""

    scale: str
    params: int
    gflops: float


@dataclass
class BuildSummary:
    """Everything the summary shows: the measured model, what the edit changed, deltas and notes."""

    model: ModelMeasure
    inserted: list[int]
    rewired: dict[int, list[str]]  # layer -> why its `from` changed
    base_name: str
    base_params: int
    base_gflops: float
    base_derived: bool  # True: base totals = model totals minus the inserted, shape-preserving layers
    filled: list[FilledArg] = field(default_factory=list)
    scales: list[ScaleResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: True when the warnings were already reported while building (on_warning), before the
    #: forward passes they warn about; renderers then need not repeat them.
    warnings_reported: bool = False
    output_path: str = ""  # the file the CLI writes (its default name unless told otherwise)
    replaced: list[int] = field(default_factory=list)  # layers whose row a replace swapped
    first_scale: str = ""  # the first of `scales:`: what ultralytics builds from a name with no letter
    scale_requested: bool = False  # the scale was asked for (--scale), not taken from the base's name

    @property
    def file_scale(self) -> str:
        """The scale ultralytics will take from output_path's name ('' when it has none)."""
        return guess_scale(self.output_path) if self.output_path else ""

    def scale_built_from(self, name: str) -> str:
        """The scale ultralytics builds for a file of this name: its letter, else the first scale."""
        return naming.choose_scale([self.first_scale] if self.first_scale else [], name=Path(name).name)

    @property
    def delta_params(self) -> int:
        return self.model.params - self.base_params

    @property
    def delta_gflops(self) -> float:
        return self.model.gflops - self.base_gflops

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (the CLI puts it under "build")."""
        return {
            "model": self.model.to_dict(),
            "inserted": list(self.inserted),
            "replaced": list(self.replaced),
            "rewired": {str(k): v for k, v in sorted(self.rewired.items())},
            "base": {
                "name": self.base_name,
                "params": self.base_params,
                "gflops": self.base_gflops,
                "derived": self.base_derived,
            },
            "delta": {
                "params": self.delta_params,
                "params_pct": _percent(self.delta_params, self.base_params),
                "gflops": self.delta_gflops,
                "gflops_pct": _percent(self.delta_gflops, self.base_gflops),
            },
            "filled": [asdict(item) for item in self.filled],
            "scales": [asdict(item) for item in self.scales],
            "warnings": list(self.warnings),
            "output_path": self.output_path,
            "file_scale": self.file_scale,
        }


def _percent(delta: float, base: float) -> float | None:
    return None if not base else 100.0 * delta / base


def _stdout_to_stderr(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run `func` with stdout sent to stderr: stdout carries the command's result only.

    Ultralytics logs to stdout (its first import even announces a new settings file there) and
    binds its log handler to whatever sys.stdout is when it is imported.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with contextlib.redirect_stdout(sys.stderr):
            return func(*args, **kwargs)

    return wrapper


# --- building ---------------------------------------------------------------------------------


def _model_class(task: str) -> type:
    """Ultralytics' model class for a task."""
    from ultralytics.nn import tasks

    classes = {
        "detect": tasks.DetectionModel,
        "segment": tasks.SegmentationModel,
        "pose": tasks.PoseModel,
        "obb": tasks.OBBModel,
        "classify": tasks.ClassificationModel,
    }
    if task not in classes:
        raise BuildError(f"cannot build a {task!r} model (supported: {', '.join(classes)})")
    return classes[task]


def _one_line(exc: BaseException) -> str:
    """An exception as one line: its type and message with newlines folded."""
    text = " ".join(str(exc).split()) or repr(exc)
    if isinstance(exc, KeyError) and len(exc.args) == 1:
        text = f"unknown module {exc.args[0]!r}: not an ultralytics module nor registered with yolo-compose"
        return text
    return f"{type(exc).__name__}: {text}"


def _check_activation(model: dict[str, Any], source_name: str) -> None:
    """Refuse an `activation:` that restricted mode would not build (see composer.rules)."""
    act = model.get("activation")
    if act is not None and not (isinstance(act, str) and is_safe_activation(act)):
        raise BuildError(
            f"activation {act!r} is not a torch.nn class called with literal args; refusing to eval it",
            path=source_name,
        )


def parse_model_dict(yaml_text: str, *, source_name: str, scale: str | None) -> dict[str, Any]:
    """The YAML as the plain dict ultralytics builds from, with the scale it will use."""
    try:
        model = yaml.load(yaml_text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise BuildError(f"not valid YAML: {_one_line(exc)}", path=source_name) from None
    if not isinstance(model, dict):
        raise BuildError("not a model YAML (expected a mapping)", path=source_name)
    _check_activation(model, source_name)
    scales = model.get("scales") or {}
    chosen = naming.choose_scale(scales, requested=scale, name=source_name, written=model.get("scale"))
    if scales and chosen not in scales:
        raise BuildError(
            f"scale {chosen!r} is not in the model's scales ({', '.join(scales)})", path=source_name
        )
    model["scale"] = chosen
    model["yaml_file"] = source_name
    return model


def build_from_dict(model_dict: dict[str, Any], *, source_name: str) -> torch.nn.Module:
    """Build a parsed model dict with ultralytics (restricted mode); errors name the layer."""
    from ultralytics.nn.tasks import guess_model_task

    integration.register_with_ultralytics()
    task = guess_model_task(model_dict)
    scale = model_dict.get("scale") or ""
    cls = _model_class(task)
    try:
        with restricted(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = cls(copy.deepcopy(model_dict), ch=model_dict.get("channels", 3), verbose=False)
    except BuildError:
        raise
    except Exception as exc:
        layer = integration.failing_layer(exc.__traceback__)
        where = f" (scale {scale})" if scale else ""
        raise BuildError(f"cannot build{where}: {_one_line(exc)}", path=source_name, layer=layer) from None
    model.eval()
    model.task_name = task
    model.composed_rows = copy.deepcopy(model_dict["backbone"] + model_dict["head"])  # args as written
    return model


@_stdout_to_stderr
def build_model(yaml_text: str, *, source_name: str, scale: str | None) -> torch.nn.Module:
    """Build YAML text with ultralytics for one scale (None: the file name's, else the first).

    Raises BuildError naming the layer that failed. The model is returned in eval mode.
    """
    model_dict = parse_model_dict(yaml_text, source_name=source_name, scale=scale)
    return build_from_dict(model_dict, source_name=source_name)


@contextmanager
def restricted() -> Iterator[None]:
    """Ultralytics' restricted build mode (see the module docstring); a hard guarantee.

    Where the installed ultralytics has no restricted mode, nothing is built: building without
    it would ``eval()`` the YAML's ``activation:``.
    """
    with integration.restricted_mode() as available:
        if not available:
            raise BuildError(
                "the installed ultralytics cannot build in restricted mode (no _SafeLoad); "
                "yolo-compose needs ultralytics>=8.4.126 to build a model safely"
            )
        yield


# --- running ----------------------------------------------------------------------------------


def _first_tensor(value: Any) -> torch.Tensor | None:
    """The first tensor in a (nested) output."""
    if isinstance(value, torch.Tensor):
        return value
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
    for item in items:
        found = _first_tensor(item)
        if found is not None:
            return found
    return None


def _all_finite(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return bool(torch.isfinite(value).all()) if value.is_floating_point() else True
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
    return all(_all_finite(item) for item in items)


def _input(size: tuple[int, int], channels: int = 3) -> torch.Tensor:
    """A fixed pseudo-random image batch of one (zeros would hide a NaN-producing softmax)."""
    generator = torch.Generator().manual_seed(0)
    return torch.rand(1, channels, *size, generator=generator)


def _layers(model: torch.nn.Module) -> list[torch.nn.Module]:
    return list(model.model)


def _first_nonfinite_layer(model: torch.nn.Module, x: torch.Tensor) -> int | None:
    """Index of the first layer whose output holds NaN or Inf (slow path, only after a failure)."""
    bad: list[int] = []

    def hook(module: torch.nn.Module, _inputs: Any, output: Any) -> None:
        if not bad and not _all_finite(output):
            bad.append(int(module.i))

    handles = [m.register_forward_hook(hook) for m in _layers(model)]
    try:
        with torch.inference_mode():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return bad[0] if bad else None


def run_once(model: torch.nn.Module, size: tuple[int, int]) -> Any:
    """One eval forward at (h, w); a failure or a non-finite output is a BuildError naming the layer."""
    x = _input(size, _in_channels(model))
    h, w = size
    try:
        with torch.inference_mode(), sdpa_kernel([SDPBackend.MATH]):
            out = model(x)
    except Exception as exc:
        layer = integration.failing_layer(exc.__traceback__)
        raise BuildError(f"forward at {h}x{w} failed: {_one_line(exc)}", layer=layer) from None
    if not _all_finite(out):
        layer = _first_nonfinite_layer(model, x)
        raise BuildError(f"forward at {h}x{w} gives NaN or Inf", layer=layer)
    return out


def _in_channels(model: torch.nn.Module) -> int:
    return int(model.yaml.get("channels", 3)) if hasattr(model, "yaml") else 3


def check_forward(model: torch.nn.Module, sizes: list[tuple[int, int]]) -> None:
    """Run the model at every (h, w) in eval mode; raises BuildError naming the layer and size."""
    for size in sizes:
        run_once(model, size)


# --- FLOPs ------------------------------------------------------------------------------------


def _shape(value: Any) -> list[int]:
    tensor = _first_tensor(value)
    return list(tensor.shape[1:]) if tensor is not None else []


Shapes = dict[int, list[int]]


def count_layers(model: torch.nn.Module, size: tuple[int, int]) -> tuple[FlopCounter, Shapes, Shapes]:
    """Forward once at `size`, counting FLOPs per layer and recording input and output shapes."""
    counter = FlopCounter()
    in_shapes: Shapes = {}
    out_shapes: Shapes = {}

    def before(module: torch.nn.Module, inputs: Any) -> None:
        counter.layer = int(module.i)
        in_shapes[counter.layer] = _shape(inputs)

    def after(module: torch.nn.Module, _inputs: Any, output: Any) -> None:
        out_shapes[int(module.i)] = _shape(output)

    handles = []
    for layer in _layers(model):
        handles.append(layer.register_forward_pre_hook(before))
        handles.append(layer.register_forward_hook(after))
    try:
        with counter:
            run_once(model, size)
    finally:
        for handle in handles:
            handle.remove()
    return counter, in_shapes, out_shapes


def ultralytics_gflops(model: torch.nn.Module, imgsz: int) -> float:
    """The GFLOPs figure ultralytics itself prints (0.0 when it cannot count the model)."""
    from ultralytics.utils.torch_utils import get_flops

    return float(get_flops(model, imgsz))


# --- measuring --------------------------------------------------------------------------------


def _injected_yaml_names() -> set[str]:
    """YAML names of the catalogue modules whose input channels the build injects."""
    from .modules.registry import yaml_names

    return {name for name, spec in yaml_names().items() if spec.injected_channels}


def measure_built(
    model: torch.nn.Module,
    *,
    source_name: str,
    imgsz: int,
    check_sizes: bool = True,
    already_run: tuple[tuple[int, int], ...] = (),
    with_ultralytics_gflops: bool = True,
) -> ModelMeasure:
    """Run a built model at the probe sizes and measure it per layer at imgsz.

    `already_run`: sizes the caller has just run this very model at (they are not run again).
    """
    sizes = probe_sizes(imgsz)
    if check_sizes:
        check_forward(model, [s for s in sizes if s != (imgsz, imgsz) and s not in already_run])
    counter, in_shapes, out_shapes = count_layers(model, (imgsz, imgsz))
    injected = _injected_yaml_names()
    rows = getattr(model, "composed_rows", None) or model.yaml["backbone"] + model.yaml["head"]
    layers = []
    for module, (from_, _n, name, args) in zip(_layers(model), rows, strict=True):
        i = int(module.i)
        out_shape = out_shapes.get(i, [])
        stride = imgsz // out_shape[-2] if len(out_shape) == 3 and out_shape[-2] else None
        layers.append(
            LayerMeasure(
                index=i,
                from_=from_,
                repeats=len(module) if isinstance(module, torch.nn.Sequential) else 1,
                module=str(name),
                type=str(module.type),
                args=list(args),
                in_channels=(in_shapes.get(i) or [None])[0] if name in injected else None,
                params=int(sum(p.numel() for p in module.parameters())),
                gflops=counter.flops.get(i, 0) / 1e9,
                out_shape=out_shape,
                in_shape=in_shapes.get(i, []),
                stride=stride,
            )
        )
    return ModelMeasure(
        source_name=source_name,
        scale=str(model.yaml.get("scale") or ""),
        task=getattr(model, "task_name", "detect"),
        imgsz=imgsz,
        sizes=sizes if check_sizes else [(imgsz, imgsz)],
        layers=layers,
        params=int(sum(p.numel() for p in model.parameters())),
        gflops=counter.total / 1e9,
        ultralytics_gflops=ultralytics_gflops(model, imgsz) if with_ultralytics_gflops else 0.0,
    )


@_stdout_to_stderr
def measure_model(yaml_text: str, *, source_name: str, scale: str | None, imgsz: int = 640) -> ModelMeasure:
    """Build, run at the probe sizes and measure: per-layer params, GFLOPs, output shapes, totals."""
    model = build_model(yaml_text, source_name=source_name, scale=scale)
    return measure_built(model, source_name=source_name, imgsz=imgsz)


# --- resolution args and the O(N^2) warning ------------------------------------------------------


def _strides_at_probe(model: torch.nn.Module) -> dict[int, int]:
    """Stride of each layer's *input* feature map, from a forward at the stride probe."""
    strides: dict[int, int] = {}

    def before(module: torch.nn.Module, inputs: Any) -> None:
        shape = _shape(inputs)
        if len(shape) == 3 and shape[-2]:
            strides[int(module.i)] = STRIDE_PROBE // shape[-2]

    handles = [m.register_forward_pre_hook(before) for m in _layers(model)]
    try:
        run_once(model, (STRIDE_PROBE, STRIDE_PROBE))
    finally:
        for handle in handles:
            handle.remove()
    return strides


def resolution_values(module: ModuleSpec, imgsz: int, stride: int) -> dict[int, tuple[str, int]]:
    """{arg position: (arg name, value)} for a module's resolution args at imgsz and stride."""
    side = max(1, imgsz // stride)
    return {k: (arg.name, side) for k, arg in enumerate(module.args) if arg.resolution in ("w", "h", "size")}


def fill_resolution_args(edit: EditResult, strides: dict[int, int], imgsz: int) -> list[FilledArg]:
    """Write resolution args of the inserted layers into the edited YAML text (a patch of each row).

    Returns what changed; an empty list means the built model already has the right values.
    """
    filled = []
    for index in _written_layers(edit):
        module = edit.module_at(index) or edit.module
        stride = strides.get(index)
        if stride is None or module is None:
            continue
        written = list(edit.spec.layers[index].args)
        wanted = resolution_values(module, imgsz, stride)
        if not wanted:
            continue
        updates = {k: module.args[k].default for k in range(len(written), max(wanted) + 1)}
        updates.update({position: value for position, (_name, value) in wanted.items()})
        filled += [
            FilledArg(index, name, value, stride)
            for position, (name, value) in wanted.items()
            if position >= len(written) or written[position] != value
        ]
        set_args(edit.spec, index, updates)
        if index == edit.new_index and len(edit.row) == 4:
            edit.row[3] = list(edit.spec.layers[index].args)  # the report shows what is written
    return filled


def _written_layers(edit: EditResult) -> list[int]:
    """Indices of the rows the edit wrote a catalogue module into (inserted and replaced)."""
    return sorted(set(edit.inserted) | set(edit.replaced))


def attention_warnings(edit: EditResult, strides: dict[int, int], imgsz: int) -> list[str]:
    """Warnings for O(N^2) modules whose N x N attention at batch 16 would be large."""
    warnings = []
    for index in _written_layers(edit):
        module = edit.module_at(index) or edit.module
        stride = strides.get(index)
        if not stride or module is None or module.complexity != "O(N^2)":
            continue
        heads_pos = next((k for k, arg in enumerate(module.args) if arg.name == "heads"), None)
        args = edit.spec.layers[index].args
        heads = int(args[heads_pos]) if heads_pos is not None and heads_pos < len(args) else 1
        tokens = (imgsz // stride) ** 2
        size = ATTENTION_BATCH * heads * tokens**2 * 4
        if size > ATTENTION_WARN_BYTES:
            warnings.append(
                f"layer {index} {module.yaml_name} is O(N^2): N = {tokens:,} tokens at imgsz {imgsz} "
                f"(stride {stride}); one attention matrix at batch {ATTENTION_BATCH} is "
                f"~{size / 1024**3:.1f} GiB in fp32 ({heads} heads); consider a deeper level (P5) "
                f"or a linear-cost module"
            )
    return warnings


# --- the whole step -------------------------------------------------------------------------------


def edit_scale(edit: EditResult, scale: str | None) -> str:
    """--scale, else the base's letter, else the first of `scales:` ('' when the model has none)."""
    scales = list(edit.spec.scales)
    base_name = edit.base.name if edit.base is not None else None
    chosen = naming.choose_scale(scales, requested=scale, name=base_name)
    if scales and chosen not in scales:
        raise BuildError(f"{chosen!r} is not in the model's scales ({', '.join(scales)})", param=Param.scale)
    return chosen


def _shape_preserving(measure: ModelMeasure, indices: list[int]) -> bool:
    """True when every listed layer's output has its input's shape (so nothing else changed)."""
    by_index = {layer.index: layer for layer in measure.layers}
    return bool(indices) and all(
        by_index[i].in_shape and by_index[i].in_shape == by_index[i].out_shape for i in indices
    )


def measure_input(edit: EditResult, scale: str, imgsz: int) -> ModelMeasure | None:
    """The model the change was made to, built and measured at `scale` (None when unknown)."""
    if not edit.source_text:
        return None
    name = edit.spec.source or (edit.base.name if edit.base is not None else "model.yaml")
    model = build_model(edit.source_text, source_name=name, scale=scale or None)
    return measure_built(model, source_name=name, imgsz=imgsz, check_sizes=False,
                         with_ultralytics_gflops=False)


def check_replaced_shapes(edit: EditResult, base: ModelMeasure, scale: str) -> None:
    """Refuse a replace whose new module cannot give the replaced layer's output shape.

    Our modules keep their input's shape, so the replaced layer must have kept its own (in the
    model the change was made to, as built): else the layers that read it would get other
    channels. The message names the `insert` command that works instead.
    """
    inverse = {new: old for old, new in edit.index_map.items()}
    by_index = {layer.index: layer for layer in base.layers}
    for index in edit.replaced:
        module = edit.module_at(index)
        old = by_index.get(inverse.get(index, -1))
        if module is None or not module.keeps_channels or old is None or old.in_shape == old.out_shape:
            continue
        base_name = edit.base.name if edit.base is not None else (edit.spec.source or "MODEL")
        raise BuildError(
            f"layer {index}: cannot replace {old.module} with {module.yaml_name}: {old.module} maps "
            f"{old.in_shape} to {old.out_shape} at scale {scale or '-'}, and {module.yaml_name} keeps its "
            f"input's shape",
            hint=Hint.insert_instead,
            hint_values={"module": module.name, "index": old.index, "base": base_name},
        )


def base_totals(
    edit: EditResult, measure: ModelMeasure, scale: str, base: ModelMeasure | None = None
) -> tuple[int, float, bool]:
    """Params and GFLOPs of the base model at the same scale and imgsz.

    A shape-preserving insert leaves every other layer exactly as it was (same inputs, same
    channels), so the base totals are the model's minus the inserted layers': exact, no second
    build. Anything else (a remove, a shape-changing module) builds and measures the base.
    """
    if edit.only_inserts and _shape_preserving(measure, edit.inserted):
        inserted = [layer for layer in measure.layers if layer.index in edit.inserted]
        return (
            measure.params - sum(layer.params for layer in inserted),
            measure.gflops - sum(layer.gflops for layer in inserted),
            True,
        )
    if base is not None and base.imgsz == measure.imgsz:
        return base.params, base.gflops, False
    if edit.base is None or not edit.source_text:
        return measure.params, measure.gflops, True
    name = edit.spec.source or edit.base.name
    model = build_model(edit.source_text, source_name=name, scale=scale or None)  # the text as read
    base = measure_built(model, source_name=name, imgsz=measure.imgsz, check_sizes=False,
                         with_ultralytics_gflops=False)
    return base.params, base.gflops, False


@dataclass
class BuiltEdit:
    """An edited spec built at one scale, its resolution args filled (what `insert` measures)."""

    model: torch.nn.Module
    model_dict: dict[str, Any]
    filled: list[FilledArg]
    warnings: list[str]
    probed: tuple[tuple[int, int], ...]  # sizes the returned model has already run at


def build_edit(
    edit: EditResult,
    *,
    scale: str,
    imgsz: int,
    source_name: str,
    on_warning: Callable[[str], None] | None = None,
) -> BuiltEdit:
    """Build the edited spec, probe the strides, fill resolution args (rebuilding if they changed).

    The one build step of `insert` (and of `sweep`, so both count the same model). Edits
    ``edit.spec`` in place only to write resolution args; raises BuildError naming the layer.
    """
    model_dict = parse_model_dict(edit.spec.dump(), source_name=source_name, scale=scale or None)
    model = build_from_dict(model_dict, source_name=source_name)
    strides = _strides_at_probe(model)
    warnings = attention_warnings(edit, strides, imgsz)
    for message in warnings:
        if on_warning is not None:
            on_warning(message)
    filled = fill_resolution_args(edit, strides, imgsz)
    probed: tuple[tuple[int, int], ...] = ((STRIDE_PROBE, STRIDE_PROBE),)
    if filled:
        model_dict = parse_model_dict(edit.spec.dump(), source_name=source_name, scale=scale or None)
        model, probed = build_from_dict(model_dict, source_name=source_name), ()
    return BuiltEdit(model, model_dict, filled, warnings, probed)


@contextmanager
def validation_threads() -> Iterator[None]:
    """Run the one-shot validation forwards on up to 4 cores, then restore torch's setting.

    Ultralytics pins training to one intra-op thread; a batch-1 forward at 640 is about 1.4x
    faster on two. Only where the CLI set that one thread itself: a user's OMP_NUM_THREADS (1
    included) is kept as it is, and so are a library caller's threads and a busy machine (load
    average at or above its cores).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(validation_thread_count())
    try:
        yield
    finally:
        torch.set_num_threads(before)


def validation_thread_count() -> int:
    """The intra-op threads validation_threads() runs with (the current count where it keeps it)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    busy = hasattr(os, "getloadavg") and os.getloadavg()[0] >= cores
    if integration.threads_are_ours() and not busy:
        return max(1, min(MAX_VALIDATION_THREADS, cores))
    return torch.get_num_threads()


def _warn_stderr(message: str) -> None:
    sys.stderr.write(f"warning: {message}\n")
    sys.stderr.flush()


@_stdout_to_stderr
def build_and_summarize(
    edit: EditResult,
    *,
    scale: str | None,
    imgsz: int,
    all_scales: bool,
    on_warning: Callable[[str], None] | None = _warn_stderr,
    output_name: str | None = None,
) -> BuildSummary:
    """Build the edited spec, fill resolution args, run every probe size, measure, summarise.

    `output_name` is the file the result is written to (default: the edit's default name); the
    summary and every error name it. Edits ``edit.spec`` in place only to write resolution args.
    Raises BuildError (one line, naming the layer and size) when ultralytics cannot build or run
    the model.
    """
    if imgsz < 32 or imgsz % 32:
        raise BuildError(f"imgsz must be a positive multiple of 32, got {imgsz}")
    with validation_threads():
        return _build_and_summarize(edit, scale=scale, imgsz=imgsz, all_scales=all_scales,
                                    on_warning=on_warning, output_name=output_name)


def _build_and_summarize(
    edit: EditResult,
    *,
    scale: str | None,
    imgsz: int,
    all_scales: bool,
    on_warning: Callable[[str], None] | None,
    output_name: str | None,
) -> BuildSummary:
    """build_and_summarize's work, inside validation_threads()."""
    chosen = edit_scale(edit, scale)
    base = measure_input(edit, chosen, imgsz) if edit.replaced else None
    if base is not None:
        check_replaced_shapes(edit, base, chosen)
    source_name = output_name or edit.default_output_name or (edit.spec.source or "model.yaml")
    built = build_edit(edit, scale=chosen, imgsz=imgsz, source_name=source_name, on_warning=on_warning)
    model, model_dict, filled, warnings = built.model, built.model_dict, built.filled, built.warnings
    measure = measure_built(model, source_name=source_name, imgsz=imgsz, already_run=built.probed)
    base_params, base_gflops, derived = base_totals(edit, measure, chosen, base)
    scales = [ScaleResult(chosen, measure.params, measure.gflops)] if all_scales else []
    if all_scales:
        scales += [_measure_scale(model_dict, s, source_name, imgsz) for s in edit.spec.scales if s != chosen]
    output = output_name or edit.default_output_name
    base_name = edit.base.name if edit.base is not None else (edit.spec.source or "")
    return BuildSummary(
        model=measure,
        inserted=list(edit.inserted),
        rewired=_rewired(edit),
        base_name=scaled_name(base_name, chosen),
        base_params=base_params,
        base_gflops=base_gflops,
        base_derived=derived,
        filled=filled,
        scales=scales,
        warnings=warnings,
        warnings_reported=on_warning is not None,
        output_path=output,
        replaced=list(edit.replaced),
        first_scale=next(iter(edit.spec.scales), ""),
        scale_requested=scale is not None,
    )


def _measure_scale(model_dict: dict[str, Any], scale: str, source_name: str, imgsz: int) -> ScaleResult:
    """Build and run one more scale (--all-scales); errors name the scale."""
    scaled = {**model_dict, "scale": scale}
    try:
        model = build_from_dict(scaled, source_name=source_name)
        measure = measure_built(model, source_name=source_name, imgsz=imgsz, with_ultralytics_gflops=False)
    except BuildError as exc:
        exc.message = f"scale {scale}: {exc.message}"
        raise
    return ScaleResult(scale, measure.params, measure.gflops)


def _rewired(edit: EditResult) -> dict[int, list[str]]:
    """Layer index -> the reasons its `from` was rewritten."""
    result: dict[int, list[str]] = defaultdict(list)
    for record in edit.rewired:
        result[int(record.layer)].append(f"{record.old_ref} -> {record.new_ref}: {record.reason}")
    return dict(result)

