"""Build-validation, the exact FLOPs count and the summary, on real ultralytics builds."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from conftest import run_python
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from yolo_compose import build, integration
from yolo_compose.composer.bases import resolve_base
from yolo_compose.composer.edit import compose_insert
from yolo_compose.errors import BuildError
from yolo_compose.flops import FlopCounter
from yolo_compose.modules.halo import halo_macs
from yolo_compose.render.summary import render_summary_rich, summary_dict

sys.path.insert(0, str(Path(__file__).resolve().parent))
import yc_test_module  # noqa: F401  (registers ChannelGate, SquareOnly and LookupBug)

pytestmark = pytest.mark.slow  # real ultralytics builds, training or processes; see README

YOLO11 = resolve_base("yolo11n").path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def halo_summary():
    """yolo11n with HaloAttention after layer 8, built and summarised at 640."""
    edit = compose_insert("yolo11n", "halo", after=8)
    return edit, build.build_and_summarize(edit, scale=None, imgsz=640, all_scales=False)


def torch_flop_counter_total(model: torch.nn.Module, size: int) -> int:
    """FLOPs of one eval forward as torch's own FlopCounterMode counts them (math attention)."""
    with torch.inference_mode(), sdpa_kernel([SDPBackend.MATH]), FlopCounterMode(display=False) as counter:
        model(torch.rand(1, 3, size, size))
    return counter.get_total_flops()


@pytest.mark.parametrize("module", [None, "halo", "mhsa", "cga", "flatten"])
def test_flops_match_torch_flop_counter_exactly_for_plain_and_attention_models(module):
    text = YOLO11 if module is None else compose_insert("yolo11n", module, after=8).spec.dump()
    model = build.build_model(text, source_name="yolo11n.yaml", scale="n")
    counter, _, _ = build.count_layers(model, (320, 320))
    assert counter.total == torch_flop_counter_total(model, 320)
    assert counter.total > 0


@pytest.mark.parametrize("module", [None, "halo"])
def test_flops_without_torchs_private_kernel_runner_match_too(module, monkeypatch):
    """Where torch lacks the private composite-kernel runner, the public decompose path counts the same."""
    from yolo_compose import flops

    monkeypatch.setattr(flops, "_composite_kernel", lambda func: None)
    text = YOLO11 if module is None else compose_insert("yolo11n", module, after=8).spec.dump()
    model = build.build_model(text, source_name="yolo11n.yaml", scale="n")
    counter, _, _ = build.count_layers(model, (320, 320))
    assert counter.total == torch_flop_counter_total(model, 320) > 0


@pytest.mark.parametrize(
    "layer",
    [
        torch.nn.Conv2d(8, 16, 3, padding=1, groups=4),
        torch.nn.Conv2d(8, 8, 5, stride=2, groups=8, bias=False),
        torch.nn.ConvTranspose2d(8, 4, 2, stride=2),
        torch.nn.Linear(8, 12),
        torch.nn.MultiheadAttention(8, 2, batch_first=True),
        torch.nn.Sequential(torch.nn.Conv2d(8, 8, 3, dilation=2), torch.nn.BatchNorm2d(8).eval()),
        torch.nn.Sequential(torch.nn.LayerNorm(8), torch.nn.Linear(8, 4), torch.nn.Flatten()),
    ],
    ids=["grouped", "depthwise-strided", "transposed", "linear", "attention", "dilated-bn", "norm-linear"],
)
def test_own_formulas_equal_torch_flop_counter_per_op_kind(layer):
    x = torch.rand(2, 8, 12, 10) if "Conv" in str(layer) else torch.rand(2, 6, 8)
    args = (x, x, x) if isinstance(layer, torch.nn.MultiheadAttention) else (x,)
    with torch.inference_mode(), sdpa_kernel([SDPBackend.MATH]):
        with FlopCounterMode(display=False) as reference:
            layer(*args)
        with FlopCounter() as ours:
            layer(*args)
    assert ours.total == reference.get_total_flops() > 0


def test_build_imports_no_flop_counter_module_nor_triton(tmp_path):
    code = """
        import json, sys, yolo_compose.build
        print(json.dumps(sorted(m for m in ("torch.utils.flop_counter", "triton") if m in sys.modules)))
    """
    assert run_python(code, cwd=tmp_path) == []


def test_halo_summary_counts_the_inserted_layer_exactly(halo_summary):
    _edit, summary = halo_summary
    layer = summary.model.layers[9]
    assert (layer.module, layer.in_channels, layer.out_shape) == ("HaloAttention", 256, [256, 20, 20])
    # the module author's closed-form count (MACs) at P5 of a 640 image: 20 x 20, c1 = 256
    assert layer.gflops * 1e9 == 2 * halo_macs(256, 20, 20, block=2, halo=1, heads=4, dim_head=0)
    assert summary.model.gflops == pytest.approx(sum(x.gflops for x in summary.model.layers))
    assert summary.model.params == sum(x.params for x in summary.model.layers)
    assert summary.model.sizes == [(256, 256), (640, 640), (384, 640)]
    assert summary.inserted == [9]
    assert 10 in summary.rewired and 24 in summary.rewired  # SPPF reads the new layer; Detect shifted


def test_base_deltas_equal_a_real_build_of_the_base(halo_summary):
    _edit, summary = halo_summary
    base = build.measure_model(YOLO11, source_name="yolo11n.yaml", scale="n", imgsz=640)
    assert summary.base_derived
    assert summary.base_params == base.params
    assert summary.base_gflops == pytest.approx(base.gflops, abs=1e-9)
    assert summary.delta_params == summary.model.layers[9].params
    assert base.ultralytics_gflops == pytest.approx(6.7, abs=0.05)  # thop also counts BatchNorm
    assert base.gflops == pytest.approx(6.5425, abs=1e-4)


def test_check_forward_names_layer_and_size_in_one_line():
    text = compose_insert("yolo11n", "squareonly", after=8).spec.dump()
    model = build.build_model(text, source_name="yolo11n-sq.yaml", scale="n")
    build.check_forward(model, [(256, 256), (640, 640)])
    with pytest.raises(BuildError) as info:
        build.check_forward(model, integration.probe_sizes(640))
    message = str(info.value)
    assert info.value.layer == 9
    assert message == (
        "layer 9: forward at 384x640 failed: ValueError: SquareOnly needs a square map, got 12x20"
    )


def test_build_error_names_the_layer_and_why():
    text = compose_insert("yolo11n", "halo", after=8, args=[2, 1, 3]).spec.dump()
    with pytest.raises(BuildError) as info:
        build.build_model(text, source_name="yolo11n-halo.yaml", scale="n")
    assert info.value.layer == 9
    assert str(info.value) == (
        "yolo11n-halo.yaml: layer 9: cannot build (scale n): "
        "ValueError: channels 256 not divisible by heads 3"
    )


def test_unknown_module_is_a_build_error_naming_the_layer():
    text = YOLO11.replace("- [-1, 2, C2PSA, [1024]]", "- [-1, 2, NoSuchAttention, [1024]]")
    with pytest.raises(BuildError) as info:
        build.build_model(text, source_name="yolo11n-x.yaml", scale="n")
    assert info.value.layer == 10
    assert "unknown module 'NoSuchAttention'" in str(info.value)


def test_a_key_error_inside_a_layer_is_that_error_not_an_unknown_module():
    text = YOLO11.replace("- [-1, 2, C2PSA, [1024]]", "- [-1, 1, LookupBug, []]")
    with pytest.raises(BuildError) as info:
        build.build_model(text, source_name="yolo11n-x.yaml", scale="n")
    assert info.value.layer == 10
    assert "KeyError: 'scale'" in str(info.value) and "unknown module" not in str(info.value)


def test_activation_is_never_evaluated(tmp_path):
    marker = tmp_path / "ran"
    text = f"activation: __import__('pathlib').Path({str(marker)!r}).touch()\n" + YOLO11
    with pytest.raises(BuildError, match="refusing to eval"):
        build.build_model(text, source_name="yolo11n.yaml", scale="n")
    assert not marker.exists()
    model = build.build_model("activation: nn.ReLU()\n" + YOLO11, source_name="yolo11n.yaml", scale="n")
    assert isinstance(model.model[0].act, torch.nn.ReLU)


def test_build_runs_in_restricted_mode_refusing_non_module_globals():
    text = YOLO11.replace("- [-1, 2, C2PSA, [1024]]", "- [-1, 1, torch_load, []]")
    with pytest.raises(BuildError) as info:
        build.build_model(text, source_name="yolo11n.yaml", scale="n")
    assert info.value.layer == 10
    assert "not a permitted model layer" in str(info.value)


def test_resolution_args_are_filled_from_imgsz_and_stride():
    edit = compose_insert("yolo11n", "mhsa", after=8)
    summary = build.build_and_summarize(edit, scale=None, imgsz=320, all_scales=False, on_warning=None)
    assert [(f.layer, f.name, f.value, f.stride) for f in summary.filled] == [
        (9, "width", 10, 32),
        (9, "height", 10, 32),
    ]
    assert list(edit.spec.layers[9].args) == [10, 10, 4]
    assert "[-1, 1, MHSA, [10, 10, 4]]" in edit.spec.dump()
    assert summary.model.layers[9].out_shape == [256, 10, 10]


def test_o_n2_module_at_high_resolution_warns_with_memory_estimate():
    edit = compose_insert("yolo11n", "mhsa", after=4)  # P3: stride 8
    warnings = build.attention_warnings(edit, {5: 8}, 640)
    assert len(warnings) == 1
    assert "N = 6,400 tokens" in warnings[0] and "~9.8 GiB" in warnings[0], warnings[0]
    assert build.attention_warnings(edit, {5: 32}, 640) == []  # P5: 400 tokens, 41 MB


def test_all_scales_build_and_run_every_scale():
    edit = compose_insert("yolo11n", "halo", after=8)
    summary = build.build_and_summarize(edit, scale=None, imgsz=64, all_scales=True)
    assert [s.scale for s in summary.scales] == list("nsmlx")
    params = [s.params for s in summary.scales]
    assert params == sorted(params) and len(set(params)) == 5
    assert summary.model.sizes == [(256, 256), (64, 64), (32, 64)]


def test_rich_summary_shows_marks_totals_and_footer(halo_summary, capsys):
    _edit, summary = halo_summary
    render_summary_rich(summary, output="yolo11n-halo.yaml")
    err = capsys.readouterr().err
    lines = err.splitlines()
    inserted = [line for line in lines if line.lstrip().startswith("9+ ")]
    assert len(inserted) == 1 and "HaloAttention" in inserted[0] and "c1=256" in inserted[0], err
    assert any(line.lstrip().startswith("10* ") and "SPPF" in line for line in lines)
    assert "GFLOPs as ultralytics reports them" in err
    assert f"params {summary.model.params:,}" in err
    assert f"params {summary.delta_params:+,}" in err
    assert "ultralytics will build scale n (from the file name)" in err
    assert "train model=yolo11n-halo.yaml data=coco8.yaml" in err
    assert "warning" not in err


def test_summary_warns_when_the_file_name_picks_another_scale(halo_summary, capsys):
    _edit, summary = halo_summary
    render_summary_rich(summary, output="my_model.yaml")  # no letter: ultralytics builds n, the first scale
    assert "warning" not in capsys.readouterr().err
    render_summary_rich(summary, output="yolo11s-halo.yaml")
    err = capsys.readouterr().err
    assert "warning: the summary is for scale n, but ultralytics will build s from the file name" in err
    assert "or pass --scale s" in err


def test_json_summary_is_the_same_data(halo_summary):
    _edit, summary = halo_summary
    data = json.loads(json.dumps(summary_dict(summary)))
    assert data["model"]["params"] == summary.model.params
    assert data["model"]["layers"][9]["in_channels"] == 256
    assert data["model"]["layers"][9]["from"] == -1
    assert data["delta"]["params"] == summary.delta_params
    assert data["base"]["derived"] is True


def test_cli_insert_builds_and_a_failing_build_writes_nothing(tmp_path, cli):
    out = tmp_path / "yolo11n-halo.yaml"
    fresh = {"YOLO_CONFIG_DIR": str(tmp_path / "cfg")}  # ultralytics' first import would announce settings
    ok = cli("insert", "halo", "--after", "8", "--base", "yolo11n", "-o", out, "--json", env=fresh)
    assert ok.returncode == 0, ok.stderr
    assert "Ultralytics Settings" not in ok.stderr  # its first-import banner is muted
    report = json.loads(ok.stdout)  # nothing but the JSON report on stdout
    assert report["build"]["model"]["layers"][9]["module"] == "HaloAttention"
    assert out.exists()
    bad_out = tmp_path / "yolo11n-bad.yaml"
    bad = cli("insert", "halo", "--after", "8", "--base", "yolo11n", "--args", "[2, 1, 3]", "-o", bad_out)
    assert bad.returncode != 0
    assert bad.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "layer 9: cannot build (scale n): ValueError: channels 256 not divisible by heads 3" in bad.stderr
    assert not bad_out.exists()


@pytest.mark.parametrize("reported_early", [True, False])
def test_o_n2_warning_is_shown_once(reported_early, capsys):
    """Reported before the forward passes (the CLI's way) or only in the summary, never twice."""
    edit = compose_insert("yolo11n", "mhsa", after=4)  # P3: 56 x 56 = 3,136 tokens at imgsz 448
    early: list[str] = []
    summary = build.build_and_summarize(
        edit, scale=None, imgsz=448, all_scales=False, on_warning=early.append if reported_early else None
    )
    assert any("O(N^2)" in w for w in summary.warnings), summary.warnings
    render_summary_rich(summary, output="yolo11n-mhsa.yaml")
    shown = capsys.readouterr().err.count("is O(N^2)") + sum("is O(N^2)" in w for w in early)
    assert shown == 1


def test_no_restricted_mode_means_no_build(monkeypatch):
    """Where ultralytics offers no restricted mode, the build refuses instead of running unrestricted."""
    import contextlib

    from yolo_compose import integration

    @contextlib.contextmanager
    def unavailable():
        yield False

    monkeypatch.setattr(integration, "restricted_mode", unavailable)
    text = resolve_base("yolo11n").path.read_text(encoding="utf-8")
    with pytest.raises(BuildError, match="cannot build in restricted mode"):
        build.build_model(text, source_name="yolo11n.yaml", scale="n")
