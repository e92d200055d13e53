"""``qcodec bench --ray``: the same rows as a local run, retries of lost workers, and the missing-extra error.

A local Ray instance (2 CPUs) is started once for the module; tasks run in its worker processes.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image as PILImage
from typer.testing import CliRunner

from conftest import gradient_image
from qcodec.bench import LocalExecutor, RatePoint, ResultCache, SweepConfig, load_images, plan_bench, run_plan
from qcodec.bench.ray_executor import RayExecutor
from qcodec.cli.app import app
from qcodec.errors import InvalidInputError
from qcodec.threads import torch_threads

ray = pytest.importorskip("ray")
CONFIG = SweepConfig(presets=("tiny",), steps=40, qat_steps=4)


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ray-images")
    for name, (h, w) in {"a": (24, 32), "b": (20, 28)}.items():
        PILImage.fromarray(gradient_image(h, w, 3).pixels[::-1].copy()).save(folder / f"{name}.png")
    return load_images(str(folder))


def _rows(rows):
    return [(r.codec, r.setting, r.image, r.bytes, r.bpp, r.psnr) for r in rows]


def test_ray_rows_equal_local_rows_and_fill_the_same_cache(local_ray, images, tmp_path):
    plan = plan_bench(["jpeg", "coin"], images, CONFIG)
    with torch_threads(1):  # a Ray task runs with --task-cpus (1) torch threads
        local = run_plan(plan, ResultCache(None), LocalExecutor(1))
    cache = ResultCache(tmp_path / "cache")
    remote = run_plan(plan, cache, RayExecutor(task_cpus=1))
    assert _rows(remote) == _rows(local)
    assert all(cache.load(task.key) is not None and cache.load_file(task.key) for task in plan.tasks)
    seen = []
    again = run_plan(plan, cache, RayExecutor(task_cpus=1), on_result=lambda row, cached: seen.append(cached))
    assert seen == [True] * len(plan.tasks) and _rows(again) == _rows(local)


def _kill_one_worker(stop: threading.Event, killed: list[int]) -> None:
    """Kill (SIGKILL) the first Ray worker seen running a benchmark task."""
    while not stop.is_set() and not killed:
        for entry in Path("/proc").iterdir():
            try:
                title = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if entry.name.isdigit() and b"ray::_remote_job" in title:
                os.kill(int(entry.name), signal.SIGKILL)
                killed.append(int(entry.name))
                return
        time.sleep(0.02)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds Ray workers through /proc")
def test_a_lost_worker_is_retried_and_the_result_is_complete(local_ray, images, tmp_path):
    plan = plan_bench(["coin"], images, SweepConfig(presets=("tiny",), steps=400, qat_steps=4))
    with torch_threads(1):
        expected = run_plan(plan, ResultCache(None), LocalExecutor(1))
    retries: list[str] = []
    killed: list[int] = []
    stop = threading.Event()
    killer = threading.Thread(target=_kill_one_worker, args=(stop, killed))
    killer.start()
    try:
        rows = run_plan(plan, ResultCache(tmp_path / "cache"), RayExecutor(task_cpus=1, retries=2, on_retry=retries.append))
    finally:
        stop.set()
        killer.join()
    assert killed, "no worker was seen running a task"
    assert len(retries) == 1 and "worker lost" in retries[0] and "attempt 2 of 3" in retries[0]
    assert _rows(rows) == _rows(expected)


def test_a_failing_codec_is_reported_by_name_after_the_others_finish(local_ray, images, tmp_path):
    cache = ResultCache(tmp_path / "cache")
    plan = plan_bench(["jpeg", "coin"], images, CONFIG)
    last = plan.tasks[-1]
    broken = replace(last, point=RatePoint(last.point.label, {**last.point.options, "steps": -1}), key="broken")  # coin refuses it
    plan.tasks[-1] = broken
    with pytest.raises(Exception, match=f"coin tiny on {broken.image.name}: InvalidInputError"):
        run_plan(plan, cache, RayExecutor(task_cpus=1))
    assert all(cache.load(task.key) is not None for task in plan.tasks[:-1])


def test_without_ray_the_error_names_the_extra(monkeypatch, images):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(InvalidInputError, match=r"pip install 'qcodec\[ray\]'"):
        RayExecutor().run([], lambda *args: None)
    folder = str(images[0].path.parent)
    result = CliRunner().invoke(app, ["bench", folder, "--codecs", "jpeg", "--ray", "--no-cache", "--quiet", "--out", folder])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == ["error: --ray needs Ray, which is not installed here: pip install 'qcodec[ray]'"]
