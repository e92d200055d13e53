"""Speed of one grid-codec fitting step, against the same network written with plain torch layers.

A fitting step of ``--model grid`` is a forward and backward pass of three parts over the
whole image: the context model's rate of every latent plane, the upsampling of the planes
to full resolution, and the synthesis. :mod:`qcodec.models.grid` writes them for CPU speed
(channels-last 3x3 convolutions, 1x1 layers as matrix products, polyphase depthwise
upsampling). The reference here is the same network called the textbook way (``nn.Conv2d``
modules in NCHW, a stride-2 transposed convolution for upsampling), with the same weights;
both are timed in this process and must agree (the script checks it before timing).

Usage::

    python benchmarks/bench_grid.py [--size 512x768] [--threads 1] [--repeats 5]

Prints seconds per forward + backward pass of each part and of the whole step, and the
reference's time divided by qcodec's (above 1: qcodec is faster).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from qcodec.codecs.grid import GridArch
from qcodec.grid_prior import start_context_
from qcodec.laplace_coding import LOG_SCALE_MIN, VALUE_MAX
from qcodec.models.grid import (
    LOG_SCALE_MAX,
    PHASES,
    UPSAMPLING_TAPS,
    ContextModel,
    GridModel,
    Synthesis,
    coarse_of,
    context_inputs,
    laplace_bits,
    phase_split,
    upsample,
)


def reference_context(context: ContextModel, inputs: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
    h = F.relu(context.first(inputs) + context.phase_bias[phase][:, :, None, None])
    for layer in context.mlp:
        h = F.relu(layer(h))
    return context.out(h)


def reference_rate(model: GridModel, grids: list[torch.Tensor]) -> torch.Tensor:
    phase = torch.arange(PHASES)
    bits = grids[0].new_zeros(())
    for index, grid in enumerate(grids):
        out = reference_context(model.context, context_inputs(grid, coarse_of(grids, model.coarse, index)), phase)
        mu = out[:, 0].clamp(-VALUE_MAX, VALUE_MAX)
        log_scale = out[:, 1].clamp(LOG_SCALE_MIN, LOG_SCALE_MAX)
        bits = bits + laplace_bits(phase_split(grid), mu, log_scale).sum()
    return bits


def reference_upsample2(x: torch.Tensor) -> torch.Tensor:
    channels = x.shape[1]
    taps = torch.tensor(UPSAMPLING_TAPS, dtype=x.dtype)
    x = F.pad(x, (2, 2, 0, 0), mode="replicate")
    x = F.conv_transpose2d(x, taps.view(1, 1, 1, 8).expand(channels, 1, 1, 8), stride=(1, 2), groups=channels)[..., 7:-7]
    x = F.pad(x, (0, 0, 2, 2), mode="replicate")
    return F.conv_transpose2d(x, taps.view(1, 1, 8, 1).expand(channels, 1, 8, 1), stride=(2, 1), groups=channels)[..., 7:-7, :]


def reference_upsample(levels: list[torch.Tensor], height: int, width: int) -> torch.Tensor:
    x = levels[-1][None]
    for planes in reversed(levels[:-1]):
        h, w = planes.shape[-2:]
        x = torch.cat([planes[None], reference_upsample2(x)[:, :, :h, :w]], dim=1)
    return x[:, :, :height, :width]


def reference_synthesis(synthesis: Synthesis, z: torch.Tensor) -> torch.Tensor:
    x = synthesis.linear(z) + synthesis.proj(F.gelu(synthesis.inp(z)))
    for conv in synthesis.refine:
        x = x + conv(x)
    return x


def seconds(run: Callable[[], torch.Tensor], repeats: int) -> float:
    """Best of ``repeats`` timings of ``run().backward()``, after one warm-up call."""
    run().backward()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run().backward()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="512x768", help="HEIGHTxWIDTH (default: a Kodak image)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the bench runs one per encode)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    height, width = (int(v) for v in args.size.split("x"))
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = GridModel(height, width, 3)
    start_context_(model)
    with torch.no_grad():
        for grid in model.latents:
            grid.normal_(0.0, 2.0)
        for conv in (model.synthesis.proj, *model.synthesis.refine):
            conv.weight.normal_(0.0, 0.1)
    grids = list(model.latents)
    by_level: list[list[torch.Tensor]] = [[] for _ in model.level_sizes]
    for plane, grid in zip(model.planes, grids):
        by_level[plane.level].append(grid)

    def stacked() -> list[torch.Tensor]:
        return [torch.stack(g) for g in by_level]

    z = upsample(stacked(), height, width).detach().requires_grad_()
    parts = {
        "rate (context model)": (lambda: model.rate_bits(grids), lambda: reference_rate(model, grids)),
        "upsampling": (
            lambda: upsample(stacked(), height, width).sum(),
            lambda: reference_upsample(stacked(), height, width).sum(),
        ),
        "synthesis": (lambda: model.synthesis(z).sum(), lambda: reference_synthesis(model.synthesis, z).sum()),
        "whole step": (
            lambda: model.rate_bits(grids) + model.synthesis(upsample(stacked(), height, width)).sum(),
            lambda: reference_rate(model, grids) + reference_synthesis(model.synthesis, reference_upsample(stacked(), height, width)).sum(),
        ),
    }
    with torch.no_grad():
        for name, (ours, reference) in parts.items():
            a, b = ours(), reference()
            if not torch.allclose(a, b, rtol=1e-4, atol=1e-3):
                raise SystemExit(f"{name}: qcodec and the reference disagree ({a.item()} vs {b.item()})")
    print(f"grid model {height}x{width}, {len(grids)} latent planes, {args.threads} thread(s); "
          f"best of {args.repeats}, forward + backward")
    print(f"{'part':<22}{'qcodec s':>10}{'reference s':>13}{'reference/qcodec':>18}")
    for name, (ours, reference) in parts.items():
        ours_s, ref_s = seconds(ours, args.repeats), seconds(reference, args.repeats)
        print(f"{name:<22}{ours_s:>10.3f}{ref_s:>13.3f}{ref_s / ours_s:>17.2f}x")


if __name__ == "__main__":
    main()
