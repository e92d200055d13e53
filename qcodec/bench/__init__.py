"""Rate-distortion benchmarks: every codec on the same images, scored by the same metric code.

::

    dataset.load_images      'kodak' (cached download or --data-dir) or a folder -> BenchImage list
    catalog.get_bench_codec  jpeg, jpeg2000, webp, avif (codecs.py, Pillow) + qcodec models (models.py)
    runner.plan_bench        codecs x rate points x images -> tasks (notes for skipped codecs)
    runner.run_plan          each task: cache.py lookup, else encode/decode + qcodec.metrics, here or
                             in --jobs processes (runner.LocalExecutor) or on Ray (ray_executor.py, --ray)
    results.aggregate        mean per rate point -> Curve (CompressAI results JSON)
    bd.bd_table              BD-rate / BD-PSNR of every curve against an anchor
    report.write_outputs     <codec>.json, bd.json, rd.png (plot.py)

The ``qcodec bench`` command (:mod:`qcodec.cli.bench_commands`) strings these together;
``docs/benchmarks.md`` describes how to reproduce the published numbers.
"""

from qcodec.bench.bd import BDRow, bd_table, find_curve
from qcodec.bench.cache import ResultCache, default_cache_root
from qcodec.bench.catalog import DEFAULT_CODECS, bench_codec_names, get_bench_codec, parse_codecs, parse_levels, parse_names, parse_rates
from qcodec.bench.codecs import RatePoint, SweepConfig
from qcodec.bench.dataset import BenchImage, load_images
from qcodec.bench.results import Curve, ImageResult, read_references
from qcodec.bench.runner import BenchPlan, LocalExecutor, curves_of, plan_bench, run_plan

__all__ = [
    "LocalExecutor",
    "BDRow",
    "BenchImage",
    "BenchPlan",
    "Curve",
    "DEFAULT_CODECS",
    "ImageResult",
    "RatePoint",
    "ResultCache",
    "SweepConfig",
    "bd_table",
    "bench_codec_names",
    "curves_of",
    "default_cache_root",
    "find_curve",
    "get_bench_codec",
    "load_images",
    "parse_codecs",
    "parse_levels",
    "parse_names",
    "parse_rates",
    "plan_bench",
    "read_references",
    "run_plan",
]
