"""Speed of one grid-codec fitting step, against the same network written with plain torch layers.

A fitting step of ``--model grid`` is a forward and backward pass of three parts over the
whole image: the context model's rate of every latent plane, the upsampling of the planes
to full resolution, and the synthesis. :mod:`qcodec.codecs.grid.network` writes them for CPU speed
(the planes of a level in one channels-last convolution over the plane and its coarse
context, hidden layers as matrix products, polyphase depthwise upsampling). The reference
here is a copy of the same model, with the same weights, whose rate runs plane by plane as
two NCHW convolutions (the causal 7x7 and the coarse 3x3) and 1x1 convolutions, whose
synthesis calls its ``nn.Conv2d`` layers the textbook way (NCHW), and whose upsampling is a
stride-2 transposed convolution; both are timed in this process and must agree (the script
checks it before timing).

Usage::

    python benchmarks/bench_grid.py [--size 512x768] [--threads 1] [--repeats 5]

Prints seconds per forward + backward pass of each part and of the whole step, and the
reference's time divided by qcodec's (above 1: qcodec is faster). Last, the networks' optimizer
step: SOAP (what the fit uses) against Adam (what it used before) on the same gradients, as a
share of the whole step.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import time
from collections.abc import Callable, Iterator
from unittest import mock

import torch
import torch.nn.functional as F

from qcodec.codecs.grid.laplace import LOG_SCALE_MIN, VALUE_MAX
from qcodec.codecs.grid.network import (
    CAUSAL_OFFSETS,
    CONTEXT_RADIUS,
    LOG_SCALE_MAX,
    UPSAMPLING_TAPS,
    GridModel,
    Synthesis,
    coarse_context,
    coarse_of,
    laplace_bits,
)
from qcodec.codecs.soap import SOAP


class TextbookGrid(GridModel):
    def rate_bits(self, grids: list[torch.Tensor]) -> torch.Tensor:
        """Plane by plane: the causal 7x7 and the coarse 3x3 as NCHW convolutions, then 1x1 convolutions."""
        context, bits = self.context, grids[0].new_zeros(())
        size = 2 * CONTEXT_RADIUS + 1
        causal = context.spatial.new_zeros(context.hidden, size * size)
        causal[:, [(dr + CONTEXT_RADIUS) * size + dc + CONTEXT_RADIUS for dr, dc in CAUSAL_OFFSETS]] = context.spatial
        around = context.coarse.view(context.hidden, 1, 3, 3)
        for index, grid in enumerate(grids):
            coarse = coarse_of(grids, self.coarse, index)
            plane = grid[None, None]
            h = F.conv2d(plane, causal.view(context.hidden, 1, size, size), padding=CONTEXT_RADIUS)
            h = h + F.conv2d(coarse_context(None if coarse is None else coarse[None], grid[None])[None], around, padding=1)
            h = F.relu(h + context.bias[:, None, None])
            for layer in context.mlp:
                h = F.relu(F.conv2d(h, layer.weight[:, :, None, None], layer.bias))
            out = F.conv2d(h, context.out.weight[:, :, None, None], context.out.bias)
            mu, log_scale = out[:, 0].clamp(-VALUE_MAX, VALUE_MAX), out[:, 1].clamp(LOG_SCALE_MIN, LOG_SCALE_MAX)
            bits = bits + laplace_bits(plane[:, 0], mu, log_scale).sum()
        return bits


class TextbookSynthesis(Synthesis):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.linear(z) + self.proj(F.gelu(self.inp(z)))
        for conv in self.refine:
            x = x + conv(x)
        return x


def transposed_upsample2(x: torch.Tensor) -> torch.Tensor:
    """:func:`qcodec.codecs.grid.network.upsample2` as stride-2 transposed convolutions."""
    channels = x.shape[1]
    taps = torch.tensor(UPSAMPLING_TAPS, dtype=x.dtype)
    x = F.pad(x, (2, 2, 0, 0), mode="replicate")
    x = F.conv_transpose2d(x, taps.view(1, 1, 1, 8).expand(channels, 1, 1, 8), stride=(1, 2), groups=channels)[..., 7:-7]
    x = F.pad(x, (0, 0, 2, 2), mode="replicate")
    return F.conv_transpose2d(x, taps.view(1, 1, 8, 1).expand(channels, 1, 8, 1), stride=(2, 1), groups=channels)[..., 7:-7, :]


def textbook_copy(model: GridModel) -> GridModel:
    """``model`` with its rate and synthesis replaced by the textbook versions (same weights)."""
    reference = copy.deepcopy(model)
    reference.__class__ = TextbookGrid
    reference.synthesis.__class__ = TextbookSynthesis
    return reference


@contextlib.contextmanager
def transposed_upsampling() -> Iterator[None]:
    with mock.patch("qcodec.codecs.grid.network.upsample2", transposed_upsample2):
        yield


def seconds(runs: tuple[Callable[[], torch.Tensor], ...], repeats: int) -> list[float]:
    """Best of ``repeats`` timings of ``run().backward()`` for each of ``runs``, after one warm-up
    call each; the runs alternate, so a drift in the machine's speed affects them alike."""
    best = [float("inf")] * len(runs)
    for repeat in range(repeats + 1):
        for index, run in enumerate(runs):
            start = time.perf_counter()
            run().backward()
            if repeat:
                best[index] = min(best[index], time.perf_counter() - start)
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
    with torch.no_grad():
        for grid in model.latents:
            grid.normal_(0.0, 2.0)
        for conv in (model.synthesis.proj, *model.synthesis.refine):
            conv.weight.normal_(0.0, 0.1)
    reference = textbook_copy(model)
    grids, reference_grids = list(model.latents), list(reference.latents)
    z = model.upsampled(grids).detach().requires_grad_()

    def referenced(run: Callable[[], torch.Tensor]) -> Callable[[], torch.Tensor]:
        def wrapped() -> torch.Tensor:
            with transposed_upsampling():
                return run()

        return wrapped

    parts = {
        "rate (context model)": (lambda: model.rate_bits(grids), lambda: reference.rate_bits(reference_grids)),
        "upsampling": (lambda: model.upsampled(grids).sum(), referenced(lambda: reference.upsampled(reference_grids).sum())),
        "synthesis": (lambda: model.synthesis(z).sum(), lambda: reference.synthesis(z).sum()),
        "whole step": (
            lambda: model.rate_bits(grids) + model.synthesize(grids).sum(),
            referenced(lambda: reference.rate_bits(reference_grids) + reference.synthesize(reference_grids).sum()),
        ),
    }
    with torch.no_grad():
        for name, (ours, textbook) in parts.items():
            a, b = ours(), textbook()
            if not torch.allclose(a, b, rtol=1e-4, atol=1e-3):
                raise SystemExit(f"{name}: qcodec and the reference disagree ({a.item()} vs {b.item()})")
    print(f"grid model {height}x{width}, {len(grids)} latent planes, {args.threads} thread(s); "
          f"best of {args.repeats}, forward + backward, the two versions alternating")
    print(f"{'part':<22}{'qcodec s':>10}{'reference s':>13}{'reference/qcodec':>18}")
    timings = {name: seconds(runs, args.repeats) for name, runs in parts.items()}
    for name, (ours_s, ref_s) in timings.items():
        print(f"{name:<22}{ours_s:>10.3f}{ref_s:>13.3f}{ref_s / ours_s:>17.2f}x")
    step_s = timings["whole step"][0]
    soap_s, adam_s = optimizer_seconds(model, args.repeats)
    print(f"networks' optimizer step: SOAP {soap_s * 1e3:.2f} ms, Adam {adam_s * 1e3:.2f} ms "
          f"(SOAP/Adam {soap_s / adam_s:.1f}x; SOAP is {100 * soap_s / step_s:.1f} % of the whole step)")


def optimizer_seconds(model: GridModel, repeats: int) -> tuple[float, float]:
    """Best of ``repeats`` x 20 timings of one SOAP and one Adam step on the networks' gradients."""
    networks = [p for name, p in model.named_parameters() if not name.startswith("latents.")]
    (model.rate_bits(list(model.latents)) + model.synthesize(list(model.latents)).sum()).backward()
    optimizers = (SOAP(copy.deepcopy(networks)), torch.optim.Adam(copy.deepcopy(networks), lr=1e-2))
    for optimizer in optimizers:
        for p, q in zip(optimizer.param_groups[0]["params"], networks):
            p.grad = q.grad.clone()
    best = [float("inf")] * 2
    for repeat in range(repeats + 1):
        for index, optimizer in enumerate(optimizers):
            start = time.perf_counter()
            for _ in range(20):
                optimizer.step()
            if repeat:
                best[index] = min(best[index], (time.perf_counter() - start) / 20)
    return best[0], best[1]


if __name__ == "__main__":
    main()
