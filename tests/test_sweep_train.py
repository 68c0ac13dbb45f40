"""`sweep --train`: every run trained in its own process, resumable, the same table whatever executor.

The end-to-end tests train on the tiny generated dataset (1 epoch, imgsz 64, two placements of halo
in yolo11n, plus the base): one sweep is trained once (module fixture) and asserted on, rerun, and
resumed after an interruption; the Ray executor trains the same sweep on a local Ray instance.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from yolo_compose.sweep.child_process import LOG_NAME, run_job
from yolo_compose.sweep.executors import ExecutorError, device_slots, make_executor
from yolo_compose.sweep.jobs import FAILED, OK, TrainArgError, TrainJob, TrainOutcome, parse_train_args
from yolo_compose.sweep.ledger import LEDGER_NAME, Ledger
from yolo_compose.sweep.train import train_all

# --- the pieces, without training -----------------------------------------------------------------


def test_train_args_are_read_as_ultralytics_reads_them():
    parsed = dict(parse_train_args(["batch=2", "lr0=0.01", "plots=False", "fraction=none", "optimizer=SGD",
                                    "mosaic = 0.5", "flipud=[0.1]"]))
    assert parsed == {"batch": 2, "lr0": 0.01, "plots": False, "fraction": None, "optimizer": "SGD",
                      "mosaic": 0.5, "flipud": [0.1]}
    assert [key for key, _ in parse_train_args(["workers=0", "batch=2"])] == ["batch", "workers"]


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("batch", "train arg 'batch': expected KEY=VALUE, e.g. batch=8"),
        ("=3", "train arg '=3': expected KEY=VALUE, e.g. batch=8"),
        ("epochs=3", "train arg epochs: set by the sweep itself (the sweep's epochs)"),
        ("device=0", "train arg device: set by the sweep itself (the executor gives each run its device"),
        ("project=x", "train arg project: set by the sweep itself (runs go to DIR/runs/<variant>)"),
    ],
)
def test_a_malformed_or_reserved_train_arg_is_one_line(item, message):
    with pytest.raises(TrainArgError) as caught:
        parse_train_args([item])
    assert str(caught.value).startswith(message)
    assert caught.value.exit_code == 2


def _job(tmp_path: Path, name: str = "v1", **changes) -> TrainJob:
    model = tmp_path / f"{name}.yaml"
    if not model.exists():
        model.write_text("nc: 2\nbackbone: []\nhead: []\n", encoding="utf-8")
    fields = {"name": name, "model_yaml": str(model), "data": str(tmp_path / "data.yaml"), "epochs": 1,
              "imgsz": 64, "project": str(tmp_path / "runs"), "run_name": name, **changes}
    return TrainJob(**fields)


def test_the_job_key_follows_what_changes_the_run_and_only_that(tmp_path):
    job = _job(tmp_path)
    key = job.key()
    assert _job(tmp_path, device="0").key() == key  # where it runs is not what it produces
    assert TrainJob.from_dict(json.loads(json.dumps(job.to_dict()))) == job
    for changed in ({"epochs": 2}, {"imgsz": 96}, {"train_args": (("batch", 4),)},
                    {"weights_origin": "sha-of-another-base"}, {"data": "other.yaml"}):
        assert _job(tmp_path, **changed).key() != key, changed
    Path(job.model_yaml).write_text("nc: 3\nbackbone: []\nhead: []\n", encoding="utf-8")
    assert job.key() != key


def _finished(job: TrainJob, key: str, status: str = OK) -> TrainOutcome:
    (job.run_dir / "weights").mkdir(parents=True, exist_ok=True)
    return TrainOutcome(job.name, status, map50=0.5, map50_95=0.25, epoch_time_s=1.0,
                        run_dir=str(job.run_dir), key=key)


def test_the_ledger_reuses_only_a_successful_run_of_the_same_job_with_its_weights(tmp_path):
    path = tmp_path / "runs" / LEDGER_NAME
    job = _job(tmp_path)
    ledger = Ledger.load(path)
    ledger.record(_finished(job, job.key()))
    again = Ledger.load(path)
    assert again.reusable(job, job.key()) == TrainOutcome(
        "v1", OK, 0.5, 0.25, 1.0, str(job.run_dir), key=job.key(), skipped=True)
    assert again.reusable(job, "another-key") is None
    (job.run_dir / "weights").rmdir()
    assert again.reusable(job, job.key()) is None
    again.record(_finished(job, job.key(), status=FAILED))
    assert Ledger.load(path).reusable(job, job.key()) is None
    path.write_text("{not json", encoding="utf-8")
    assert Ledger.load(path).outcomes == {}


class _Recorder:
    """An executor that trains nothing: it reports each job finished, as a real one would."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def run(self, jobs, done):
        for job in jobs:
            self.ran.append(job.name)
            done(_finished(job, "", OK))


def test_train_all_skips_finished_jobs_and_records_each_as_it_finishes(tmp_path):
    ledger = tmp_path / "runs" / LEDGER_NAME
    jobs = [_job(tmp_path, "base"), _job(tmp_path, "v1"), _job(tmp_path, "v2")]
    seen: list[tuple[str, bool]] = []
    first = _Recorder()
    outcomes = train_all(jobs, first, ledger_path=ledger, on_outcome=lambda o: seen.append((o.name, o.skipped)))
    assert first.ran == ["base", "v1", "v2"]
    assert [o.name for o in outcomes] == ["base", "v1", "v2"] and not any(o.skipped for o in outcomes)
    assert sorted(json.loads(ledger.read_text())["runs"]) == ["base", "v1", "v2"]

    # an interrupted sweep: v2 never finished; v1's epochs changed
    data = json.loads(ledger.read_text())
    del data["runs"]["v2"]
    ledger.write_text(json.dumps(data), encoding="utf-8")
    jobs[1] = _job(tmp_path, "v1", epochs=2)
    second = _Recorder()
    seen.clear()
    outcomes = train_all(jobs, second, ledger_path=ledger, on_outcome=lambda o: seen.append((o.name, o.skipped)))
    assert second.ran == ["v1", "v2"]
    assert seen == [("base", True), ("v1", False), ("v2", False)]
    assert [o.skipped for o in outcomes] == [True, False, False]


def test_a_job_whose_preparation_fails_is_a_failed_run_not_a_failed_sweep(tmp_path):
    from yolo_compose.errors import CheckpointError

    def prepare(job):
        if job.name == "v1":
            raise CheckpointError("does not fit yolo11n.yaml", path="base.pt")
        return job

    recorder = _Recorder()
    outcomes = train_all([_job(tmp_path, "base"), _job(tmp_path, "v1")], recorder,
                         ledger_path=tmp_path / LEDGER_NAME, prepare=prepare)
    assert recorder.ran == ["base"]
    assert (outcomes[1].status, outcomes[1].error) == (FAILED, "base.pt: does not fit yolo11n.yaml")


def test_each_local_worker_gets_one_gpu_or_the_cpu():
    assert device_slots(2, []) == [device_slots(1, [])[0]] * 2
    assert device_slots(1, [])[0].device == "cpu"
    slots = device_slots(3, ["2", "5"])
    assert [(s.device, s.env) for s in slots] == [
        ("0", {"CUDA_VISIBLE_DEVICES": "2"}), ("0", {"CUDA_VISIBLE_DEVICES": "5"}),
        ("0", {"CUDA_VISIBLE_DEVICES": "2"})]


def test_local_workers_run_every_job_once_each_on_its_own_gpu(monkeypatch, tmp_path):
    from yolo_compose.sweep import executors

    ran: list[tuple[str, str, str]] = []

    def fake_run_job(job, *, env=None):
        ran.append((job.name, job.device, (env or {}).get("CUDA_VISIBLE_DEVICES", "")))
        return _finished(job, "")

    monkeypatch.setattr(executors, "run_job", fake_run_job)
    monkeypatch.setattr(executors, "visible_gpus", lambda: ["3", "7"])
    jobs = [_job(tmp_path, f"v{i}") for i in range(5)]
    done: list[str] = []
    executors.LocalExecutor(workers=2).run(jobs, lambda outcome: done.append(outcome.name))
    assert sorted(done) == sorted(name for name, _, _ in ran) == [f"v{i}" for i in range(5)]
    assert {device for _, device, _ in ran} == {"0"}
    assert {gpu for _, _, gpu in ran} <= {"3", "7"}


def test_without_ray_the_ray_executor_is_refused_in_one_line(monkeypatch):
    from yolo_compose.sweep import executors

    monkeypatch.setattr(executors, "ray_available", lambda: False)
    with pytest.raises(ExecutorError) as caught:
        make_executor("ray", workers=1, address=None, cpus=None)
    assert str(caught.value) == "the Ray executor needs Ray, which is not installed: pip install 'yolo-compose[ray]'"
    assert caught.value.exit_code == 2


@pytest.mark.slow
def test_with_weights_the_base_starts_from_them_and_each_variant_from_its_transfer(tmp_path):
    from yc_checkpoints import make_base_checkpoint

    from yolo_compose.modules import get
    from yolo_compose.modules.registry import identity_init_args
    from yolo_compose.sweep.plan import plan_sweep
    from yolo_compose.sweep.train import TrainSettings, checkpoint_preparer, jobs_for_rows
    from yolo_compose.weights import PROVENANCE_KEY, file_sha256, load_checkpoint

    base_pt = make_base_checkpoint(tmp_path / "yolo11n.pt")
    halo = get("halo")
    plan = plan_sweep(halo, "yolo11n", at=["8"], args=identity_init_args(halo, None))  # as --weights does
    variant = plan.variants[0]
    (tmp_path / variant.file_name).write_text(variant.edit.dump(), encoding="utf-8")
    rows = [{"name": "yolo11n", "kind": "base", "status": "ok", "yaml": "yolo11n.yaml"},
            {"name": variant.name, "kind": "after", "status": "ok", "yaml": variant.file_name},
            {"name": "yolo11n-halo-after23", "kind": "after", "status": "failed", "yaml": None}]
    settings = TrainSettings("data.yaml", 1, 64, weights=str(base_pt))
    jobs = jobs_for_rows(rows, tmp_path, settings)
    assert [job.name for job in jobs] == ["yolo11n", variant.name]  # a variant that did not build: no run
    assert jobs[0].weights == str(base_pt)
    assert jobs[1].weights == str(tmp_path / f"{variant.name}.pt")
    assert jobs[0].weights_origin == jobs[1].weights_origin == file_sha256(base_pt)

    prepare = checkpoint_preparer({variant.name: (variant.edit, variant.scale)}, settings)
    assert prepare(jobs[0]) == jobs[0]
    assert prepare(jobs[1]) == jobs[1]
    ckpt = load_checkpoint(jobs[1].weights)
    provenance = ckpt[PROVENANCE_KEY]
    assert provenance["base_checkpoint"]["sha256"] == file_sha256(base_pt)
    assert provenance["new_layers"] == [9]
    assert provenance["tensors"]["transferred"] == provenance["tensors"]["total"]
    assert ckpt["model"].yaml["backbone"][9][3][-1] is True  # zero_init: the new layer starts as the identity


# --- one run in a fresh process -------------------------------------------------------------------


@pytest.mark.slow
def test_a_run_that_fails_is_an_outcome_with_its_one_line_reason(tmp_path):
    job = _job(tmp_path, "v1", model_yaml="yolo11n.yaml", data=str(tmp_path / "missing.yaml"))
    outcome = run_job(job)
    assert outcome.status == FAILED
    assert outcome.error.startswith("RuntimeError: Dataset ") and outcome.error.endswith("missing.yaml' does not exist")
    assert "\n" not in outcome.error
    assert (job.run_dir / LOG_NAME).is_file()


def test_a_run_killed_by_a_signal_says_so(tmp_path):
    from yolo_compose.sweep.child_process import _read_outcome

    job = _job(tmp_path)
    job.run_dir.mkdir(parents=True)
    (job.run_dir / LOG_NAME).write_text("Epoch 1/1\n  0%|   | 0/2\n\n", encoding="utf-8")
    outcome = _read_outcome(job, -signal.SIGKILL, job.run_dir / "outcome.json")
    assert outcome.error == "killed by SIGKILL (out of memory?); last log line: 0%|   | 0/2"


# --- the command: `sweep --train` on the tiny dataset ---------------------------------------------

SWEEP = ("sweep", "halo", "--base", "yolo11n", "--at", "4", "--at", "8", "--imgsz", "64",
         "--memory-imgsz", "0", "--latency-repeats", "0")
TRAIN = ("--epochs", "1", "--train-arg", "batch=2", "--train-arg", "workers=0", "--train-arg", "plots=False")
NAMES = ["yolo11n", "yolo11n-halo-after4", "yolo11n-halo-after8"]
TRAIN_COLUMNS = ("map50", "map50_95", "epoch_time_s", "run_dir", "train_status", "train_error")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from yc_tiny_dataset import make_dataset

    return make_dataset(tmp_path_factory.mktemp("tiny"), images=4, size=128)


def _sweep(folder: Path, dataset: Path, *extra: str):
    from conftest import run_cli

    return run_cli(*SWEEP, "-o", str(folder), "--train", str(dataset), *TRAIN, *extra, cwd=folder.parent,
                   timeout=900)


def _rows(folder: Path) -> dict[str, dict]:
    return {row["name"]: row for row in json.loads((folder / "results.json").read_text())["rows"]}


def _run_files(folder: Path) -> dict[str, int]:
    """Every file of every run folder with its modification time (ns): a training rewrites them."""
    return {str(path.relative_to(folder)): path.stat().st_mtime_ns
            for path in sorted((folder / "runs").glob("*/**/*")) if path.is_file()}


@pytest.fixture(scope="module")
def trained(tmp_path_factory, dataset):
    """One sweep trained with the local executor: base and two placements, 1 epoch each."""
    folder = tmp_path_factory.mktemp("local") / "sweep"
    result = _sweep(folder, dataset)
    assert result.returncode == 0, result.stderr[-4000:]
    return folder, result


@pytest.mark.slow
def test_train_fills_the_training_columns_of_every_row(trained):
    folder, result = trained
    rows = _rows(folder)
    assert list(rows) == NAMES
    for name, row in rows.items():
        assert row["train_status"] == "ok" and row["train_error"] is None, row
        assert 0.0 <= row["map50_95"] <= row["map50"] <= 1.0
        assert row["epoch_time_s"] > 0
        assert Path(row["run_dir"]) == folder / "runs" / name
        assert (Path(row["run_dir"]) / "weights" / "best.pt").is_file()
    from _sweep_csv import parse_csv

    csv_rows = parse_csv((folder / "results.csv").read_text())
    assert [{c: r[c] for c in TRAIN_COLUMNS} for r in csv_rows] == [
        {c: row[c] for c in TRAIN_COLUMNS} for row in rows.values()]
    header = next(line for line in result.stdout.splitlines() if "mAP50" in line)
    assert "mAP50-95" in header
    assert result.stderr.count("] trained ") == 3
    from yolo_compose.render.sweep import write_plot
    from yolo_compose.sweep.results import SweepResults

    drawn = write_plot(SweepResults.load(folder), folder.parent / "again.png")
    assert drawn["map50_95"]["n"] == [rows[name]["map50_95"] for name in NAMES]  # the plot has the mAP panel
    assert (folder / "sweep.png").read_bytes() == (folder.parent / "again.png").read_bytes()


@pytest.mark.slow
def test_a_rerun_of_the_same_sweep_trains_nothing(trained, dataset):
    folder, _ = trained
    before, rows_before = _run_files(folder), _rows(folder)
    again = _sweep(folder, dataset)
    assert again.returncode == 0, again.stderr[-4000:]
    assert again.stderr.count("skipped (trained before, same job)") == 3
    assert "] trained " not in again.stderr
    assert _run_files(folder) == before
    assert {n: {c: r[c] for c in TRAIN_COLUMNS} for n, r in _rows(folder).items()} == {
        n: {c: r[c] for c in TRAIN_COLUMNS} for n, r in rows_before.items()}


@pytest.mark.slow
def test_an_interrupted_sweep_trains_only_what_did_not_finish(trained, dataset):
    folder, _ = trained
    # the state a sweep leaves when stopped during its last run: that run is not in the ledger and
    # its folder holds no weights yet
    ledger = folder / "runs" / LEDGER_NAME
    state = json.loads(ledger.read_text())
    del state["runs"]["yolo11n-halo-after8"]
    ledger.write_text(json.dumps(state), encoding="utf-8")
    for path in (folder / "runs" / "yolo11n-halo-after8" / "weights").iterdir():
        path.unlink()
    before = _run_files(folder)
    resumed = _sweep(folder, dataset)
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    assert resumed.stderr.count("skipped (trained before, same job)") == 2
    assert resumed.stderr.count("] trained yolo11n-halo-after8") == 1
    after = _run_files(folder)
    unchanged = {k for k in before if not k.startswith("runs/yolo11n-halo-after8/")}
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}
    assert (folder / "runs" / "yolo11n-halo-after8" / "weights" / "best.pt").is_file()
    assert sorted(json.loads(ledger.read_text())["runs"]) == NAMES
    assert _rows(folder)["yolo11n-halo-after8"]["train_status"] == "ok"


@pytest.mark.slow
def test_the_ray_executor_gives_the_same_table_as_the_local_one(trained, dataset, tmp_path):
    pytest.importorskip("ray", reason="the Ray executor needs the ray extra: pip install 'yolo-compose[ray]'")
    local_folder, _ = trained
    folder = tmp_path / "sweep"
    result = _sweep(folder, dataset, "--executor", "ray", "--ray-cpus", "1")
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stderr.count("] trained ") == 3
    local, remote = _rows(local_folder), _rows(folder)
    assert list(remote) == list(local) == NAMES
    for name in NAMES:
        assert set(remote[name]) == set(local[name])
        assert remote[name]["train_status"] == "ok"
        assert Path(remote[name]["run_dir"]) == folder / "runs" / name
        assert (Path(remote[name]["run_dir"]) / "weights" / "best.pt").is_file()
        for column in ("map50", "map50_95", "params", "gflops", "d_params", "status"):
            assert remote[name][column] == local[name][column], (name, column)


def test_the_ray_executor_without_ray_is_one_line_and_exit_2(tmp_path, dataset):
    import subprocess
    import sys

    hide_ray = "import sys; sys.modules['ray'] = None; from yolo_compose.cli import main; main()"
    result = subprocess.run(
        [sys.executable, "-c", hide_ray, *SWEEP, "-o", str(tmp_path / "sweep"), "--train", str(dataset),
         "--epochs", "1", "--executor", "ray"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 2
    assert result.stderr == ("error: --executor ray needs Ray, which is not installed: "
                             "pip install 'yolo-compose[ray]'\n")
    assert not (tmp_path / "sweep").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--epochs", "1"), "error: --epochs, --weights, --workers, --executor and --train-arg need --train DATA.yaml"),
        (("--train", "d.yaml"), "error: --train needs --epochs N"),
        (("--train", "d.yaml", "--epochs", "1", "--train-arg", "name=x"),
         "error: --train-arg name: set by the sweep itself (runs go to DIR/runs/<variant>)"),
        (("--train", "d.yaml", "--epochs", "1", "--address", "auto"),
         "error: --address and --ray-cpus apply to --executor ray only"),
        (("--train", "d.yaml", "--epochs", "1", "--weights", "missing.pt"),
         "error: missing.pt: no such checkpoint file"),
    ],
)
def test_train_options_are_checked_before_any_work(cli, tmp_path, args, message):
    result = cli(*SWEEP, "-o", str(tmp_path / "sweep"), *args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[-1] == message
    assert not (tmp_path / "sweep").exists()
