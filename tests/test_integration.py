"""Ultralytics builds our modules after `import yolo_compose`, in every place it starts afresh.

Each scenario runs in its own Python process, as a user's script would: the registration must
come from the import (or from unpickling), never from state this test process set up.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import run_python

from yolo_compose.composer.edit import compose_insert

pytestmark = pytest.mark.slow  # real ultralytics builds, training or processes; see README

TESTS_DIR = Path(__file__).resolve().parent
SCALES = "nsmlx"


def write_composed(folder: Path, name: str, *, module: str = "halo", after: int = 8) -> Path:
    """Insert `module` after layer `after` of yolo11 and write it as `name` (its scale letter counts)."""
    path = folder / name
    path.write_text(compose_insert("yolo11n", module, after=after).spec.dump(), encoding="utf-8")
    return path


def test_import_yolo_compose_loads_neither_torch_nor_ultralytics(tmp_path):
    out = run_python(
        """
        import json, sys
        import yolo_compose
        print(json.dumps({"loaded": sorted(m for m in ("torch", "ultralytics") if m in sys.modules)}))
        """,
        cwd=tmp_path,
    )
    assert out["loaded"] == []


def test_ultralytics_internals_we_rely_on():
    """Fails loudly when an ultralytics release renames what yolo_compose.integration reads."""
    from ultralytics.nn import tasks
    from ultralytics.utils.callbacks import base

    from yolo_compose import integration

    parse_model = tasks.parse_model
    assert parse_model.__name__ == integration.PARSE_MODEL
    code = parse_model.__code__
    assert {"ch", "f", "i"} <= {*code.co_varnames, *code.co_cellvars}, "parse_model locals ch/f/i changed"
    assert "globals()[m]" in inspect.getsource(parse_model), "parse_model no longer looks names up in globals"
    predict_once = tasks.BaseModel._predict_once
    assert predict_once.__name__ == integration.PREDICT_ONCE
    assert "m" in predict_once.__code__.co_varnames, "_predict_once no longer names the running layer m"
    assert hasattr(tasks._SafeLoad, "_local"), "ultralytics' restricted-mode flag moved"
    assert integration.DDP_CALLBACK_EVENT in base.default_callbacks
    assert integration.ensure_registered in base.default_callbacks[integration.DDP_CALLBACK_EVENT]
    assert integration.is_adapter(tasks.HaloAttention)
    with integration.restricted_mode() as available:
        assert available and tasks._SafeLoad.restricted()
    assert not tasks._SafeLoad.restricted() or os.environ.get("ULTRALYTICS_SAFE_LOAD")


def test_ultralytics_checkpoint_internals_we_rely_on():
    """Fails loudly when ultralytics changes what yolo_compose.weights reads or writes through integration."""
    from ultralytics import cfg
    from ultralytics.nn import tasks
    from ultralytics.utils import DEFAULT_CFG_DICT, DEFAULT_CFG_KEYS, torch_utils

    from yolo_compose import integration

    loading = inspect.signature(tasks._SafeLoad.loading)
    assert list(loading.parameters) == ["weight"], "_SafeLoad.loading(weight) changed"
    assert "weights_only=True" in inspect.getsource(tasks.torch_safe_load)
    assert 'ckpt.get("ema") or ckpt.get("model")' in inspect.getsource(tasks.load_checkpoint)
    strip = inspect.getsource(torch_utils.strip_optimizer)
    for key in (*integration.EMPTY_CHECKPOINT_KEYS, "train_args", "epoch"):
        assert f'"{key}"' in strip or f"'{key}'" in strip, f"strip_optimizer no longer writes {key!r}"
    assert "DEFAULT_CFG_KEYS" in strip and DEFAULT_CFG_KEYS and DEFAULT_CFG_DICT
    assert cfg.ARGV is sys.argv, "ultralytics.cfg.ARGV is no longer the sys.argv list (yolo-compose yolo)"
    assert callable(cfg.entrypoint)


BUILD_EVERY_SCALE = """
    import json, sys
    {first}
    {second}
    from ultralytics import YOLO
    from ultralytics.nn.tasks import DetectionModel
    import torch
    report = {{}}
    for s in "{scales}":
        path = f"yolo11{{s}}-halo.yaml"
        yolo = YOLO(path)
        plain = DetectionModel(path, verbose=False)
        layer, before = yolo.model.model[9], yolo.model.model[8]
        with torch.no_grad():
            y = plain.eval()(torch.zeros(1, 3, 64, 96))[0]
        report[s] = {{
            "type": type(layer).__module__ + "." + type(layer).__name__,
            "plain_type": type(plain.model[9]).__name__,
            "c1": layer.c1,
            "c_before": before.cv2.conv.out_channels,
            "out": list(y.shape),
            "scale": yolo.model.yaml["scale"],
        }}
    print(json.dumps(report))
"""


@pytest.mark.parametrize("import_first", [True, False], ids=["yolo_compose-first", "ultralytics-first"])
def test_yolo_and_detection_model_build_every_scale(tmp_path, import_first):
    for s in SCALES:
        write_composed(tmp_path, f"yolo11{s}-halo.yaml")
    imports = ["import yolo_compose", "import ultralytics.nn.tasks"]
    first, second = imports if import_first else imports[::-1]
    report = run_python(BUILD_EVERY_SCALE.format(first=first, second=second, scales=SCALES), cwd=tmp_path)
    assert sorted(report) == sorted(SCALES)
    for s, row in report.items():
        assert row["type"] == "yolo_compose.modules.halo.HaloAttention", row
        assert row["plain_type"] == "HaloAttention"
        assert row["scale"] == s
        assert row["out"][0] == 1 and row["out"][1] == 84, row  # 4 box + 80 class rows
    assert all(row["c1"] == row["c_before"] for row in report.values()), report
    # yolo11's layer 8 is 1024 * width, capped by max_channels: n 256, s/m/l 512, x 768
    assert [report[s]["c1"] for s in SCALES] == [256, 512, 512, 512, 768]


def test_from_is_not_minus_one_and_repeats_scale_with_depth(tmp_path):
    """A row that reads an absolute index and repeats: c1 = channels of that layer, n scaled by depth."""
    text = compose_insert("yolo11n", "halo", after=6).spec.dump()
    text = text.replace(
        "- [-1, 1, HaloAttention, [2, 1, 4, 0]]", "- [6, 2, HaloAttention, [2, 1, 4, 0]]"
    )
    assert "[6, 2, HaloAttention" in text
    for s in "nl":
        (tmp_path / f"yolo11{s}-halo6.yaml").write_text(text, encoding="utf-8")
    report = run_python(
        """
        import json
        import yolo_compose
        import torch
        from ultralytics import YOLO
        out = {}
        for s in "nl":
            model = YOLO(f"yolo11{s}-halo6.yaml").model
            layer = model.model[7]
            blocks = list(layer) if isinstance(layer, torch.nn.Sequential) else [layer]
            c6 = model.model[6].cv2.conv.out_channels
            with torch.no_grad():
                model.eval()(torch.zeros(1, 3, 64, 64))
            out[s] = {"blocks": len(blocks), "c6": c6, "types": [type(b).__name__ for b in blocks],
                      "c1": [b.c1 for b in blocks],
                      "f": layer.f}
        print(json.dumps(out))
        """,
        cwd=tmp_path,
    )
    assert report["n"]["blocks"] == 1  # depth 0.50: round(2 * 0.5) = 1
    assert report["l"]["blocks"] == 2  # depth 1.00: two blocks in a Sequential
    for s in "nl":
        assert report[s]["f"] == 6
        assert set(report[s]["types"]) == {"HaloAttention"}
        assert report[s]["c1"] == [report[s]["c6"]] * report[s]["blocks"], report[s]


def test_user_module_registered_with_register_builds(tmp_path):
    text = compose_insert("yolo11n", "halo", after=8).spec.dump().replace(
        "HaloAttention, [2, 1, 4, 0]", "ChannelGate, [5]"
    )
    (tmp_path / "yolo11s-gate.yaml").write_text(text, encoding="utf-8")
    report = run_python(
        """
        import json
        import yc_test_module  # registers ChannelGate; imports yolo_compose
        from ultralytics import YOLO
        layer = YOLO("yolo11s-gate.yaml").model.model[9]
        print(json.dumps({"type": type(layer).__name__, "c1": layer.c1, "k": layer.conv.kernel_size[0]}))
        """,
        cwd=tmp_path,
    )
    assert report == {"type": "ChannelGate", "c1": 512, "k": 5}


SAVE = """
    import json
    import yolo_compose
    from ultralytics import YOLO
    model = YOLO("yolo11n-halo.yaml")
    model.save("composed.pt")
    print(json.dumps({"params": sum(p.numel() for p in model.model.parameters())}))
"""

LOAD = """
    import json, sys
    {prelude}
    import numpy as np
    from ultralytics import YOLO
    model = YOLO("composed.pt")
    results = model.predict(np.zeros((96, 128, 3), dtype=np.uint8), imgsz=128, verbose=False)
    print(json.dumps({{
        "type": type(model.model.model[9]).__module__,
        "params": sum(p.numel() for p in model.model.parameters()),
        "boxes": len(results[0].boxes),
        "imported": "yolo_compose" in sys.modules,
    }}))
"""


def test_checkpoint_loads_in_a_new_process_plain_and_restricted(tmp_path):
    write_composed(tmp_path, "yolo11n-halo.yaml")
    saved = run_python(SAVE, cwd=tmp_path)
    plain = run_python(LOAD.format(prelude="assert 'yolo_compose' not in sys.modules"), cwd=tmp_path)
    assert plain["type"] == "yolo_compose.modules.halo"
    assert plain["params"] == saved["params"]
    assert plain["imported"]  # unpickling imported the package, which registered itself
    restricted = run_python(
        LOAD.format(prelude="import yolo_compose"), cwd=tmp_path, env={"ULTRALYTICS_SAFE_LOAD": "1"}
    )
    assert restricted["type"] == "yolo_compose.modules.halo"
    assert restricted["params"] == saved["params"]


def test_restricted_load_without_the_import_fails_naming_our_class(tmp_path):
    """Documents why the import is needed under ULTRALYTICS_SAFE_LOAD=1: the allow-list is ours."""
    write_composed(tmp_path, "yolo11n-halo.yaml")
    run_python(SAVE, cwd=tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", "from ultralytics import YOLO; YOLO('composed.pt')"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "ULTRALYTICS_SAFE_LOAD": "1"},
        timeout=240,
    )
    assert result.returncode != 0
    assert "yolo_compose.modules.halo.HaloAttention" in result.stderr


MAKE_DDP_FILE = """
    import json, pickle, sys
    import yolo_compose
    from yc_tiny_dataset import make_dataset
    from pathlib import Path
    sys.modules["cloudpickle"] = pickle  # stand-in: the state holds only importable names
    import ultralytics.utils.checks as checks
    checks.check_requirements = lambda *args, **kwargs: True  # offline: cloudpickle is not installed
    from ultralytics.models.yolo.detect import DetectionTrainer
    from ultralytics.utils.dist import generate_ddp_file
    data = make_dataset(Path("data"))
    trainer = DetectionTrainer(overrides={
        "model": "yolo11n-halo.yaml", "data": str(data), "epochs": 1, "imgsz": 64,
        "device": "cpu", "plots": False, "workers": 0, "project": "runs", "name": "ddp"})
    for event, funcs in trainer.callbacks.items():  # the stand-in pickles no lambdas (cloudpickle would)
        trainer.callbacks[event] = [f for f in funcs if f.__name__ != "<lambda>"]
    assert yolo_compose.integration.ensure_registered in trainer.callbacks["on_pretrain_routine_start"]
    print(json.dumps({"file": generate_ddp_file(trainer)}))
"""

RUN_DDP_FILE = """
    import json, runpy, sys
    import ultralytics.engine.trainer as engine
    assert "yolo_compose" not in sys.modules
    def build_only(self):
        self.setup_model()
        layer = self.model.model[9]
        print(json.dumps({"type": type(layer).__module__ + "." + type(layer).__name__,
                          "imported": "yolo_compose" in sys.modules}))
    engine.BaseTrainer.train = build_only  # the worker's train() starts with setup_model()
    runpy.run_path(sys.argv[1], run_name="__main__")
"""


def test_ddp_worker_script_builds_the_composed_model(tmp_path):
    """The temp script ultralytics writes for DDP workers, run as a fresh process, builds our model."""
    write_composed(tmp_path, "yolo11n-halo.yaml")
    made = run_python(MAKE_DDP_FILE, cwd=tmp_path)
    script = Path(made["file"])
    assert script.exists() and "torch_load" in script.read_text(encoding="utf-8")
    full_env = {**os.environ}
    full_env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(RUN_DDP_FILE), str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"type": "yolo_compose.modules.halo.HaloAttention", "imported": True}
