"""Running a benchmark: every codec x rate point x image, cached, optionally in parallel.

::

    plan_bench(codecs, images, config) -> BenchPlan: the tasks, and notes on skipped codecs
    run_plan(plan, cache, executor, on_result) -> rows, each measured by run_job() with qcodec.metrics
    curves_of(plan, rows) -> one Curve per codec (mean over images per rate point)

A task's result is looked up in the :class:`~qcodec.bench.cache.ResultCache` first and
stored there, with its coded file, as soon as it is computed, so a run that is interrupted
resumes where it stopped. Executors: :class:`LocalExecutor` (here, or ``jobs`` spawned worker
processes with ``cpu_count // jobs`` torch threads each; timings are taken under that
sharing) and :class:`~qcodec.bench.ray_executor.RayExecutor` (a Ray cluster).
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import signal
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from qcodec.bench.cache import ResultCache, result_key
from qcodec.bench.catalog import get_bench_codec
from qcodec.bench.codecs import BenchCodec, RatePoint, SweepConfig
from qcodec.bench.dataset import BenchImage, read_image
from qcodec.bench.results import Curve, ImageResult, aggregate
from qcodec.data.image_io import Image
from qcodec.errors import InvalidInputError, QcodecError
from qcodec.metrics import MsSsim, bits_per_pixel, psnr


@dataclass(frozen=True)
class Task:
    """One codec run: ``codec`` at ``point`` on ``image``; ``key`` is its cache key."""

    codec: str
    point: RatePoint
    image: BenchImage
    key: str


@dataclass
class BenchPlan:
    """What a benchmark will run.

    Attributes:
        codecs: the codecs that run, in table order, with their rate points.
        tasks: every codec x image x rate point, codec by codec.
        notes: one line per codec left out, and why.
    """

    codecs: list[tuple[BenchCodec, list[RatePoint]]]
    tasks: list[Task]
    notes: list[str] = field(default_factory=list)


def plan_bench(codec_names: Sequence[str], images: Sequence[BenchImage], config: SweepConfig) -> BenchPlan:
    """Resolve codecs and rate points into tasks; codecs that cannot run here are noted and left out.

    Raises:
        InvalidInputError: an unknown codec or preset.
    """
    chosen: list[tuple[BenchCodec, list[RatePoint]]] = []
    notes: list[str] = []
    for name in codec_names:
        codec = get_bench_codec(name)
        reason = codec.unavailable()
        points = [] if reason else codec.rate_points(config)
        reason = reason or codec.skip_reason(config)
        if reason or not points:
            notes.append(f"{name} skipped: {reason or 'no rate points'}")
            continue
        chosen.append((codec, points))
    tasks = [
        Task(codec.name, point, image, result_key(codec.name, codec.version(), point.options, image.digest))
        for codec, points in chosen
        for image in images
        for point in points
    ]
    return BenchPlan(chosen, tasks, notes)


@functools.lru_cache(maxsize=4)
def _image(path: str, digest: str) -> Image:
    """The decoded image at ``path`` (``digest`` keys the memo); a worker reads each file once per run of tasks."""
    return read_image(Path(path))


_scorers: OrderedDict[str, MsSsim | None] = OrderedDict()


def _ms_ssim_of(digest: str, pixels: np.ndarray) -> MsSsim | None:
    """MS-SSIM against the image ``digest`` (its statistics computed once per worker, the last two
    images kept); ``None`` if the image is too small."""
    if digest not in _scorers:
        try:
            _scorers[digest] = MsSsim(pixels)
        except ValueError:
            _scorers[digest] = None
        while len(_scorers) > 2:
            _scorers.popitem(last=False)
    return _scorers[digest]


@functools.cache
def _codec(name: str) -> BenchCodec:
    return get_bench_codec(name)


@dataclass(frozen=True)
class Job:
    """What a worker needs to run one task, without the image file: it brings the pixels itself.

    Attributes:
        key: the task's cache key.
        codec: codec name; label, options: the rate point; image, digest: the image's name and pixel hash.
    """

    key: str
    codec: str
    label: str
    options: dict
    image: str
    digest: str

    @classmethod
    def of(cls, task: Task) -> Job:
        return cls(task.key, task.codec, task.point.label, dict(task.point.options), task.image.name, task.image.digest)


def run_job(job: Job, image: Image) -> tuple[ImageResult, bytes]:
    """Run one codec at one rate point on ``image`` and measure it; also returns the coded file.

    bpp comes from the file size, PSNR and MS-SSIM from the 8-bit values; MS-SSIM is ``None``
    for images under 161 pixels a side (too small for its five scales).

    Raises:
        QcodecError: the codec failed or decoded to the wrong shape.
    """
    coded = _codec(job.codec).run(image, job.options)
    if coded.reconstruction.shape != image.pixels.shape:
        raise QcodecError(
            f"{job.codec} decoded {job.image} to shape {coded.reconstruction.shape}, expected {image.pixels.shape}"
        )
    scorer = _ms_ssim_of(job.digest, image.pixels)
    structural = None if scorer is None else scorer(coded.reconstruction)
    row = ImageResult(
        codec=job.codec,
        setting=job.label,
        image=job.image,
        width=image.width,
        height=image.height,
        channels=image.channels,
        bytes=len(coded.data),
        bpp=bits_per_pixel(len(coded.data), image.num_pixels),
        psnr=psnr(image.pixels, coded.reconstruction),
        ms_ssim=structural,
        encoding_time=coded.encode_seconds,
        decoding_time=coded.decode_seconds,
        options=dict(job.options),
        details=coded.details,
    )
    return row, coded.data


def _run_local(task: Task) -> tuple[str, ImageResult, bytes]:
    row, data = run_job(Job.of(task), _image(str(task.image.path), task.image.digest))
    return task.key, row, data


def _init_worker(threads: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and terminates workers
    import torch

    torch.set_num_threads(threads)


ResultCallback = Callable[[ImageResult, bool], None]
"""Called once per task with its row and whether it came from the cache."""

Finish = Callable[[str, ImageResult, bytes], None]
"""Called by an executor with a finished task's key, row and coded file."""


class Executor(Protocol):
    """Runs tasks somewhere and hands each result to ``finish`` as soon as it is known."""

    def run(self, tasks: Sequence[Task], finish: Finish) -> list[str]:
        """Run ``tasks``; returns one line per task that failed for good (the others are finished)."""


@dataclass(frozen=True)
class LocalExecutor:
    """Tasks in this process (``jobs == 1``) or in ``jobs`` spawned worker processes with
    ``cpu_count // jobs`` torch threads each."""

    jobs: int = 1

    def run(self, tasks: Sequence[Task], finish: Finish) -> list[str]:
        if self.jobs < 1:
            raise InvalidInputError(f"--jobs must be at least 1, got {self.jobs}")
        if self.jobs == 1 or len(tasks) <= 1:
            for task in tasks:
                finish(*_run_local(task))
            return []
        threads = max(1, (os.cpu_count() or 1) // self.jobs)
        context = multiprocessing.get_context("spawn")
        pool = context.Pool(min(self.jobs, len(tasks)), initializer=_init_worker, initargs=(threads,))
        try:
            for result in pool.imap_unordered(_run_local, tasks):
                finish(*result)
            pool.close()
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.join()
        return []


def run_plan(
    plan: BenchPlan, cache: ResultCache, executor: Executor | None = None, on_result: ResultCallback | None = None
) -> list[ImageResult]:
    """Run (or fetch from ``cache``) every task of ``plan`` with ``executor`` (default: here, one at a time).

    Each result is stored in the cache, with its coded file, the moment it arrives, so an
    interrupted or partly failed run keeps everything finished. Rows come back in task order.

    Raises:
        InvalidInputError: a bad executor setting, or the cache cannot be written.
        QcodecError: a codec failed (with a local executor: at once; with a remote one: after
            every other task has finished, naming each failed task).
    """
    done: dict[str, ImageResult] = {}
    pending: list[Task] = []
    for task in plan.tasks:
        cached = cache.load(task.key)
        row = _from_cache(cached, task) if cached is not None else None
        if row is None:
            pending.append(task)
            continue
        done[task.key] = row
        if on_result:
            on_result(row, True)

    def finish(key: str, row: ImageResult, data: bytes) -> None:
        cache.store(key, row.to_json(), data)
        done[key] = row
        if on_result:
            on_result(row, False)

    failures = (executor or LocalExecutor()).run(pending, finish) if pending else []
    if failures:
        raise QcodecError(f"{len(failures)} of {len(plan.tasks)} tasks failed (the others are cached): " + "; ".join(failures))
    return [done[task.key] for task in plan.tasks]


def _from_cache(cached: dict, task: Task) -> ImageResult | None:
    try:
        row = ImageResult.from_json(cached)
    except TypeError:
        return None
    row.codec, row.setting, row.image = task.codec, task.point.label, task.image.name
    return row


def curves_of(plan: BenchPlan, rows: Sequence[ImageResult]) -> list[Curve]:
    """One curve per codec of ``plan``, with a description naming the library versions."""
    curves = []
    for codec, points in plan.codecs:
        mine = [r for r in rows if r.codec == codec.name]
        description = f"{codec.description}. {codec.version()}"
        curves.append(aggregate(codec.name, description, [p.label for p in points], mine))
    return curves
