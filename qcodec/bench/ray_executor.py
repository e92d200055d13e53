"""Benchmark tasks on a Ray cluster: ``qcodec bench ... --ray [ADDRESS]`` (``pip install 'qcodec[ray]'``).

Every codec x image x rate point becomes one Ray task that asks for the cores (and GPUs) it
uses. Each image is put once in Ray's object store and travels by content, so workers need
neither a shared file system nor the dataset folder, only qcodec itself. Results come back
as they finish and go through the same cache, tables and plots as a local run
(:func:`qcodec.bench.runner.run_plan`), so a cluster run resumes from the cache and can mix
with rows computed locally.

A task whose worker is lost (killed, out of memory, node gone) is submitted again, up to
:attr:`RayExecutor.retries` times; a task whose codec raises an error is not retried (the
same input fails the same way). Failed tasks are reported by name at the end; every
finished row is cached before that.

Without an address a local Ray instance is started for the run and stopped after it; with
one (``ray start --head`` on one machine, ``ray start --address HEAD:6379`` on the others)
the run joins that cluster (``docs/benchmarks.md``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from qcodec.bench.dataset import read_image
from qcodec.bench.results import ImageResult
from qcodec.bench.runner import Finish, Job, Task, run_job
from qcodec.data.image_io import Image
from qcodec.errors import InvalidInputError

INSTALL = "pip install 'qcodec[ray]'"
LOST_WORKER_ERRORS = ("WorkerCrashedError", "NodeDiedError", "OutOfMemoryError", "ObjectLostError", "LocalRayletDiedError")
"""Ray errors that mean the task's process or machine went away, not that its codec failed."""


def import_ray() -> Any:
    """The ``ray`` module.

    Raises:
        InvalidInputError: Ray is not installed (the message names the extra to install).
    """
    try:
        import ray
    except ImportError:
        raise InvalidInputError(f"--ray needs Ray, which is not installed here: {INSTALL}") from None
    return ray


def _remote_job(job: Job, image: Image, threads: int) -> tuple[str, dict, bytes]:
    """What one Ray worker runs: the task on the image it was sent (same code as a local run)."""
    import torch

    torch.set_num_threads(threads)
    row, data = run_job(job, image)
    return job.key, row.to_json(), data


def task_name(task: Task) -> str:
    return f"{task.codec} {task.point.label} on {task.image.name}"


@dataclass
class RayExecutor:
    """Runs tasks as Ray tasks (see the module docstring).

    Attributes:
        address: a Ray cluster to join (``HOST:PORT`` or ``auto``); ``None`` starts a local instance.
        task_cpus: cores each task asks for, and its torch threads.
        task_gpus: GPUs each task asks for (1 with ``--device cuda``).
        retries: how often a task whose worker was lost is submitted again.
        on_retry: called with one line per retry.
    """

    address: str | None = None
    task_cpus: int = 1
    task_gpus: float = 0.0
    retries: int = 2
    on_retry: Callable[[str], None] | None = None

    def run(self, tasks: Sequence[Task], finish: Finish) -> list[str]:
        ray = import_ray()
        if self.task_cpus < 1 or self.retries < 0:
            raise InvalidInputError("--task-cpus must be at least 1 and retries at least 0")
        started = not ray.is_initialized()
        if started:
            try:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                where = f"reach the Ray cluster at {self.address}" if self.address else "start a local Ray instance"
                raise InvalidInputError(f"cannot {where}: {exc}") from None
        lost = tuple(getattr(ray.exceptions, name) for name in LOST_WORKER_ERRORS if hasattr(ray.exceptions, name))
        remote = ray.remote(_remote_job).options(num_cpus=self.task_cpus, num_gpus=self.task_gpus, max_retries=0)
        images: dict[str, Any] = {}
        running: dict[Any, tuple[Task, int]] = {}
        failures: list[str] = []

        def submit(task: Task, attempt: int) -> None:
            if task.image.digest not in images:
                images[task.image.digest] = ray.put(read_image(task.image.path))
            running[remote.remote(Job.of(task), images[task.image.digest], self.task_cpus)] = (task, attempt)

        try:
            for task in tasks:
                submit(task, 1)
            while running:
                (ref,), _ = ray.wait(list(running), num_returns=1)
                task, attempt = running.pop(ref)
                try:
                    key, row, data = ray.get(ref)
                except lost as exc:
                    reason = type(exc).__name__
                    if attempt <= self.retries:
                        if self.on_retry:
                            self.on_retry(f"{task_name(task)}: worker lost ({reason}); attempt {attempt + 1} of {self.retries + 1}")
                        submit(task, attempt + 1)
                    else:
                        failures.append(f"{task_name(task)}: worker lost {attempt} times ({reason})")
                except ray.exceptions.RayTaskError as exc:
                    cause = exc.cause if getattr(exc, "cause", None) is not None else exc
                    failures.append(f"{task_name(task)}: {type(cause).__name__}: {str(cause).splitlines()[0] if str(cause) else ''}")
                else:
                    finish(key, ImageResult.from_json(row), data)
        finally:
            for ref in running:
                ray.cancel(ref, force=True)
            if started:
                ray.shutdown()
        return failures
