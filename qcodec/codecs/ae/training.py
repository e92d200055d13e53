"""Training the autoencoder codec (``qcodec train ae``) on random crops of an image folder.

Loss ``lambda * 255^2 * MSE + bpp`` (:func:`~qcodec.codecs.ae.network.rate_distortion_loss`),
Adam with a cosine-decayed learning rate, random crops with horizontal flips. Checkpoints
(network, optimizer, step and generator state) are written atomically every
``checkpoint_every`` steps, so an interrupted run resumes where it stopped and gives the
same weights as an uninterrupted one. The finished network is exported as a model file
(:func:`qcodec.codecs.ae.zoo.save_model_file`) with the integer CDF tables the codec codes with.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from qcodec.codecs.ae.network import LIKELIHOOD_BOUND, SKIP_OUTPUT_SCALE, STRIDE, FactorizedAutoencoder, rate_distortion_loss
from qcodec.data.files import save_torch_atomic
from qcodec.data.image_folder import read_training_image, training_image_paths
from qcodec.errors import InvalidInputError


def shortcut_gain(lmbda: float) -> float:
    """Initial latents per pixel unit of the KLT shortcut for rate-distortion weight ``lmbda``.

    Uniform quantization with step ``s`` of orthonormal coefficients costs ``s^2 / 12`` of
    squared error each and saves ``log2`` of the step in bits; minimising
    ``lambda * 255^2 * MSE + bpp`` over ``s`` for 768-value blocks gives ``s = 0.02 / sqrt(lambda)``
    (about 0.18 at lambda = 0.013), so the gain is ``1 / s``.
    """
    return math.sqrt(lmbda) / 0.02


@dataclass(frozen=True)
class TrainConfig:
    """How to train one quality level.

    Attributes:
        lmbda: rate-distortion trade-off (CompressAI's MSE lambdas: 0.0018 ... 0.18).
        steps: optimizer steps in total (a resumed run continues to this count).
        patch: side of the square training crops in pixels (a multiple of 16).
        batch: crops per step.
        lr: peak learning rate, reached linearly over ``warmup_steps``, then cosine-decayed to
            ``lr * final_lr_ratio``.
        straight_through_fraction: the last fraction of the steps feeds the synthesis rounded
            latents (straight-through gradients) instead of noisy ones, so it learns the decoder's input.
        channels, latent_channels: the network's ``N`` and ``M``.
        seed: initialisation and crop sampling.
        klt_blocks: random 16x16 training blocks the KLT initialisation is computed from.
        checkpoint_every: steps between checkpoints.
    """

    lmbda: float = 0.013
    steps: int = 5000
    patch: int = 128
    batch: int = 8
    lr: float = 1e-3
    final_lr_ratio: float = 0.1
    warmup_steps: int = 100
    straight_through_fraction: float = 0.2
    channels: int = 32
    latent_channels: int = 96
    seed: int = 0
    klt_blocks: int = 20000
    checkpoint_every: int = 1000


def check_config(config: TrainConfig) -> None:
    """Refuse settings that cannot train (:class:`InvalidInputError` naming the flag)."""
    if not (config.lmbda > 0 and math.isfinite(config.lmbda)):
        raise InvalidInputError(f"--lambda must be positive, got {config.lmbda}")
    if not (config.lr > 0 and math.isfinite(config.lr)):
        raise InvalidInputError(f"--lr must be positive, got {config.lr}")
    for flag, value in (("--steps", config.steps), ("--batch", config.batch), ("--channels", config.channels)):
        if value < 1:
            raise InvalidInputError(f"{flag} must be at least 1, got {value}")
    if config.patch % STRIDE or config.patch < STRIDE:
        raise InvalidInputError(f"--patch must be a positive multiple of {STRIDE}, got {config.patch}")
    if not 1 <= config.latent_channels <= 3 * STRIDE * STRIDE:
        raise InvalidInputError(f"--latent-channels must be 1..{3 * STRIDE * STRIDE}, got {config.latent_channels}")


@dataclass(frozen=True)
class TrainProgress:
    """Reported after every step: running means over the last steps of ``bpp`` and ``psnr`` (dB)."""

    step: int
    total: int
    loss: float
    bpp: float
    psnr: float


def load_training_images(folder: Path, patch: int) -> list[torch.Tensor]:
    """Every image in ``folder`` as ``uint8 (3, H, W)``; images smaller than ``patch`` are skipped."""
    images = []
    for path in training_image_paths(folder):
        image = read_training_image(path)
        if min(image.shape[1:]) >= patch:
            images.append(image)
    if not images:
        raise InvalidInputError(f"no image of at least {patch}x{patch} pixels in {folder}")
    return images


def random_crops(images: list[torch.Tensor], patch: int, count: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` random ``patch x patch`` crops, each flipped left-right with probability 1/2: ``(count, 3, patch, patch)`` in ``[0, 1]``."""
    crops = []
    picks = torch.randint(len(images), (count,), generator=generator)
    for index in picks.tolist():
        image = images[index]
        top = int(torch.randint(image.shape[1] - patch + 1, (1,), generator=generator))
        left = int(torch.randint(image.shape[2] - patch + 1, (1,), generator=generator))
        crop = image[:, top : top + patch, left : left + patch]
        if torch.rand((), generator=generator) < 0.5:
            crop = crop.flip(-1)
        crops.append(crop)
    return torch.stack(crops).float() / 255.0


@torch.no_grad()
def init_linear_shortcut_(model: FactorizedAutoencoder, images: list[torch.Tensor], generator: torch.Generator,
                          gain: float, blocks: int = 20000) -> None:
    """Start the linear shortcuts as a KLT (PCA) transform coder of 16x16 blocks.

    The analysis shortcut projects each mean-removed block (768 values) on the top ``M``
    principal directions of ``blocks`` random training blocks, times ``gain`` (so the
    unit rounding step is ``1 / gain`` in pixel units; see :func:`shortcut_gain`); the
    synthesis shortcut is its transpose plus the mean. Training then starts from a working transform coder.
    """
    crops = random_crops(images, STRIDE, blocks, generator)
    vectors = crops.reshape(blocks, -1).double()
    mean = vectors.mean(dim=0)
    _, _, basis = torch.linalg.svd(vectors - mean, full_matrices=False)
    top = basis[: model.latent_channels].float()  # (M, 768), orthonormal rows
    model.a_skip.weight.copy_((top * gain)[:, :, None, None])
    model.a_skip.bias.copy_(-(top @ mean.float()) * gain)
    model.s_skip.weight.copy_((top.T / gain / SKIP_OUTPUT_SCALE)[:, :, None, None])
    model.s_skip.bias.copy_(mean.float() / SKIP_OUTPUT_SCALE)


def fit_density_(model: FactorizedAutoencoder, images: list[torch.Tensor], generator: torch.Generator,
                 patch: int, crops: int = 32, steps: int = 300, lr: float = 1e-2) -> None:
    """Fit the latent density to the initial transform's latents (rate term only).

    The density starts far wider than the latents; fitted first, the rate the transforms
    train against is right from the first step.
    """
    with torch.no_grad():
        y = model.analysis(random_crops(images, patch, crops, generator))
    optimizer = torch.optim.Adam(model.density.parameters(), lr=lr)
    for _ in range(steps):
        noisy = y + torch.rand(y.shape, generator=generator) - 0.5
        bits = -torch.log2(model.density.likelihood(noisy).clamp_min(LIKELIHOOD_BOUND)).mean()
        optimizer.zero_grad(set_to_none=True)
        bits.backward()
        optimizer.step()


def _recipe(config: dict) -> dict:
    """The settings that determine the trained weights (not how often checkpoints are written).

    Settings a checkpoint predates take their defaults.
    """
    return {k: v for k, v in {**asdict(TrainConfig()), **config}.items() if k != "checkpoint_every"}


def _fingerprint(model: FactorizedAutoencoder) -> str:
    """A short digest of a network's weights (identifies an ``--init`` model in checkpoints)."""
    digest = hashlib.sha256()
    for tensor in model.state_dict().values():
        digest.update(tensor.detach().float().numpy().tobytes())
    return digest.hexdigest()[:16]


def _read_checkpoint(path: Path) -> dict:
    try:
        state = torch.load(path, weights_only=True)
        if not isinstance(state, dict) or not {"config", "model", "optimizer", "generator", "torch_rng", "step"} <= set(state):
            raise ValueError("missing fields")
        return state
    except Exception as exc:  # torch reports bad files with assorted exception types
        raise InvalidInputError(f"{path} is not a training checkpoint ({exc.__class__.__name__}); remove it to start over") from None


def train_autoencoder(
    data: Path,
    config: TrainConfig,
    checkpoint: Path,
    progress: Callable[[TrainProgress], None] | None = None,
    init: FactorizedAutoencoder | None = None,
) -> FactorizedAutoencoder:
    """Train (or resume training) a :class:`FactorizedAutoencoder` on crops of ``data``.

    Args:
        data: folder of training images (e.g. BSDS300's 200 training images).
        config: the recipe; a checkpoint from a different recipe is refused.
        checkpoint: where checkpoints go; if it exists, training resumes from it.
        progress: called after every step.
        init: start from these weights instead of a fresh network (fine-tuning to another
            lambda); must have ``config``'s ``N`` and ``M``.

    Raises:
        InvalidInputError: bad settings, unreadable data, or a checkpoint from another recipe,
            data folder or starting model.

    Returns:
        the trained network (in eval mode).
    """
    check_config(config)
    images = load_training_images(data, config.patch)
    torch.manual_seed(config.seed)
    model = FactorizedAutoencoder(config.channels, config.latent_channels)
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    identity = {"data": data.resolve().name, "init": None if init is None else _fingerprint(init)}
    state = _read_checkpoint(checkpoint) if checkpoint.exists() else None
    if state is not None:
        if _recipe(state["config"]) != _recipe(asdict(config)) or state.get("identity", identity) != identity:
            raise InvalidInputError(
                f"checkpoint {checkpoint} was made with different settings or data; remove it to start over"
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        start = state["step"]
    else:
        if init is not None:
            if (init.channels, init.latent_channels) != (config.channels, config.latent_channels):
                raise InvalidInputError(
                    f"the starting model has N={init.channels}, M={init.latent_channels}; "
                    f"training asks for N={config.channels}, M={config.latent_channels}"
                )
            model.load_state_dict(init.state_dict())
        else:
            init_linear_shortcut_(model, images, generator, shortcut_gain(config.lmbda), config.klt_blocks)
            fit_density_(model, images, generator, config.patch)
        start = 0
    model.train()
    recent: list[tuple[float, float, float]] = []
    for step in range(start, config.steps):
        ratio = config.final_lr_ratio + (1 - config.final_lr_ratio) * 0.5 * (1 + math.cos(math.pi * step / config.steps))
        ratio *= min(1.0, (step + 1) / config.warmup_steps)
        for group in optimizer.param_groups:
            group["lr"] = config.lr * ratio
        batch = random_crops(images, config.patch, config.batch, generator)
        straight_through = step >= (1 - config.straight_through_fraction) * config.steps
        loss, bpp, mse = rate_distortion_loss(model(batch, straight_through), batch, config.lmbda)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        recent = (recent + [(loss.item(), bpp.item(), mse.item())])[-50:]
        if progress is not None:
            means = np.mean(recent, axis=0)
            progress(TrainProgress(step + 1, config.steps, means[0], means[1], -10 * math.log10(max(means[2], 1e-12))))
        if (step + 1) % config.checkpoint_every == 0 or step + 1 == config.steps:
            save_torch_atomic(
                checkpoint,
                {
                    "config": asdict(config),
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "generator": generator.get_state(),
                    "torch_rng": torch.get_rng_state(),
                    "step": step + 1,
                    "identity": identity,
                },
            )
    return model.eval()
