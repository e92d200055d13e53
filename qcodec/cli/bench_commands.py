"""``qcodec bench``: rate-distortion curves, tables and BD-rates of every codec on one dataset."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from qcodec.bench import (
    BDRow,
    Curve,
    ResultCache,
    SweepConfig,
    curves_of,
    default_cache_root,
    load_images,
    parse_codecs,
    parse_levels,
    parse_names,
    parse_rates,
    plan_bench,
    read_references,
    run_plan,
)
from qcodec.bench.gallery import write_sheet
from qcodec.bench.per_image import Gap, bd_rate_gaps, psnr_gaps, read_per_image_reference
from qcodec.bench.ray_executor import RayExecutor
from qcodec.bench.report import Analysis, analyse, summary, write_outputs
from qcodec.bench.runner import Executor, LocalExecutor, ResultCallback
from qcodec.bench.sheet import parse_crop
from qcodec.cli.console import err_console, fail, interactive, out_console, user_errors, warn
from qcodec.codecs.base import check_effort_or_steps
from qcodec.data.files import write_bytes_atomic
from qcodec.errors import InvalidInputError
from qcodec.metrics import BD_METHODS, ms_ssim_db

GALLERY_BPP = 0.3
"""Rate of the gallery sheets of a benchmark run without --bpp."""

DEFAULT_BENCH_STEPS = 200
"""Fitting steps of a bench without --steps or --effort: quick, well short of converged quality."""

DATA = "Data"
RATE = "Rate points"
OUTPUT = "Output"
RUN = "Running"


def bench(
    dataset: Annotated[str, typer.Argument(help="'kodak' (downloaded once and cached) or a folder of images.")],
    codecs: Annotated[Optional[str], typer.Option(help="Comma-separated codecs: jpeg, jpeg2000, webp, avif, coin, ... or 'all' (default: jpeg,jpeg2000,webp,avif); coin:4x6 is COIN on a 4x6 tile grid, grid:quantum the grid codec with --quantum-synthesis.")] = None,
    images: Annotated[Optional[str], typer.Option(help="Subset of images, 1-based: 2,15 or 1-4 (Kodak: kodimNN).", rich_help_panel=DATA)] = None,
    data_dir: Annotated[Optional[Path], typer.Option(help="Local copy of Kodak (checked, never downloaded).", rich_help_panel=DATA)] = None,
    bpp: Annotated[Optional[str], typer.Option(help="Target rates, e.g. 0.1,0.2,0.3: classical codecs search quality per image (default: each codec's own sweep).", rich_help_panel=RATE)] = None,
    presets: Annotated[Optional[str], typer.Option(help="INR size presets to run, e.g. tiny,small (default: all).", rich_help_panel=RATE)] = None,
    qualities: Annotated[Optional[str], typer.Option(help="Quality levels to run for models that have them (ae, grid), e.g. 2,3 (default: all).", rich_help_panel=RATE)] = None,
    steps: Annotated[Optional[int], typer.Option(help="INR and grid fitting steps (default: 200, quick, well short of converged quality; 0: each model's own default).", rich_help_panel=RATE)] = None,
    effort: Annotated[Optional[int], typer.Option(help="Fitting effort of coin, quinr and grid, 1-5, as in `qcodec encode --effort` (instead of --steps).", rich_help_panel=RATE)] = None,
    qat_steps: Annotated[Optional[int], typer.Option(help="INR quantization-aware fine-tuning steps (default: steps / 10).", rich_help_panel=RATE)] = None,
    out: Annotated[Optional[Path], typer.Option(help="Folder for <codec>.json, bd.json and rd.png (default: runs/bench/DATASET).", rich_help_panel=OUTPUT)] = None,
    reference: Annotated[Optional[Path], typer.Option(help="Folder of published curves (CompressAI JSON) to plot and compare.", rich_help_panel=OUTPUT)] = None,
    per_image_reference: Annotated[Optional[Path], typer.Option(help="Published per-image results (TSV: image, bpp, psnr_db): the gap to them image by image at our own rate, and per-image BD-rates.", rich_help_panel=OUTPUT)] = None,
    anchor: Annotated[Optional[str], typer.Option(help="BD-rate anchor: a codec or a published curve name (default: jpeg2000).", rich_help_panel=OUTPUT)] = None,
    bd_method: Annotated[str, typer.Option(help="BD fit: cubic (VCEG-M33) or pchip (piecewise cubic).", rich_help_panel=OUTPUT)] = "cubic",
    at: Annotated[Optional[str], typer.Option(help="Also tabulate every curve read off at these rates, e.g. 0.25,0.5 (log-rate interpolation).", rich_help_panel=OUTPUT)] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the results as JSON on stdout.", rich_help_panel=OUTPUT)] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show progress even when not on a terminal.", rich_help_panel=OUTPUT)] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print no tables.", rich_help_panel=OUTPUT)] = False,
    jobs: Annotated[Optional[int], typer.Option(help="Parallel worker processes (default: CPU count).", rich_help_panel=RUN)] = None,
    ray: Annotated[bool, typer.Option("--ray", help="Run every task on Ray: a local instance, or the cluster of --ray-address (pip install 'qcodec\\[ray]').", rich_help_panel=RUN)] = False,
    ray_address: Annotated[Optional[str], typer.Option(help="Ray cluster to join, HOST:PORT or 'auto' (implies --ray).", rich_help_panel=RUN)] = None,
    task_cpus: Annotated[int, typer.Option(help="With Ray: cores each task asks for (and its torch threads).", rich_help_panel=RUN)] = 1,
    retries: Annotated[int, typer.Option(help="With Ray: how often a task whose worker was lost is run again.", rich_help_panel=RUN)] = 2,
    device: Annotated[Optional[str], typer.Option(help="Where qcodec models fit: auto, cpu or cuda (with Ray, cuda tasks ask for a GPU).", rich_help_panel=RUN)] = None,
    cache_dir: Annotated[Optional[Path], typer.Option(help="Result cache (default: <qcodec cache>/bench).", rich_help_panel=RUN)] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Recompute everything; store nothing.", rich_help_panel=RUN)] = False,
    gallery: Annotated[bool, typer.Option("--gallery", help="Also write a comparison sheet per image (OUT/gallery/IMAGE.png): each codec at its point nearest the first --bpp target (else 0.3 bpp), decoded from the cached files.", rich_help_panel=OUTPUT)] = False,
) -> None:
    """Benchmark codecs on a dataset: RD curves, a table, BD-rates and an RD plot.

    Every codec runs on the same images and is scored by the same code (qcodec.metrics): bpp from the whole file, RGB PSNR and MS-SSIM on 8-bit values, encode and decode time. Per-image results are cached, so an interrupted run resumes.

    Examples:

      qcodec bench kodak --codecs jpeg,jpeg2000,webp --data-dir ../shared/datasets/kodak

      qcodec bench kodak --reference ../shared/reference/kodak --at 0.25,0.5

      qcodec bench kodak --codecs coin,jpeg2000 --presets tiny,small --steps 500 --images 1-4

      qcodec bench kodak --codecs grid,jpeg2000 --qualities 2,3,4 --steps 1000 --images 1-6 --reference ../shared/reference/kodak

      qcodec bench kodak --codecs grid,jpeg2000 --bpp 0.3 --effort 5 --ray-address head:6379 --task-cpus 2   # docs/benchmarks.md
    """
    with user_errors():
        if bd_method not in BD_METHODS:
            raise InvalidInputError(f"--bd-method must be one of {', '.join(BD_METHODS)}, got {bd_method!r}")
        if (steps is not None and steps < 0) or (qat_steps is not None and qat_steps < 0):
            raise InvalidInputError("--steps and --qat-steps must be at least 0")
        check_effort_or_steps(effort, steps)
        sweep_steps = 0 if effort is not None else (DEFAULT_BENCH_STEPS if steps is None else steps)
        config = SweepConfig(
            parse_rates(bpp), parse_names(presets, "--presets"), sweep_steps, qat_steps, parse_levels(qualities), device, effort
        )
        read_at = parse_rates(at, "--at") or ()
        names = parse_codecs(codecs)
        references = read_references(reference) if reference else []
        per_image = read_per_image_reference(per_image_reference) if per_image_reference else None
        _check_anchor(anchor, names, references)
        selected = load_images(dataset, data_dir, images)
        plan = plan_bench(names, selected, config)
        for note in [*plan.notes, *(f"{i.name}: {n}" for i in selected for n in i.notes)]:
            warn(note)
        if not plan.tasks:
            fail("no codec can run here; nothing to benchmark")
        if no_cache and gallery:
            raise InvalidInputError("--gallery decodes the files the cache keeps; drop --no-cache")
        cache = ResultCache(None if no_cache else cache_dir or default_cache_root())
        executor = _executor(ray, ray_address, task_cpus, retries, device, jobs)
        with _progress(interactive(verbose), len(plan.tasks)) as on_result:
            rows = run_plan(plan, cache, executor, on_result)
        curves = curves_of(plan, rows)
        analysis = analyse(curves, references, anchor, bd_method, read_at)
        label = "kodak" if dataset.lower() == "kodak" else Path(dataset).resolve().name or "images"
        report = summary(label, [i.name for i in selected], curves, analysis, bd_method)
        report["notes"] = [*plan.notes, *report["notes"]]
        title = f"{label} ({len(selected)} images)"
        bd = report["bd"] if analysis.anchor else None
        folder = out or Path("runs") / "bench" / label
        written, notes = write_outputs(folder, curves, references, bd, title)
        gaps = [] if per_image is None else psnr_gaps(rows, per_image) + bd_rate_gaps(rows, per_image)
        if per_image is not None:
            report["per_image_reference"] = {"name": per_image.name, "gaps": [g.to_json() for g in gaps]}
            path = folder / f"per-image-{per_image.name}.json"
            write_bytes_atomic(path, json.dumps(report["per_image_reference"], indent=1).encode())
            written.append(path)
        if gallery:
            target = config.targets[0] if config.targets else GALLERY_BPP
            for image in selected:
                path = folder / "gallery" / f"{image.name}.png"
                notes += write_sheet(plan, rows, cache, image, target, path)
                written.append(path)
    for note in [*analysis.notes, *notes]:
        warn(note)
    if json_out:
        out_console.print_json(json.dumps(report))
    elif not quiet:
        out_console.print(_results_table(curves))
        if read_at:
            out_console.print(_at_table(analysis))
        if analysis.anchor and analysis.bd_rows:
            out_console.print(_bd_table(analysis.bd_rows, analysis.anchor.label, bd_method))
        if per_image is not None:
            out_console.print(_gap_table(gaps, per_image.name))
    err_console.print(f"wrote {', '.join(str(p) for p in written)}", highlight=False, soft_wrap=True)


def _executor(ray: bool, address: str | None, task_cpus: int, retries: int, device: str | None, jobs: int | None) -> Executor:
    """Ray with ``--ray`` / ``--ray-address``, else local worker processes."""
    if ray or address:
        if jobs is not None:
            raise InvalidInputError("--jobs sets local worker processes; with --ray, --task-cpus sets each task's cores")
        return RayExecutor(address, task_cpus, 1.0 if device == "cuda" else 0.0, retries, warn)
    return LocalExecutor(jobs or os.cpu_count() or 1)


def _check_anchor(anchor: str | None, names: Sequence[str], references: Sequence[Curve]) -> None:
    """Reject an explicit ``--anchor`` that will not be among the curves, before running anything."""
    if anchor is None:
        return
    known = [*names, *(c.name.lower() for c in references)]
    if anchor.lower() not in known:
        choices = ", ".join(known)
        raise InvalidInputError(f"--anchor {anchor!r} is neither a benchmarked codec nor a --reference curve ({choices})")


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[ResultCallback | None]:
    """A rich bar of images x rate points done, with ETA; results from the cache restart the clock."""
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("[bold]bench"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[last]}"),
    )
    with Progress(*columns, console=err_console) as bar:
        task = bar.add_task("bench", total=total, last="")
        count = 0

        def update(row, cached: bool) -> None:  # noqa: ANN001 - an ImageResult
            nonlocal count
            count += 1
            last = f"{row.codec} {row.setting} {row.image}"
            if cached:
                bar.reset(task, total=total, completed=count, last=f"{last} (cached)")
            else:
                bar.update(task, completed=count, last=last)

        yield update


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _results_table(curves: Sequence[Curve]) -> Table:
    table = Table(title="Rate-distortion (mean over images per rate point)")
    for header in ("codec", "setting", "bpp", "PSNR dB", "MS-SSIM", "MS-SSIM dB", "enc s", "dec s"):
        table.add_column(header, justify="left" if header in ("codec", "setting") else "right")
    for curve in curves:
        for i, rate in enumerate(curve.bpp):
            structural = curve.ms_ssim[i] if curve.ms_ssim else None
            table.add_row(
                curve.name if i == 0 else "",
                (curve.settings or [""] * len(curve.bpp))[i],
                f"{rate:.4f}",
                f"{curve.psnr[i]:.2f}",
                _number(structural, 4),
                _number(None if structural is None else ms_ssim_db(structural), 2),
                _number(curve.encoding_time[i] if curve.encoding_time else None, 3),
                _number(curve.decoding_time[i] if curve.decoding_time else None, 3),
                end_section=i == len(curve.bpp) - 1,
            )
    return table


def _at_table(analysis: Analysis) -> Table:
    table = Table(title="PSNR and MS-SSIM in dB read off the mean curves at R bpp (linear in log-rate)")
    table.add_column("curve", no_wrap=True)
    for rate in analysis.at:
        table.add_column(f"PSNR @{rate:g}", justify="right")
        table.add_column(f"MS-SSIM @{rate:g}", justify="right")
    for curve in analysis.curves:
        cells = []
        for values in analysis.at.values():
            value, structural = values[curve.label]
            cells += [_number(value, 2), _number(None if structural is None else ms_ssim_db(structural), 2)]
        table.add_row(curve.label, *cells)
    return table


def _gap_table(gaps: Sequence[Gap], name: str) -> Table:
    table = Table(title=f"Against {name}, image by image at our own rate (dB; BD-rate in %, pchip per image)")
    for header in ("codec", "setting", "mean", "images", "outside the reference curve"):
        table.add_column(header, justify="right" if header == "mean" else "left")
    for gap in gaps:
        unit = " %" if gap.setting == "BD" else " dB"
        mean = "-" if gap.mean is None else f"{gap.mean:+.2f}{unit}"
        table.add_row(gap.codec, gap.setting, mean, str(len(gap.images)), ", ".join(gap.outside) or "")
    return table


def _bd_table(rows: Sequence[BDRow], anchor: str, method: str) -> Table:
    table = Table(title=f"Bjontegaard deltas against {anchor} ({method} fit; negative BD-rate = fewer bits)")
    headers = ["curve", "BD-rate %", "BD-PSNR dB", "BD-rate MS-SSIM %"]
    notes = any(row.note for row in rows)
    for header in headers + (["note"] if notes else []):
        table.add_column(header, justify="right" if "BD" in header else "left", no_wrap=header == "curve")
    for row in rows:
        cells = [row.label, _number(row.bd_rate, 1), _number(row.bd_psnr, 2), _number(row.bd_rate_ms_ssim, 1)]
        table.add_row(*cells, *([row.note or ""] if notes else []))
    return table


def compare(
    image: Annotated[str, typer.Argument(help="The image to compare codecs on (PNG, JPEG, ...).")],
    bpp: Annotated[float, typer.Option(help="Target rate in bits per pixel; each codec runs at it (or as near as it can).", rich_help_panel=RATE)] = 0.3,
    codecs: Annotated[str, typer.Option(help="Comma-separated codecs, as for qcodec bench.")] = "grid,avif,jpeg2000,jpeg",
    out: Annotated[Optional[Path], typer.Option(help="Sheet to write (default: IMAGE-compare-BPP.png here).", rich_help_panel=OUTPUT)] = None,
    crop: Annotated[Optional[str], typer.Option(help="X,Y,WIDTH,HEIGHT of the crop (default: 256x192 where the codecs differ most).", rich_help_panel=OUTPUT)] = None,
    errors: Annotated[bool, typer.Option("--errors", help="Add a row of absolute-error maps.", rich_help_panel=OUTPUT)] = False,
    steps: Annotated[int, typer.Option(help="Fitting steps of qcodec models.", rich_help_panel=RATE)] = 1000,
    jobs: Annotated[Optional[int], typer.Option(help="Parallel worker processes (default: CPU count).", rich_help_panel=RUN)] = None,
    cache_dir: Annotated[Optional[Path], typer.Option(help="Result cache (default: <qcodec cache>/bench); reruns reuse it.", rich_help_panel=RUN)] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print each codec's rate and PSNR as JSON.", rich_help_panel=OUTPUT)] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show progress even when not on a terminal.", rich_help_panel=OUTPUT)] = False,
) -> None:
    """Write a visual comparison sheet: the same crop from each codec at (nearly) the same rate.

    Each codec codes IMAGE at --bpp (classical codecs search their quality, qcodec models steer their rate); the sheet shows the original and every reconstruction on one crop, chosen where the codecs differ most, each labelled with codec, bpp and PSNR of the whole image. A codec that cannot reach the rate is shown at the nearest rate it reaches and labelled so. Results are cached like qcodec bench's.

    Examples:

      qcodec compare kodim23.png --bpp 0.3 --codecs grid,avif,jpeg2000,jpeg --out sheet.png

      qcodec compare photo.png --bpp 0.1 --codecs ae,webp,jpeg --crop 100,50,200,150 --errors
    """
    with user_errors():
        if not (bpp > 0 and math.isfinite(bpp)):
            raise InvalidInputError(f"--bpp must be a positive rate, got {bpp}")
        if steps < 1:
            raise InvalidInputError(f"--steps must be at least 1, got {steps}")
        if not Path(image).is_file():
            raise InvalidInputError(f"qcodec compare takes one image file; no such file: {image}")
        chosen = parse_crop(crop) if crop else None
        selected = load_images(image)
        plan = plan_bench(parse_codecs(codecs), selected, SweepConfig((bpp,), steps=steps))
        for note in plan.notes:
            warn(note)
        if not plan.tasks:
            fail("no codec can run here; nothing to compare")
        cache = ResultCache(cache_dir or default_cache_root())
        with _progress(interactive(verbose), len(plan.tasks)) as on_result:
            rows = run_plan(plan, cache, LocalExecutor(jobs or os.cpu_count() or 1), on_result)
        path = out or Path(f"{selected[0].name}-compare-{bpp:g}.png")
        for note in write_sheet(plan, rows, cache, selected[0], bpp, path, chosen, errors):
            warn(note)
    if json_out:
        out_console.print_json(json.dumps([{"codec": r.codec, "bytes": r.bytes, "bpp": r.bpp, "psnr": r.psnr} for r in rows]))
    err_console.print(f"wrote {path}", highlight=False, soft_wrap=True)
