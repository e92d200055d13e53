"""CPU inference latency, measured fairly: same process, warm-up, repeated timing, median.

Models are timed *round-robin*: each repetition runs every model once (in a rotated
order) before the next repetition starts, so a burst of load from other processes on a
shared machine hits all models alike instead of whichever happened to be timed then.
The reported figure is the median over repetitions; the interquartile range says how
noisy it was.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class LatencyStats:
    """Timing of one model at one batch size (seconds).

    Attributes:
        batch_size: images per forward call.
        median: median wall time of one forward call.
        q1, q3: first and third quartiles of the call times.
        repeats: timed calls.
    """

    batch_size: int
    median: float
    q1: float
    q3: float
    repeats: int

    @property
    def per_image(self) -> float:
        """``median / batch_size``."""
        return self.median / self.batch_size


def measure_latency(
    models: Mapping[str, nn.Module],
    batch_sizes: Sequence[int] = (1, 256),
    repeats: Mapping[int, int] | int = 30,
    warmup: Mapping[int, int] | int = 3,
    input_shape: tuple[int, ...] = (3, 32, 32),
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, dict[int, LatencyStats]]:
    """Median forward-pass time of every model at every batch size, timed round-robin.

    Args:
        models: ``{name: model}``; each is put in eval mode and run under ``torch.inference_mode``.
        batch_sizes: batch sizes to time.
        repeats: timed calls per model and batch size (one number, or ``{batch: count}``).
        warmup: untimed calls per model and batch size first (one number, or ``{batch: count}``).
        input_shape: one image's shape.
        seed: seeds the random input (the same input for every model).
        progress: called as ``progress(done, total)`` after each timed call.

    Returns:
        ``{name: {batch_size: LatencyStats}}``.
    """
    counts = {b: repeats if isinstance(repeats, int) else repeats[b] for b in batch_sizes}
    total = sum(counts[b] * len(models) for b in batch_sizes)
    done = 0
    names = list(models)
    results: dict[str, dict[int, LatencyStats]] = {name: {} for name in names}
    generator = torch.Generator().manual_seed(seed)
    for model in models.values():
        model.eval()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        with torch.inference_mode():
            for batch in batch_sizes:
                x = torch.randn(batch, *input_shape, generator=generator)
                for name in names:
                    for _ in range(warmup if isinstance(warmup, int) else warmup[batch]):
                        models[name](x)
                times: dict[str, list[float]] = {name: [] for name in names}
                for rep in range(counts[batch]):
                    shift = rep % len(names)
                    for name in names[shift:] + names[:shift]:
                        start = time.perf_counter()
                        models[name](x)
                        times[name].append(time.perf_counter() - start)
                        done += 1
                        if progress is not None:
                            progress(done, total)
                for name in names:
                    values = times[name]
                    quartiles = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
                    results[name][batch] = LatencyStats(
                        batch, statistics.median(values), quartiles[0], quartiles[2], len(values)
                    )
    finally:
        if gc_was_enabled:
            gc.enable()
    return results
