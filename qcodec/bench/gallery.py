"""Comparison sheets from a benchmark's cached files: ``qcodec compare`` and ``qcodec bench --gallery``.

For each image, each codec is shown at its rate point nearest the target rate (in log-rate),
decoded again from the file the benchmark cached (:meth:`~qcodec.bench.cache.ResultCache.load_file`),
and drawn by :func:`qcodec.bench.sheet.render_sheet` on the crop where the codecs differ most
(or a given one).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from qcodec.bench.cache import ResultCache
from qcodec.bench.dataset import BenchImage, read_image
from qcodec.bench.results import ImageResult
from qcodec.bench.runner import BenchPlan
from qcodec.bench.sheet import Crop, SheetEntry, choose_crop, render_sheet
from qcodec.data.files import make_folder, write_bytes_atomic


def sheet_entries(
    plan: BenchPlan, rows: Sequence[ImageResult], cache: ResultCache, image: BenchImage, target: float
) -> tuple[list[SheetEntry], list[str]]:
    """Each codec of ``plan`` on ``image`` at its rate point nearest ``target`` bpp, decoded from the cache;
    and a note per codec left out (no cached file)."""
    entries, notes = [], []
    for codec, _ in plan.codecs:
        mine = [(task, row) for task, row in zip(plan.tasks, rows) if task.codec == codec.name and task.image == image]
        if not mine:
            continue
        task, row = min(mine, key=lambda pair: abs(math.log(pair[1].bpp / target)))
        data = cache.load_file(task.key)
        if data is None:
            notes.append(f"{codec.name} on {image.name}: no cached file (an entry from before files were cached); not shown")
            continue
        entries.append(SheetEntry(codec.name, codec.decode(data, image.channels), row.bpp, row.psnr, target))
    return entries, notes


def write_sheet(
    plan: BenchPlan,
    rows: Sequence[ImageResult],
    cache: ResultCache,
    image: BenchImage,
    target: float,
    path: Path,
    crop: Crop | None = None,
    errors: bool = False,
) -> list[str]:
    """Write ``image``'s comparison sheet at ``target`` bpp to ``path`` (PNG); returns notes."""
    original = read_image(image.path).pixels
    entries, notes = sheet_entries(plan, rows, cache, image, target)
    crop = crop or choose_crop(original, [e.pixels for e in entries])
    title = f"{image.name} at {target:g} bpp"
    make_folder(path.parent)
    write_bytes_atomic(path, render_sheet(original, entries, crop, errors, title))
    return notes
