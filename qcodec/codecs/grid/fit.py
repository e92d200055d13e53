"""Overfitting a :class:`~qcodec.codecs.grid.network.GridModel` to one image by rate + lambda * distortion.

Fitting starts from a Laplacian pyramid of the image (:meth:`GridModel.pyramid_init_`) with a
base step chosen from lambda (:func:`pyramid_step`): in a few hundred steps this reaches what
thousands of steps from zero latents do (``docs/grid.md`` has the measurements).

Loss per step: ``bits / (H W) + lmbda * 255**2 * MSE`` (rate in bpp, MSE on ``[0, 1]``
values; the same lambda convention as CompressAI and ``qcodec train ae``). Adam for the
latents, SOAP (:class:`~qcodec.codecs.soap.SOAP`) for the context model and synthesis as in
Cool-chic 5.0.1 (-2.5 % in cost on Kodak crops against Adam), both with a cosine
learning-rate decay; the networks' gradient norm is clipped to 0.1 (Cool-chic 5.0.1; -2.4 % in
cost on Kodak crops). For the first ``1 - ste_fraction`` of the steps rounding is relaxed as
in C3 (Kim et al. 2023) with Cool-chic 5.0.1's schedule (:func:`training_latents`): soft
rounding whose temperature anneals from 0.35 to 0.08, plus Gaussian noise whose standard
deviation narrows from 0.22 to 0.15, soft-rounded again. For the last ``ste_fraction`` the
latents are rounded and frozen and only the networks train (Cool-chic 5.0.1's last phase):
moving them with a straight-through gradient instead let them drift off zero, where the
rounded rate has no gradient, and raised a Kodak image's rate by up to 20 % in those steps
(``docs/grid.md``). On Kodak crops the Gaussian schedule cut the rate-distortion cost by 4 %
against C3's Kumaraswamy noise, which had cut it by 4-5 % against plain uniform noise.

With a :class:`RateControl` the fit aims at a rate instead of a fixed lambda: lambda is
steered during the fit, a feedback loop on the rate of the rounded latents.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from qcodec.codecs.base import FitProgress, ProgressCallback
from qcodec.codecs.grid.laplace import VALUE_MAX
from qcodec.codecs.grid.network import GridModel
from qcodec.codecs.schedule import cosine_factor
from qcodec.codecs.soap import SOAP
from qcodec.memory import reuse_freed_memory
from qcodec.metrics import psnr_from_mse


@dataclass(frozen=True)
class RateControl:
    """Steer lambda during the fit so that the rounded latents end near ``latent_bpp``.

    From ``start`` to ``end`` (fractions of the fitting steps), every ``every`` steps, the rate
    ``r`` of the rounded latents (bpp, the context model's float estimate) is measured and
    ``log lambda -= gain * log(r / latent_bpp)``. Control stops early so that the last part of
    the fit, where the learning rate is small and rounding becomes hard, trains at one lambda.
    On six Kodak images at 1,400 steps and a 0.3 bpp file target the files landed at
    0.298-0.304 bpp, no worse than fixed-lambda fits at the same rates (``docs/grid.md``).

    Attributes:
        latent_bpp: target rate of the latent grids in bits per pixel (the decoder weights and
            the container are not counted; :class:`~qcodec.codecs.grid.codec.GridCodec` subtracts an
            estimate of them from a whole-file target).
        start: fraction of the steps at which control starts.
        end: fraction of the steps at which it stops.
        every: steps between two updates of lambda.
        gain: how much of the log rate error one update corrects.
    """

    latent_bpp: float
    start: float = 0.08
    end: float = 0.6
    every: int = 10
    gain: float = 0.3

    def updates_at(self, step: int, steps: int) -> bool:
        """Whether lambda is updated before fitting step ``step`` of ``steps``."""
        first, last = round(self.start * steps), round(self.end * steps)
        return first <= step < last and (step - first) % self.every == 0


@dataclass(frozen=True)
class GridFitConfig:
    """How to fit a grid model.

    Attributes:
        lmbda: rate-distortion trade-off (larger: higher quality, more bits).
        steps: optimizer steps (each one a pass over the whole image).
        lr: peak learning rate of the context model and synthesis.
        latent_lr: peak learning rate of the latent grids (Adam moves each value by about
            this much per step, so it sets how fast the grids reach their unit-step values).
        final_lr_ratio: learning rate at the last step, relative to ``lr``.
        ste_fraction: fraction of the steps (at the end) trained on rounded latents.
        freeze_latents: in that final phase keep the latents fixed at their rounded values and
            train only the networks (Cool-chic 5.0.1's last phase), instead of moving them with
            a straight-through gradient.
        temperatures: soft-rounding temperature at the first step and at the start of the
            final phase (linear in between).
        noise_stds: standard deviation of the Gaussian noise over the same span (in
            quantization steps).
        clip_norm: largest gradient norm of the context model and synthesis together (their
            gradients are scaled down above it; the latents' are not), as in Cool-chic 5.0.1.
        pyramid_init: start from the image's Laplacian pyramid (else from zero latents).
        context_warmup: steps that fit the context model alone to the initial latents (rate
            only) before joint training, so the first joint steps see a sensible rate.
        rate_control: steer lambda towards a target rate (``lmbda`` is then where it starts,
            and what sets the pyramid start's step); ``None`` keeps ``lmbda`` fixed.
    """

    lmbda: float = 0.004
    steps: int = 500
    lr: float = 1e-2
    latent_lr: float = 0.05
    final_lr_ratio: float = 0.01
    ste_fraction: float = 0.05
    freeze_latents: bool = True
    temperatures: tuple[float, float] = (0.35, 0.08)
    noise_stds: tuple[float, float] = (0.22, 0.15)
    clip_norm: float = 0.1
    pyramid_init: bool = True
    context_warmup: int = 100
    rate_control: RateControl | None = None


PYRAMID_STEP_SCALE = 0.0095
"""``pyramid_step(lmbda) = PYRAMID_STEP_SCALE / sqrt(lmbda)``: 0.15 at lambda 0.004 (measured
best on kodim23), following the high-rate rule that the optimal step grows as ``lambda**-1/2``."""


def pyramid_step(lmbda: float) -> float:
    """Base quantization step (in ``[0, 1]`` pixel units) of the initial pyramid for ``lmbda``."""
    return PYRAMID_STEP_SCALE / math.sqrt(lmbda)


def softround(y: torch.Tensor, temperature: float) -> torch.Tensor:
    """Soft rounding (Agustsson and Theis 2020): smooth, ``round(y)`` as ``temperature -> 0``, ``y`` as it grows.

    ``floor(y) + 1/2 + tanh(r / T) / (2 tanh(1 / (2 T)))`` with ``r = y - floor(y) - 1/2``;
    elementwise, continuous and increasing; integers and integers + 1/2 are fixed points.
    """
    base = torch.floor(y)
    r = y - base - 0.5
    return base + 0.5 + torch.tanh(r / temperature) / (2.0 * math.tanh(0.5 / temperature))


def training_latents(model: GridModel, progress: float, config: GridFitConfig) -> list[torch.Tensor]:
    """Relaxed latents at ``progress`` in ``[0, 1)`` of the soft phase, for the rate and the synthesis.

    ``softround(softround(y, T) + n, T)`` with ``n`` Gaussian of standard deviation ``s`` (C3's
    quantizer, Cool-chic 5.0.1's schedule); ``T`` and ``s`` interpolated from
    :attr:`GridFitConfig.temperatures` and :attr:`~GridFitConfig.noise_stds`, so the latents
    approach their rounded values as training goes on.
    """
    temperature = config.temperatures[0] + (config.temperatures[1] - config.temperatures[0]) * progress
    std = config.noise_stds[0] + (config.noise_stds[1] - config.noise_stds[0]) * progress
    return [
        softround(softround(y.clamp(-VALUE_MAX, VALUE_MAX), temperature) + std * torch.randn_like(y), temperature)
        for y in model.latents
    ]


def rd_loss(bits: torch.Tensor, image: torch.Tensor, target: torch.Tensor, lmbda: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(loss, mse)`` of a rate in bits and an image ``(1, C, H, W)`` against ``target`` (same shape)."""
    mse = torch.mean((image - target) ** 2)
    pixels = target.shape[-1] * target.shape[-2]
    return bits / pixels + lmbda * 255.0**2 * mse, mse


def fit_grid(
    model: GridModel,
    target: torch.Tensor,
    config: GridFitConfig,
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> float:
    """Train ``model`` in place on ``target (1, C, H, W)`` in ``[0, 1]`` and leave it in eval mode.

    ``seed`` seeds the quantization noise (seed the initialisation separately). The fit runs
    with freed memory kept for reuse (:func:`~qcodec.memory.reuse_freed_memory`). Returns the
    lambda the fit ended with: ``config.lmbda``, or where :attr:`GridFitConfig.rate_control`
    steered it.
    """
    torch.manual_seed(seed)
    with reuse_freed_memory():
        if config.pyramid_init:
            pyramid_start_(model, target, config)
        lmbda = _train(model, target, config, progress)
    model.eval()
    return lmbda


def pyramid_start_(model: GridModel, target: torch.Tensor, config: GridFitConfig) -> None:
    """Set ``model``'s latents to the Laplacian pyramid of ``target`` at lambda's step, then fit
    the context model alone to them (rate only) for :attr:`GridFitConfig.context_warmup` steps."""
    model.pyramid_init_(target, pyramid_step(config.lmbda))
    warmup = torch.optim.Adam(model.context.parameters(), lr=config.lr)
    for _ in range(config.context_warmup):
        with torch.no_grad():
            grids = model.quantized_latents("noise")
        bits = model.rate_bits(grids)
        warmup.zero_grad(set_to_none=True)
        bits.backward()
        warmup.step()


def _train(model: GridModel, target: torch.Tensor, config: GridFitConfig, progress: ProgressCallback | None) -> float:
    """The joint fitting loop of :func:`fit_grid`; returns the final lambda."""
    model.train()
    networks = [p for name, p in model.named_parameters() if not name.startswith("latents.")]
    optimizers = [torch.optim.Adam(list(model.latents), lr=config.latent_lr), SOAP(networks, lr=config.lr)]
    groups = [g for o in optimizers for g in o.param_groups]
    peaks = [config.latent_lr, config.lr]
    ste_from = round(config.steps * (1.0 - config.ste_fraction))
    pixels = target.shape[-1] * target.shape[-2]
    control = config.rate_control
    lmbda = config.lmbda
    for step in range(config.steps):
        if control is not None and control.updates_at(step, config.steps):
            with torch.no_grad():
                rate = float(model.rate_bits(model.quantized_latents("round"))) / pixels
            lmbda *= math.exp(-control.gain * math.log(max(rate, 1e-6) / control.latent_bpp))
        for group, peak in zip(groups, peaks):
            group["lr"] = peak * cosine_factor(step, config.steps, config.final_lr_ratio)
        if step < ste_from:
            grids = training_latents(model, step / ste_from, config)
        elif not config.freeze_latents:
            grids = model.quantized_latents("ste")
        elif step == ste_from:  # rounded once: the latents do not change from here on
            grids = [g.detach() for g in model.quantized_latents("round")]
        if step <= ste_from or not config.freeze_latents:  # frozen latents are upsampled once too
            planes = model.upsampled(grids)
        bits, image = model.rate_bits(grids), model.synthesis(planes)
        loss, mse = rd_loss(bits, image, target, lmbda)
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(networks, config.clip_norm)
        for optimizer in optimizers:
            optimizer.step()
        if progress is not None:
            progress(FitProgress("fit", step + 1, config.steps, loss.item(), psnr_from_mse(mse.item())))
    return lmbda
