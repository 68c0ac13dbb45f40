"""The contract every registered attention module keeps, checked for each spec in the registry.

``Module(c1, *yaml_args)`` keeps the channel count, runs at every feature-map size YOLO feeds it
(build-time stride pass, square/rect/TTA/multi-scale P5 maps), in train and eval, batch 1 and 8,
under bf16/fp16 autocast; a wrong channel count is a clear error; the state dict does not depend
on the input size; ``torch.jit.trace`` and ONNX export (the TorchScript-based exporter at opset 17,
as ultralytics' ``export`` uses) work; constructors print nothing.
"""

from __future__ import annotations

import copy
import inspect
import io
import subprocess
import sys
import warnings

import pytest
import torch
from torch import nn

from yolo_compose.modules import ModuleSpec, all_specs

CHANNELS = 64
STRIDE = 32  # the sizes below are P5 maps; P5 is where every module is recommended
# (image height, image width): build-time stride pass, train, rect val (both ways), TTA 0.83/0.67
IMAGE_SIZES = [(256, 256), (640, 640), (384, 640), (640, 384), (544, 544), (448, 448)]
MULTI_SCALE = [(s, s) for s in range(320, 961, 32)]  # multi_scale: 0.5-1.5 x 640 in steps of 32
# The built-in modules only: other test files register toy modules in this same process.
SPECS = [spec for spec in all_specs() if spec.target.startswith("yolo_compose.modules.")]
LINEAR_SPECS = [spec for spec in SPECS if spec.complexity == "O(N)"]


def build(spec: ModuleSpec, c1: int = CHANNELS, **changed: object) -> nn.Module:
    """The module as a YAML row with default args builds it: ``Class(c1, *default_args)``.

    ``changed`` replaces default args by name (``zero_init=True``), as a YAML row would.
    """
    torch.manual_seed(0)
    return spec.load_class()(c1, *yaml_args(spec, **changed))


def yaml_args(spec: ModuleSpec, **changed: object) -> list[object]:
    """The default YAML args with some replaced by name."""
    unknown = set(changed) - {arg.name for arg in spec.args}
    assert not unknown, f"{spec.name} has no args {unknown}"
    return [changed.get(arg.name, arg.default) for arg in spec.args]


def feature_map(batch: int, height: int, width: int, c1: int = CHANNELS, scale: float = 1.0) -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randn(batch, c1, height, width) * scale


def ids(spec: ModuleSpec) -> str:
    return spec.name


@pytest.fixture(params=SPECS, ids=ids)
def spec(request: pytest.FixtureRequest) -> ModuleSpec:
    return request.param


# ---- registry metadata --------------------------------------------------------------------------


def test_constructor_signature_matches_the_args_schema(spec: ModuleSpec) -> None:
    """First parameter c1, then the YAML args in the registry's order (defaults may be derived)."""
    cls = spec.load_class()
    assert issubclass(cls, nn.Module)
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert params[0].name == "c1", f"{cls.__name__}: first argument is {params[0].name!r}, not 'c1'"
    yaml_params = params[1 : 1 + len(spec.args)]
    assert [p.name for p in yaml_params] == [a.name for a in spec.args]


def test_metadata_is_complete(spec: ModuleSpec) -> None:
    assert spec.complexity in ("O(N)", "O(N^2)")
    assert spec.levels and set(spec.levels) <= {"P2", "P3", "P4", "P5", "P6"}
    assert "arXiv:" in spec.paper, spec.paper
    assert spec.summary and spec.amp_notes and spec.size_constraints
    assert spec.keeps_channels
    for arg in spec.args:
        assert arg.help, f"{spec.name}.{arg.name} has no help"
        assert arg.resolution in ("", "w", "h", "size"), f"{spec.name}.{arg.name}: {arg.resolution!r}"


def test_registry_import_does_not_import_torch() -> None:
    code = "import sys, yolo_compose.modules as m; m.all_specs(); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False", result.stderr


def test_constructor_prints_nothing(spec: ModuleSpec, capfd: pytest.CaptureFixture[str]) -> None:
    build(spec)
    build(spec, c1=128)
    captured = capfd.readouterr()
    assert (captured.out, captured.err) == ("", "")


# ---- sizes, batches, modes ----------------------------------------------------------------------


@pytest.mark.parametrize(("image_h", "image_w"), IMAGE_SIZES, ids=lambda v: str(v))
def test_keeps_shape_at_yolo_sizes(spec: ModuleSpec, image_h: int, image_w: int) -> None:
    module = build(spec).eval()
    x = feature_map(1, image_h // STRIDE, image_w // STRIDE)
    with torch.no_grad():
        y = module(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all()


def test_keeps_shape_at_every_multi_scale_size(spec: ModuleSpec) -> None:
    module = build(spec).eval()
    with torch.no_grad():
        for image_h, image_w in MULTI_SCALE:
            x = feature_map(1, image_h // STRIDE, image_w // STRIDE)
            y = module(x)
            assert y.shape == x.shape, f"image {image_h}x{image_w}"
            assert torch.isfinite(y).all(), f"image {image_h}x{image_w}"


@pytest.mark.parametrize("spec", LINEAR_SPECS, ids=ids)
def test_linear_modules_run_at_p3(spec: ModuleSpec) -> None:
    """O(N) modules are recommended down to P3: 80 x 80 at 640."""
    module = build(spec).eval()
    x = feature_map(1, 80, 80)
    with torch.no_grad():
        assert module(x).shape == x.shape


@pytest.mark.parametrize(("height", "width"), [(8, 8), (12, 20)])
def test_trains_at_batch_8(spec: ModuleSpec, height: int, width: int) -> None:
    """A training step at batch 8: finite output and a gradient for every parameter."""
    module = build(spec).train()
    x = feature_map(8, height, width).requires_grad_()
    y = module(x)
    assert y.shape == x.shape
    y.square().mean().backward()
    assert torch.isfinite(x.grad).all()
    for name, param in module.named_parameters():
        assert param.grad is not None, f"{spec.name}: parameter {name} got no gradient"
        assert torch.isfinite(param.grad).all(), f"{spec.name}: parameter {name} has a non-finite gradient"


def test_train_and_eval_agree_on_shape(spec: ModuleSpec) -> None:
    module = build(spec)
    x = feature_map(2, 17, 17)
    assert module.train()(x).shape == module.eval()(x).shape == x.shape


# ---- mixed precision ----------------------------------------------------------------------------


def cpu_autocast_dtypes() -> list[torch.dtype]:
    """bf16 always; fp16 where this torch build supports CPU autocast in fp16."""
    dtypes = [torch.bfloat16]
    try:
        with torch.autocast("cpu", dtype=torch.float16):
            torch.ones(2, 2) @ torch.ones(2, 2)
        dtypes.append(torch.float16)
    except RuntimeError:
        pass
    return dtypes


@pytest.mark.parametrize("dtype", cpu_autocast_dtypes(), ids=str)
@pytest.mark.parametrize(("height", "width"), [(17, 17)])
def test_autocast_output_is_finite(spec: ModuleSpec, dtype: torch.dtype, height: int, width: int) -> None:
    """Activations of a trained network reach tens; scale the input so that overflow would show.

    17 x 17 (TTA P5) exercises padding, masking and table resampling, the parts that break first.
    """
    module = build(spec).train()
    x = feature_map(2, height, width, scale=30.0)
    with torch.autocast("cpu", dtype=dtype):
        y = module(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all(), f"{spec.name} under {dtype} autocast"
    y.float().mean().backward()
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    assert all(torch.isfinite(g).all() for g in grads), f"{spec.name}: non-finite gradient under {dtype}"


def test_dtype_change_after_eval_forward_uses_no_stale_cache(spec: ModuleSpec) -> None:
    """Cast after an eval forward (as ``.half()`` after validation does): same as casting first."""
    module = build(spec).eval()
    fresh = copy.deepcopy(module).double()
    x = feature_map(1, 12, 20)
    with torch.no_grad():
        module(x)  # may fill eval-time caches in float32
        module.double()
        got, want = module(x.double()), fresh(x.double())
    assert got.dtype == torch.float64
    assert torch.allclose(got, want, atol=1e-10), f"max diff {(got - want).abs().max():.2e}"


# ---- errors, state dicts, export ----------------------------------------------------------------


def test_wrong_channel_count_is_a_clear_error(spec: ModuleSpec) -> None:
    module = build(spec)
    with pytest.raises(ValueError, match=rf"\b{CHANNELS}\b.*\b32\b"):
        module(feature_map(1, 8, 8, c1=32))


def test_state_dict_does_not_depend_on_input_size(spec: ModuleSpec) -> None:
    module = build(spec)
    shapes = {k: v.shape for k, v in module.state_dict().items()}
    with torch.no_grad():
        for height, width in [(17, 17), (12, 20), (30, 30)]:
            module.train()(feature_map(2, height, width))
            module.eval()(feature_map(1, height, width))
    assert {k: v.shape for k, v in module.state_dict().items()} == shapes
    reloaded = build(spec)
    reloaded.load_state_dict(module.state_dict())  # strict: same keys, same shapes
    x = feature_map(1, 12, 20)
    with torch.no_grad():
        assert torch.allclose(reloaded.eval()(x), module.eval()(x))


@pytest.mark.parametrize("zero_init", [False, True], ids=["plain", "zero_init"])
def test_torchscript_trace(spec: ModuleSpec, zero_init: bool) -> None:
    module = build(spec, zero_init=zero_init).eval()
    x = feature_map(1, 12, 20)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.trace is deprecated in favour of export
        traced = torch.jit.trace(module, x, check_trace=False)
        got, want = traced(x), module(x)
    assert torch.allclose(got, want, atol=1e-5), f"max diff {(got - want).abs().max():.2e}"


@pytest.mark.parametrize("zero_init", [False, True], ids=["plain", "zero_init"])
def test_onnx_export_opset_17(spec: ModuleSpec, zero_init: bool) -> None:
    """Export as ultralytics does (``dynamo=False``), check the graph and run it with onnx's evaluator."""
    onnx = pytest.importorskip("onnx")
    from onnx.reference import ReferenceEvaluator

    module = build(spec, zero_init=zero_init).eval()
    x = feature_map(1, 12, 20)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (x,), buffer, opset_version=17, dynamo=False)
    model = onnx.load_from_string(buffer.getvalue())
    onnx.checker.check_model(model)
    assert {op.domain: op.version for op in model.opset_import}[""] == 17
    (got,) = ReferenceEvaluator(model).run(None, {model.graph.input[0].name: x.numpy()})
    with torch.no_grad():
        want = module(x)
    got = torch.from_numpy(got)
    assert torch.allclose(got, want, atol=1e-4), f"max diff {(got - want).abs().max():.2e}"


# ---- zero_init: the identity at init ----------------------------------------------------------

#: The layer each module zeroes with ``zero_init`` (CGA: its projection BN, zero in every case).
ZEROED = {"halo": "out", "mhsa": "v", "cga": "proj.1.1", "flatten": "proj"}
#: Odd, rectangular, block-multiple and 1 x 1 maps (batch 2 there: BatchNorm trains on 2 values).
IDENTITY_INPUTS = [(1, 17, 17), (3, 12, 20), (1, 5, 7), (3, 20, 20), (2, 1, 1)]


def test_zero_init_is_the_last_arg_and_off_by_default(spec: ModuleSpec) -> None:
    last = spec.args[-1]
    assert (last.name, last.type, last.default) == ("zero_init", "bool", False)
    assert set(ZEROED) == {s.name for s in SPECS}, "a new module needs its zeroed layer named here"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("training", [False, True], ids=["eval", "train"])
def test_zero_init_is_the_identity_bit_for_bit(spec: ModuleSpec, dtype: torch.dtype, training: bool) -> None:
    """A fresh zero_init layer returns its input unchanged: every size, batch, mode, with or without grad."""
    module = build(spec, zero_init=True).to(dtype).train(training)
    for batch, height, width in IDENTITY_INPUTS:
        x = feature_map(batch, height, width, scale=30.0).to(dtype)
        with torch.no_grad():
            assert torch.equal(module(x), x), f"{spec.name} {dtype} {tuple(x.shape)} no grad"
        assert torch.equal(module(x.requires_grad_()), x), f"{spec.name} {dtype} {tuple(x.shape)} with grad"


@pytest.mark.parametrize("dtype", cpu_autocast_dtypes(), ids=str)
def test_zero_init_is_the_identity_under_autocast(spec: ModuleSpec, dtype: torch.dtype) -> None:
    module = build(spec, zero_init=True).train()
    x = feature_map(2, 17, 17, scale=30.0)
    with torch.autocast("cpu", dtype=dtype):
        assert torch.equal(module(x), x), f"{spec.name} under {dtype} autocast"


def test_zero_init_trains_from_the_first_step(spec: ModuleSpec) -> None:
    """The zeroed layer gets a non-zero gradient at once; one step later it is no longer the identity."""
    module = build(spec, zero_init=True).train()
    x = feature_map(4, 12, 20).requires_grad_()
    grad_out = torch.randn_like(x)
    (module(x) * grad_out).sum().backward()
    zeroed = dict(module.named_parameters())
    for name in (f"{ZEROED[spec.name]}.weight", f"{ZEROED[spec.name]}.bias"):
        grad = zeroed[name].grad
        assert grad is not None and grad.abs().max() > 0, f"{spec.name}: {name} got no gradient"
    assert torch.equal(x.grad, grad_out), "an identity layer passes the gradient through unchanged"
    torch.optim.SGD(module.parameters(), lr=0.1).step()
    with torch.no_grad():
        assert not torch.equal(module(x), x), f"{spec.name}: still the identity after a step"


def test_zero_init_off_is_todays_module(spec: ModuleSpec) -> None:
    """zero_init False: the same parameters, values and outputs as a row without the arg."""
    without = spec.load_class()
    torch.manual_seed(0)
    old_row = without(CHANNELS, *spec.default_args[:-1]).eval()
    off, on = build(spec, zero_init=False).eval(), build(spec, zero_init=True).eval()
    old_state, off_state = old_row.state_dict(), off.state_dict()
    assert list(off_state) == list(old_state) == list(on.state_dict())
    assert all(torch.equal(off_state[key], old_state[key]) for key in old_state)
    x = feature_map(2, 12, 20)
    with torch.no_grad():
        assert torch.equal(off(x), old_row(x))
    zeroed = ZEROED[spec.name]
    changed = {key for key, value in on.state_dict().items() if not torch.equal(value, off_state[key])}
    assert changed <= {f"{zeroed}.weight", f"{zeroed}.bias"}, changed


def test_zero_init_rows_build_through_ultralytics_and_keep_the_base_predictions(
    spec: ModuleSpec, tmp_path
) -> None:
    """yolo11n with a zero_init row after layer 8, the base's weights moved one index up: same predictions."""
    from ultralytics.nn.tasks import DetectionModel

    import yolo_compose  # noqa: F401  (registers the modules with ultralytics)
    from yolo_compose.composer.edit import compose_insert

    edit = compose_insert("yolo11n", spec.name, after=8, args=yaml_args(spec, zero_init=True))
    composed_path = tmp_path / "yolo11n-zero.yaml"
    composed_path.write_text(edit.spec.dump(), encoding="utf-8")
    assert f"{spec.yaml_name}, [" in composed_path.read_text() and "True]]" in composed_path.read_text()
    torch.manual_seed(0)
    base = DetectionModel("yolo11n.yaml", verbose=False).eval()
    composed = DetectionModel(str(composed_path), verbose=False).eval()
    layer = composed.model[9]
    assert type(layer).__name__ == spec.yaml_name and layer.zero_init
    moved = {}
    for key, value in base.state_dict().items():
        index = int(key.split(".")[1])
        moved[key.replace(f"model.{index}.", f"model.{index + (index >= 9)}.", 1)] = value
    missing, unexpected = composed.load_state_dict(moved, strict=False)
    assert not unexpected and all(key.startswith("model.9.") for key in missing), (missing, unexpected)
    images = torch.randn(2, 3, 96, 160)
    with torch.no_grad():
        want, got = base(images)[0], composed(images)[0]
    assert torch.equal(got, want), f"max diff {(got - want).abs().max():.2e}"
