"""Where a sweep's training runs go: this machine (one at a time or N at once) or a Ray cluster.

Every executor runs each job through :func:`.child_process.run_job` (a fresh interpreter per run), so a
run's outcome does not depend on the executor; they differ only in where runs go and how many at
once. Ray is an optional extra, imported only by :class:`RayExecutor`.
"""

from __future__ import annotations

import importlib.util
import os
import queue
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Any

from ..errors import ComposeError
from .child_process import one_line, run_job
from .jobs import FAILED, TrainJob, TrainOutcome

#: How to get the Ray extra.
RAY_INSTALL = "pip install 'yolo-compose[ray]'"


class ExecutorError(ComposeError):
    """An executor cannot be used as asked (Ray not installed, no cluster at the address)."""


# --- this machine ---------------------------------------------------------------------------------


def visible_gpus() -> list[str]:
    """The CUDA devices this process may use, as CUDA_VISIBLE_DEVICES entries (none: [])."""
    import torch

    count = torch.cuda.device_count()
    listed = [d.strip() for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
    if "CUDA_VISIBLE_DEVICES" in os.environ:
        return listed[:count]
    return [str(i) for i in range(count)]


@dataclass(frozen=True)
class Slot:
    """Where one worker runs its jobs: the device ultralytics is given and the child's environment."""

    device: str
    env: dict[str, str]


def device_slots(workers: int, gpus: Sequence[str]) -> list[Slot]:
    """One slot per worker: each pinned to one GPU (round robin) when there are GPUs, else the CPU."""
    if not gpus:
        return [Slot("cpu", {}) for _ in range(workers)]
    return [Slot("0", {"CUDA_VISIBLE_DEVICES": gpus[i % len(gpus)]}) for i in range(workers)]


@dataclass(frozen=True)
class LocalExecutor:
    """Runs on this machine: `workers` subprocesses at once, each on its own GPU when there are GPUs."""

    workers: int = 1

    def run(self, jobs: Sequence[TrainJob], done: Callable[[TrainOutcome], None]) -> None:
        slots = device_slots(max(1, self.workers), visible_gpus())
        if len(slots) == 1:
            for job in jobs:
                done(run_job(replace(job, device=slots[0].device), env=slots[0].env))
            return
        free: queue.SimpleQueue[Slot] = queue.SimpleQueue()
        for slot in slots:
            free.put(slot)

        def on_a_slot(job: TrainJob) -> TrainOutcome:
            slot = free.get()
            try:
                return run_job(replace(job, device=slot.device), env=slot.env)
            finally:
                free.put(slot)

        with ThreadPoolExecutor(max_workers=len(slots)) as pool:
            running: dict[Future[TrainOutcome], TrainJob] = {pool.submit(on_a_slot, job): job for job in jobs}
            try:
                while running:
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        running.pop(future)
                        done(future.result())
            except BaseException:
                for future in running:
                    future.cancel()
                raise


# --- a Ray cluster --------------------------------------------------------------------------------


def ray_available() -> bool:
    """Whether the Ray extra is installed (found without importing it)."""
    try:
        return importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):
        return False


def require_ray() -> None:
    """Raise the one-line ExecutorError when Ray is not installed."""
    if not ray_available():
        raise ExecutorError(f"the Ray executor needs Ray, which is not installed: {RAY_INSTALL}")


def train_on_ray_worker(job: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A Ray task: one run (in a fresh interpreter, on the GPU Ray gave this task), and the node's IP."""
    import ray

    outcome = run_job(TrainJob.from_dict(job))
    return outcome.to_dict(), ray.util.get_node_ip_address()


@dataclass(frozen=True)
class RayExecutor:
    """Each run a Ray task asking for one GPU (or `cpus` CPUs), on the cluster at `address`.

    Without an address, Ray's own lookup applies (``RAY_ADDRESS``, a cluster started on this
    machine) and otherwise a local instance is started with `workers` x the CPUs a run asks for,
    which is then how many runs go at once. A run that ran on another node reports its folder as
    ``NODE_IP:PATH`` (on that node's disk unless the sweep folder is shared storage).
    """

    address: str | None = None
    cpus: int | None = None  # CPUs each run asks for, instead of one GPU
    workers: int = 1

    def run(self, jobs: Sequence[TrainJob], done: Callable[[TrainOutcome], None]) -> None:
        require_ray()
        import ray

        started_here = not ray.is_initialized()
        if started_here:
            self._connect(ray)
        try:
            self._run_all(ray, jobs, done)
        finally:
            if started_here:
                ray.shutdown()

    def _connect(self, ray: Any) -> None:
        """Join the cluster at the address (or Ray's default one), else start a local instance."""
        local = {} if self.address else {"num_cpus": max(1, self.workers) * (self.cpus or 1)}
        try:
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False, **local)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = self.address or "a local instance"
            raise ExecutorError(f"cannot start Ray on {where}: {one_line(exc)}") from None

    def _task_options(self, ray: Any) -> tuple[dict[str, Any], str]:
        """The resources a run asks for, and the device ultralytics is given inside it."""
        if self.cpus:
            return {"num_cpus": self.cpus, "num_gpus": 0}, "cpu"
        if ray.cluster_resources().get("GPU", 0) >= 1:
            return {"num_cpus": 1, "num_gpus": 1}, "0"
        return {"num_cpus": 1, "num_gpus": 0}, "cpu"

    def _run_all(self, ray: Any, jobs: Sequence[TrainJob], done: Callable[[TrainOutcome], None]) -> None:
        options, device = self._task_options(ray)
        task = ray.remote(train_on_ray_worker).options(**options)
        here = ray.util.get_node_ip_address()
        running = {task.remote(replace(job, device=device).to_dict()): job for job in jobs}
        try:
            while running:
                finished, _ = ray.wait(list(running), num_returns=1)
                for ref in finished:
                    done(_ray_outcome(ray, ref, running.pop(ref), here))
        finally:
            for ref in running:
                ray.cancel(ref, force=True)


def _ray_outcome(ray: Any, ref: Any, job: TrainJob, here: str) -> TrainOutcome:
    """A finished task's outcome; a task Ray itself lost (worker died, node gone) is a failed run."""
    try:
        data, node = ray.get(ref)
    except Exception as exc:  # ray.exceptions.RayError and what a task raised
        return TrainOutcome(job.name, FAILED, run_dir=str(job.run_dir), error=one_line(exc))
    outcome = TrainOutcome.from_dict(data)
    if node != here:
        outcome = replace(outcome, run_dir=f"{node}:{outcome.run_dir}")
    return outcome


def make_executor(kind: str, *, workers: int, address: str | None, cpus: int | None) -> Any:
    """The executor asked for (``local`` or ``ray``); Ray's availability is checked now, before any work."""
    if kind == "ray":
        require_ray()
        return RayExecutor(address=address, cpus=cpus, workers=workers)
    return LocalExecutor(workers=workers)
