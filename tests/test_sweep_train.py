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

from yolo_compose.sweep.executors import ExecutorError, device_slots, make_executor
from yolo_compose.sweep.train import (
    FAILED,
    LEDGER_NAME,
    LOG_NAME,
    OK,
    Ledger,
    TrainArgError,
    TrainJob,
    TrainOutcome,
    parse_train_args,
    run_job,
    train_all,
)

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
        ("batch", "--train-arg 'batch': expected KEY=VALUE, e.g. batch=8"),
        ("=3", "--train-arg '=3': expected KEY=VALUE, e.g. batch=8"),
        ("epochs=3", "--train-arg epochs: not a train arg here (give --epochs)"),
        ("device=0", "--train-arg device: not a train arg here (the executor gives each run its device"),
        ("project=x", "--train-arg project: not a train arg here (runs go to DIR/runs/<variant>)"),
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


def test_ray_options_without_the_ray_executor_are_refused():
    with pytest.raises(ExecutorError, match="--address and --ray-cpus apply to --executor ray only"):
        make_executor("local", workers=1, address="ray://head:10001", cpus=None)


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
    from yolo_compose.sweep.train import _read_outcome

    job = _job(tmp_path)
    job.run_dir.mkdir(parents=True)
    (job.run_dir / LOG_NAME).write_text("Epoch 1/1\n  0%|   | 0/2\n\n", encoding="utf-8")
    outcome = _read_outcome(job, -signal.SIGKILL, job.run_dir / "outcome.json")
    assert outcome.error == "killed by SIGKILL (out of memory?); last log line: 0%|   | 0/2"
