"""Running a benchmark: every codec x rate point x image, cached, optionally in parallel.

::

    plan_bench(codecs, images, config) -> BenchPlan: the tasks, and notes on skipped codecs
    run_plan(plan, cache, jobs, on_result) -> rows, each scored by score() in qcodec.metrics
    curves_of(plan, rows) -> one Curve per codec (mean over images per rate point)

A task's result is looked up in the :class:`~qcodec.bench.cache.ResultCache` first and
stored there as soon as it is computed, so a run that is interrupted resumes where it
stopped. With ``jobs > 1`` tasks run in that many spawned worker processes, each with
``cpu_count // jobs`` torch threads; timings are then taken under that sharing.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

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


@functools.lru_cache(maxsize=2)
def _ms_ssim_of(path: str, digest: str) -> MsSsim | None:
    """MS-SSIM against the image at ``path`` (its statistics computed once per worker); ``None`` if too small."""
    try:
        return MsSsim(_image(path, digest).pixels)
    except ValueError:
        return None


@functools.cache
def _codec(name: str) -> BenchCodec:
    return get_bench_codec(name)


def score(task: Task) -> ImageResult:
    """Run one task and measure it: bpp from the file size, PSNR and MS-SSIM on 8-bit values.

    MS-SSIM is ``None`` for images under 161 pixels a side (too small for its five scales).
    """
    image = _image(str(task.image.path), task.image.digest)
    coded = _codec(task.codec).run(image, task.point.options)
    if coded.reconstruction.shape != image.pixels.shape:
        raise QcodecError(
            f"{task.codec} decoded {task.image.name} to shape {coded.reconstruction.shape}, "
            f"expected {image.pixels.shape}"
        )
    scorer = _ms_ssim_of(str(task.image.path), task.image.digest)
    structural = None if scorer is None else scorer(coded.reconstruction)
    return ImageResult(
        codec=task.codec,
        setting=task.point.label,
        image=task.image.name,
        width=image.width,
        height=image.height,
        channels=image.channels,
        bytes=len(coded.data),
        bpp=bits_per_pixel(len(coded.data), image.num_pixels),
        psnr=psnr(image.pixels, coded.reconstruction),
        ms_ssim=structural,
        encoding_time=coded.encode_seconds,
        decoding_time=coded.decode_seconds,
        options=dict(task.point.options),
        details=coded.details,
    )


def _score_keyed(task: Task) -> tuple[str, ImageResult]:
    return task.key, score(task)


def _init_worker(threads: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and terminates workers
    import torch

    torch.set_num_threads(threads)


ResultCallback = Callable[[ImageResult, bool], None]
"""Called once per task with its row and whether it came from the cache."""


def run_plan(
    plan: BenchPlan, cache: ResultCache, jobs: int = 1, on_result: ResultCallback | None = None
) -> list[ImageResult]:
    """Run (or fetch from ``cache``) every task of ``plan``; rows come back in task order.

    Raises:
        InvalidInputError: ``jobs`` < 1, or the cache cannot be written.
        QcodecError: a codec failed (results computed before the failure stay cached).
    """
    if jobs < 1:
        raise InvalidInputError(f"--jobs must be at least 1, got {jobs}")
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

    def finish(key: str, row: ImageResult) -> None:
        cache.store(key, row.to_json())
        done[key] = row
        if on_result:
            on_result(row, False)

    if jobs == 1 or len(pending) <= 1:
        for task in pending:
            finish(*_score_keyed(task))
    else:
        threads = max(1, (os.cpu_count() or 1) // jobs)
        context = multiprocessing.get_context("spawn")
        pool = context.Pool(min(jobs, len(pending)), initializer=_init_worker, initargs=(threads,))
        try:
            for key, row in pool.imap_unordered(_score_keyed, pending):
                finish(key, row)
            pool.close()
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.join()
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
