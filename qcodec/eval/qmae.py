"""The QMAE reproduction (Andrews & Mishra 2025): QMAE vs QAE on masked 16x16 MNIST.

:func:`run_qmae` does the whole experiment in one process:

1. MNIST (offline copies hold only the official 10,000-image *test* split) is split with
   the fixed seed :data:`SPLIT_SEED` into a training part and a held-out test part
   (:func:`qcodec.data.mnist.split_indices`); images are resized to 16x16 and scaled so
   that each image's brightest pixel is 1 (:func:`prepare_images`).
2. A classifier (:class:`~qcodec.eval.models.qmae.SmallResNet`) is trained on the clean 16x16
   training images.
3. QMAE (learnable mask token) and QAE (zeros in the patch) are trained with the same
   ansatz, initial angles, batches, masks, optimizer and steps; loss ``1 - F``.
4. Each test image gets one random patch (the same for both models); the models'
   reconstructions are read out of the exact output probabilities, rescaled to a
   brightest pixel of 1 (:func:`~qcodec.eval.models.qmae.probabilities_to_image`), and scored: fidelity ``F``,
   cosine similarity and SSIM against the clean image, and the classifier's accuracy.

Library code: nothing is printed; progress goes to a callback, results come back as
dataclasses (``to_json`` for the CLI and ``results.json``).
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import PIL.Image
import PIL.ImageDraw
import torch
import torch.nn.functional as F

from qcodec.data.mnist import load_mnist, split_indices
from qcodec.errors import InvalidInputError
from qcodec.eval.models.qmae import QMAE, READOUTS, SmallResNet, patch_grid, patch_shape, probabilities_to_image
from qcodec.threads import torch_threads

Tensor = torch.Tensor

Progress = Callable[[str, int, int], None]
"""``progress(phase, done, total)``; phases: ``classifier``, ``QMAE``, ``QAE``, ``evaluate``."""

SPLIT_SEED = 0
"""Seed of the train / test split of the 10,000 MNIST test images (fixed: every run, every --seed)."""

IMAGE_SIZE = 16
MASKS = (0.125, 0.25, 0.5)
GRID_MASK_GRAY = 0.3
"""Gray level that marks the masked patch in the image grid (the models see zeros or the token)."""


@dataclass(frozen=True)
class PaperRow:
    """One row of the paper's Table 1 (10,000 MNIST test images, 25 % mask)."""

    model: str
    fidelity: float
    cosine: float
    ssim: float
    accuracy: float


PAPER_TABLE1 = (PaperRow("QMAE", 0.734, 0.843, 0.446, 0.6506), PaperRow("QAE", 0.600, 0.799, 0.445, 0.5220))
"""Andrews & Mishra 2025, Table 1 (mask 25 %; their classifier: ResNet18, 99.33 % on clean 16x16 MNIST)."""

PAPER_CLASSIFIER_ACCURACY = 0.9933


@dataclass(frozen=True)
class QmaeConfig:
    """Settings of one run (defaults: the documented default run, about 10 minutes on 2 busy cores).

    Attributes:
        mask: fraction of the 16x16 image covered by the single masked patch (0.125, 0.25, 0.5).
        epochs: passes over the training images, for QMAE and for QAE each.
        train_size / test_size: images of the seeded split of the MNIST test set.
        batch_size: images per optimizer step (the paper's Algorithm 1 uses 1).
        lr: Adam learning rate (cosine-decayed to 0 over training).
        init_std: standard deviation of the initial ansatz angles.
        classifier_epochs: training epochs of the 16x16 classifier.
        seed: initial angles, batch order, training and test masks.
        threads: torch CPU threads during the run (``None``: leave torch's setting).
        readout: ``"probability"`` (``p / max p``) or ``"amplitude"`` (``sqrt(p) / max sqrt(p)``).
        grid_images: test images shown in the image grid.
        data_dir: local MNIST copy (``None``: download once into the cache).
    """

    mask: float = 0.25
    epochs: int = 10
    train_size: int = 8000
    test_size: int = 2000
    batch_size: int = 256
    lr: float = 0.05
    init_std: float = 0.1
    classifier_epochs: int = 4
    seed: int = 0
    threads: int | None = 1
    readout: str = "probability"
    grid_images: int = 10
    data_dir: Path | None = None

    def validate(self) -> None:
        """Raise :class:`InvalidInputError` for settings that cannot run."""
        checks = [
            (any(abs(self.mask - m) < 1e-9 for m in MASKS), f"--mask must be one of {', '.join(f'{m:g}' for m in MASKS)}, got {self.mask:g}"),
            (self.epochs >= 1 and self.classifier_epochs >= 0, "epochs must be at least 1"),
            (self.train_size >= 1 and self.test_size >= 1, "train and test sizes must be at least 1"),
            (self.train_size + self.test_size <= 10000, "train + test size must be at most 10,000 (the MNIST test split)"),
            (self.batch_size >= 1, "batch size must be at least 1"),
            (self.lr > 0 and self.init_std >= 0, "learning rate must be positive"),
            (self.threads is None or self.threads >= 1, "threads must be at least 1"),
            (self.grid_images >= 0, "grid images must be non-negative"),
            (self.readout in READOUTS, f"readout must be one of {', '.join(READOUTS)}, got {self.readout!r}"),
        ]
        for ok, message in checks:
            if not ok:
                raise InvalidInputError(message)


@dataclass
class Scores:
    """Mean test metrics of one set of reconstructions (``fidelity`` is ``None`` where undefined)."""

    name: str
    fidelity: float | None
    cosine: float
    ssim: float
    accuracy: float
    train_seconds: float = 0.0
    n_params: int = 0
    loss_per_epoch: list[float] = field(default_factory=list)


@dataclass
class QmaeReport:
    """Everything one run measured (``rows``: QMAE, QAE, then the masked input without a model)."""

    config: dict[str, Any]
    data: str
    split: str
    patch: tuple[int, int]
    classifier: str
    classifier_params: int
    classifier_accuracy: float
    rows: list[Scores]
    paper: list[PaperRow]
    paper_classifier_accuracy: float
    seconds: float
    threads: int

    def row(self, name: str) -> Scores:
        """The scores named ``name`` (``QMAE``, ``QAE``, ``masked input``)."""
        return next(r for r in self.rows if r.name == name)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return asdict(self)


@dataclass
class QmaeRun:
    """A finished run: the report, the trained models and the image grid (PNG bytes)."""

    report: QmaeReport
    qmae: QMAE
    qae: QMAE
    grid_png: bytes


# --------------------------------------------------------------------------- data
def prepare_images(images: Tensor, size: int = IMAGE_SIZE) -> Tensor:
    """``uint8 (N, 1, H, W)`` -> ``float32 (N, size, size)`` in ``[0, 1]``, brightest pixel 1.

    Antialiased bilinear resize (28x28 -> 16x16 for MNIST), then per-image max scaling:
    the scale of the read-out too, since states carry no overall scale.
    """
    x = images.to(torch.float32) / 255.0
    x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)[:, 0]
    x = x.clamp_min(0)
    return x / x.amax(dim=(1, 2), keepdim=True).clamp_min(1e-12)


def load_split(config: QmaeConfig) -> tuple[Tensor, Tensor, Tensor, Tensor, str, str]:
    """``(train_images, train_labels, test_images, test_labels, source, split description)``."""
    data = load_mnist("test", config.data_dir)
    n = data.images.shape[0]
    train_idx, test_idx = split_indices(n, config.test_size, SPLIT_SEED)
    train_idx = train_idx[: config.train_size]
    images = prepare_images(data.images)
    split = (f"official MNIST test split ({n:,} images) split with fixed seed {SPLIT_SEED}: "
             f"{len(train_idx):,} for training, {len(test_idx):,} held out for testing "
             "(no MNIST training split offline)")
    return images[train_idx], data.labels[train_idx], images[test_idx], data.labels[test_idx], data.source, split


def random_corners(n: int, patch: tuple[int, int], generator: torch.Generator) -> Tensor:
    """One random patch of the tiling per image: top-left corners ``(n, 2)`` (row, col)."""
    grid = patch_grid(IMAGE_SIZE, patch)
    return grid[torch.randint(len(grid), (n,), generator=generator)]


def patch_mask(corners: Tensor, patch: tuple[int, int], size: int = IMAGE_SIZE) -> Tensor:
    """Boolean ``(N, size, size)``: True inside the patch at ``corners (N, 2)`` (row, col)."""
    rows = torch.arange(size)[None, :, None]
    cols = torch.arange(size)[None, None, :]
    top, left = corners[:, 0, None, None], corners[:, 1, None, None]
    return (rows >= top) & (rows < top + patch[0]) & (cols >= left) & (cols < left + patch[1])


def zero_patch(images: Tensor, corners: Tensor, patch: tuple[int, int]) -> Tensor:
    """``images (N, s, s)`` with the patch at ``corners (N, 2)`` set to 0 (the QAE's input)."""
    return images.masked_fill(patch_mask(corners, patch, images.shape[-1]), 0.0)


# --------------------------------------------------------------------------- metrics
def cosine_similarity(a: Tensor, b: Tensor) -> Tensor:
    """Cosine similarity of flattened images ``(N, H, W) x2 -> (N,)``."""
    return F.cosine_similarity(a.flatten(1), b.flatten(1), dim=1, eps=1e-12)


def ssim(a: Tensor, b: Tensor, data_range: float = 1.0, window: int = 11, sigma: float = 1.5) -> Tensor:
    """SSIM (Wang et al. 2004) of ``(N, H, W)`` image pairs ``-> (N,)``.

    Gaussian window ``window`` x ``window``, ``sigma``, constants ``K1 = 0.01``, ``K2 = 0.03``,
    mean over the valid (unpadded) window positions: torchmetrics' defaults, which the
    paper used (a 6x6 map for 16x16 images).
    """
    coords = torch.arange(window, dtype=a.dtype) - (window - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    kernel = (g[:, None] * g[None, :])[None, None]
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    x, y = a[:, None], b[:, None]

    def blur(t: Tensor) -> Tensor:
        return F.conv2d(t, kernel)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return s.mean(dim=(1, 2, 3))


# --------------------------------------------------------------------------- training
def train_autoencoder(
    model: QMAE,
    images: Tensor,
    config: QmaeConfig,
    generator: torch.Generator,
    progress: Progress | None = None,
    phase: str = "QMAE",
) -> list[float]:
    """Minimise ``1 - F`` over random masked batches of ``images (N, s, s)``; returns the mean loss per epoch.

    Each step draws ``batch_size`` images (a fresh permutation per epoch) and one random
    patch per image, and evaluates the whole batch in one forward pass (no loop over images).
    """
    n = images.shape[0]
    steps_per_epoch = math.ceil(n / config.batch_size)
    total = config.epochs * steps_per_epoch
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, total)
    losses: list[float] = []
    step = 0
    for _ in range(config.epochs):
        order = torch.randperm(n, generator=generator)
        epoch_loss = 0.0
        for start in range(0, n, config.batch_size):
            batch = images[order[start : start + config.batch_size]]
            corners = random_corners(batch.shape[0], model.patch, generator)
            loss = 1.0 - model(batch, corners).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            epoch_loss += loss.item() * batch.shape[0]
            step += 1
            if progress is not None:
                progress(phase, step, total)
        losses.append(epoch_loss / n)
    return losses


def train_classifier(
    images: Tensor, labels: Tensor, epochs: int, generator: torch.Generator, progress: Progress | None = None,
    batch_size: int = 128, lr: float = 2e-3,
) -> SmallResNet:
    """Train :class:`SmallResNet` on clean ``images (N, 16, 16)`` with ``labels (N,)`` (Adam, cosine lr)."""
    model = SmallResNet()
    n = images.shape[0]
    steps = max(1, epochs * math.ceil(n / batch_size))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    model.train()
    step = 0
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            loss = F.cross_entropy(model(images[idx, None]), labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if progress is not None:
                progress("classifier", step, steps)
    return model.eval()


@torch.no_grad()
def predict(classifier: SmallResNet, images: Tensor, batch_size: int = 1000) -> Tensor:
    """Predicted labels ``(N,)`` for ``images (N, 16, 16)``."""
    classifier.eval()
    return torch.cat([classifier(images[i : i + batch_size, None]).argmax(1) for i in range(0, len(images), batch_size)])


@torch.no_grad()
def reconstruct(model: QMAE, images: Tensor, corners: Tensor, readout: str = "probability",
                batch_size: int = 1000) -> tuple[Tensor, Tensor]:
    """``(fidelity (N,), reconstruction (N, s, s))`` of the masked ``images`` (one unitary for all)."""
    rows = model.unitary_rows()
    fids, recs = [], []
    for i in range(0, len(images), batch_size):
        x, c = images[i : i + batch_size], corners[i : i + batch_size]
        filled = model.fill(x, c)
        fids.append(model.fidelity(filled, x, rows))
        recs.append(probabilities_to_image(model.output_probabilities(filled, rows), model.image_size, readout))
    return torch.cat(fids), torch.cat(recs)


def score(name: str, clean: Tensor, labels: Tensor, recon: Tensor, classifier: SmallResNet,
          fidelity: Tensor | None) -> Scores:
    """Mean metrics of reconstructions ``recon (N, s, s)`` against ``clean (N, s, s)``."""
    return Scores(
        name=name,
        fidelity=None if fidelity is None else float(fidelity.mean()),
        cosine=float(cosine_similarity(recon, clean).mean()),
        ssim=float(ssim(recon, clean).mean()),
        accuracy=float((predict(classifier, recon) == labels).float().mean()),
    )


# --------------------------------------------------------------------------- image grid
def image_grid(rows: list[tuple[str, Tensor]], scale: int = 4, gap: int = 2, label_width: int = 64) -> bytes:
    """PNG of labelled image rows: ``[(label, images (K, s, s) in [0, 1])]``, ``scale``x nearest upsampling."""
    k = max(r[1].shape[0] for r in rows) if rows else 0
    s = rows[0][1].shape[-1] * scale if rows else 0
    width = label_width + k * (s + gap) + gap
    height = len(rows) * (s + gap) + gap
    canvas = PIL.Image.new("L", (max(width, 1), max(height, 1)), 40)
    draw = PIL.ImageDraw.Draw(canvas)
    for r, (label, images) in enumerate(rows):
        y = gap + r * (s + gap)
        draw.text((4, y + s // 2 - 6), label, fill=255)
        for j, img in enumerate(images):
            pixels = (img.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
            tile = PIL.Image.fromarray(np.ascontiguousarray(pixels), "L").resize((s, s), PIL.Image.NEAREST)
            canvas.paste(tile, (label_width + gap + j * (s + gap), y))
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()


# --------------------------------------------------------------------------- the experiment
def run_qmae(config: QmaeConfig, progress: Progress | None = None) -> QmaeRun:
    """Run the whole experiment (see the module docstring) and return the report, models and grid.

    Raises:
        InvalidInputError: bad settings, or MNIST cannot be found / read / downloaded.
    """
    config.validate()
    start = time.perf_counter()
    with torch_threads(config.threads):
        threads = torch.get_num_threads()
        x_train, y_train, x_test, y_test, source, split = load_split(config)
        patch = patch_shape(IMAGE_SIZE, config.mask)

        torch.manual_seed(config.seed)
        classifier = train_classifier(x_train, y_train, config.classifier_epochs,
                                      torch.Generator().manual_seed(config.seed), progress)
        clean_accuracy = float((predict(classifier, x_test) == y_test).float().mean())

        test_corners = random_corners(len(x_test), patch, torch.Generator().manual_seed(config.seed + 1))
        models: dict[str, QMAE] = {}
        rows: list[Scores] = []
        recons: dict[str, Tensor] = {}
        for name, token in (("QMAE", True), ("QAE", False)):
            model = QMAE(n_qubits=8, patch=patch, mask_token=token)
            model.init_parameters(config.init_std, torch.Generator().manual_seed(config.seed))
            t0 = time.perf_counter()
            losses = train_autoencoder(model, x_train, config, torch.Generator().manual_seed(config.seed + 2),
                                       progress, name)
            seconds = time.perf_counter() - t0
            if progress is not None:
                progress("evaluate", len(rows), 3)
            fid, recon = reconstruct(model, x_test, test_corners, config.readout)
            scores = score(name, x_test, y_test, recon, classifier, fid)
            scores.train_seconds, scores.n_params, scores.loss_per_epoch = seconds, model.n_params, losses
            models[name], recons[name] = model.eval(), recon
            rows.append(scores)
        masked = zero_patch(x_test, test_corners, patch)
        masked_fid = cosine_similarity(masked, x_test).square()  # |<x_m|x>|^2 of the normalised states
        rows.append(score("masked input", x_test, y_test, masked, classifier, masked_fid))
        if progress is not None:
            progress("evaluate", 3, 3)

        k = min(config.grid_images, len(x_test))
        shown = masked[:k] + GRID_MASK_GRAY * patch_mask(test_corners[:k], patch)  # make the patch visible
        grid = image_grid([("original", x_test[:k]), ("masked", shown), ("QAE", recons["QAE"][:k]),
                           ("QMAE", recons["QMAE"][:k])])
    report = QmaeReport(
        config={k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
        data=source, split=split, patch=patch,
        classifier="SmallResNet (ResNet-8, widths 16/32/64, no max-pool) trained here on the clean 16x16 training part",
        classifier_params=sum(p.numel() for p in classifier.parameters()),
        classifier_accuracy=clean_accuracy, rows=rows, paper=list(PAPER_TABLE1),
        paper_classifier_accuracy=PAPER_CLASSIFIER_ACCURACY, seconds=time.perf_counter() - start, threads=threads,
    )
    return QmaeRun(report, models["QMAE"], models["QAE"], grid)
