"""The QIANets reproduction (Magongo et al. 2024): train, compress, fine-tune, measure.

:func:`run_qianets` trains (or loads) a CIFAR classifier, derives six networks from it and
measures every one the same way, in the same process:

=======================  ========================================================================
variant                  what it is
=======================  ========================================================================
``baseline``             the trained, unpruned network
``qianets-paper``        the paper's recipe in weight space: QAOA-inspired unstructured pruning
                         (alpha, P_entangle, S stages, fine-tuning between stages), then every conv
                         weight replaced by its rank-r SVD and then by an annealed rank-r ``W1 W2``
                         fit, *reshaped back* to the original conv (as the paper describes), pruning
                         masks re-applied, fine-tuned. Same dense architecture as the baseline.
``magnitude``            baseline for it: ``torch.nn.utils.prune.l1_unstructured`` removing exactly
                         as many weights per layer as ``qianets-paper`` ended with, same fine-tuning
``qianets-fast``         ours, built for real latency: QAOA-inspired *channel* pruning (same rule on
                         filter L1 norms, entanglement to neighbouring channels, S stages with
                         fine-tuning), channels physically removed, then every conv where rank r saves
                         >= 25 % of weights run as two convs (k x k -> r, 1 x 1 -> C_out) with factors
                         from the annealed L-BFGS fit, fine-tuned
``magnitude-channels``   baseline for it: ``torch.nn.utils.prune.ln_structured`` (L1) removing the same
                         channel counts per layer, the same convs factored by plain truncated SVD,
                         same fine-tuning -> exactly the same architecture as ``qianets-fast``
``svd``                  plain truncated SVD (two-conv form, rank r) of the baseline, no fine-tuning
=======================  ========================================================================

Every variant gets the same fine-tuning budget (``finetune_epochs`` of optimizer steps);
staged variants spend it in equal chunks after each stage. Library code: nothing is
printed; progress goes to a callback and results come back as dataclasses.
"""

from __future__ import annotations

import copy
import math
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import prune

from qcodec.data.cifar10 import CLASSES, load_cifar10, normalize
from qcodec.data.files import save_torch_atomic, write_bytes_atomic
from qcodec.errors import InvalidInputError
from qcodec.eval.models.cifar import CIFAR_MODELS, build_cifar_model
from qcodec.netcompress import (
    apply_masks_,
    count_flops,
    count_params,
    dense_state_bytes,
    factorize_convs_,
    low_rank_reconstruct_,
    magnitude_channel_prune_,
    mask_sparsity,
    measure_latency,
    prunable_weights,
    qaoa_channel_prune_,
    qaoa_prune_,
    remove_channels_,
    remove_pruning_reparametrization_,
    sparse_state_bytes,
)
from qcodec.netcompress.latency import LatencyStats
from qcodec.netcompress.low_rank import FactorReport
from qcodec.threads import torch_threads

Progress = Callable[[str, int, int], None]
"""``progress(phase, done, total)``: called as work advances (phase names are stable strings)."""

CHECKPOINT_FORMAT = "qcodec-cifar-classifier"


@dataclass(frozen=True)
class ModelDefaults:
    """Per-model defaults: width multiplier, and the paper's rank and layer sparsity where it gives them."""

    width: float
    rank: int
    sparsity: float


MODEL_DEFAULTS: dict[str, ModelDefaults] = {
    # Paper: ResNet-18 "layer sparsity of approximately 0.3779", "rank of 10" (section 4.3.3).
    "resnet18": ModelDefaults(width=0.25, rank=10, sparsity=0.3779),
    # Paper: GoogLeNet "layer sparsity of 0.1417", "rank of 4" (section 4.3.1).
    "googlenet": ModelDefaults(width=0.125, rank=4, sparsity=0.1417),
    # Paper: DenseNet "layer sparsity of approximately 0.3779" (section 4.3.2); no rank given.
    "densenet": ModelDefaults(width=0.125, rank=10, sparsity=0.3779),
}


@dataclass(frozen=True)
class PaperRow:
    """One row of the paper's Table 1 (accuracies as fractions, latencies in seconds per image)."""

    model: str
    base_accuracy: float
    base_latency: float
    new_accuracy: float
    new_latency: float
    compression_ratio: str


PAPER_TABLE1: tuple[PaperRow, ...] = (
    PaperRow("GoogLeNet", 0.94, 0.00096, 0.86, 0.00083, "1:0.52"),
    PaperRow("ResNet-18", 0.93, 0.000011, 0.87, 0.00007, "1:0.61"),
    PaperRow("DenseNet", 0.94, 0.000050, 0.88, 0.00042, "1:0.56"),
)
"""Table 1 of the paper, as printed (NVIDIA A40, 224x224 inputs, full CIFAR-10; see docs/eval-qianets.md
for its internal inconsistencies, e.g. ResNet-18's base latency 0.000011 here vs 0.00011 s in section 4.3.3)."""

PAPER_NAME = {"resnet18": "ResNet-18", "googlenet": "GoogLeNet", "densenet": "DenseNet"}


@dataclass(frozen=True)
class QianetsConfig:
    """Settings of one run; ``None`` fields take the per-model value of :data:`MODEL_DEFAULTS`.

    Attributes:
        model: ``resnet18``, ``densenet`` or ``googlenet``.
        width: channel width multiplier.
        data_dir: local CIFAR-10 copy (see :func:`qcodec.data.cifar10.load_cifar10`); ``None`` downloads.
        train_per_class / test_per_class: images per class used for training / testing.
        epochs: baseline training epochs (ignored with ``checkpoint``).
        finetune_epochs: fine-tuning budget of every compressed variant, in epochs of the training set.
        batch_size: training batch size.
        lr / finetune_lr: Adam learning rates (cosine-decayed to 0 within each training call).
        weight_decay: Adam's L2 weight decay (the paper's 1e-4).
        sparsity: QIANets layer sparsity ``alpha`` (threshold part; entanglement adds to it).
        p_entangle: neighbour pruning probability.
        stages: pruning stages.
        rank: rank ``r`` of the decomposition / factorization.
        latency_repeats: timed calls per model at batch 1 and at batch 256.
        threads: torch intra-op threads for the whole run.
        seed: seeds initialisation, data order, augmentation and pruning draws.
        checkpoint: a baseline saved by an earlier run (``<out>/baseline.pt``) instead of training.
        out_dir: where to write checkpoints and ``results.json`` (``None``: nothing written).
    """

    model: str = "resnet18"
    width: float | None = None
    data_dir: Path | None = None
    train_per_class: int = 1000
    test_per_class: int = 200
    epochs: float = 5.0
    finetune_epochs: float = 1.0
    batch_size: int = 128
    lr: float = 2e-3
    finetune_lr: float = 5e-4
    weight_decay: float = 1e-4
    sparsity: float | None = None
    p_entangle: float = 0.5
    stages: int = 3
    rank: int | None = None
    latency_repeats: tuple[int, int] = (60, 5)
    threads: int = 1
    seed: int = 0
    checkpoint: Path | None = None
    out_dir: Path | None = None

    def resolved(self) -> QianetsConfig:
        """This config with per-model defaults filled in and every value checked.

        Raises:
            InvalidInputError: an unknown model or an out-of-range value.
        """
        if self.model not in CIFAR_MODELS:
            raise InvalidInputError(f"unknown model {self.model!r}; choose one of {', '.join(CIFAR_MODELS)}")
        d = MODEL_DEFAULTS[self.model]
        c = replace(
            self, width=self.width if self.width is not None else d.width, rank=self.rank if self.rank is not None else d.rank,
            sparsity=self.sparsity if self.sparsity is not None else d.sparsity,
        )
        checks = [
            (c.width > 0, "--width must be positive"),
            (0 <= c.sparsity < 1, "--sparsity must be in [0, 1)"),
            (0 <= c.p_entangle <= 1, "--p-entangle must be in [0, 1]"),
            (c.stages >= 1, "--stages must be at least 1"),
            (c.rank >= 1, "--rank must be at least 1"),
            (c.epochs >= 0 and c.finetune_epochs >= 0, "epochs cannot be negative"),
            (c.train_per_class >= 1 and c.test_per_class >= 1, "need at least one image per class"),
            (c.batch_size >= 1 and c.threads >= 1, "--batch-size and --threads must be at least 1"),
            (min(c.latency_repeats) >= 1, "latency repeats must be at least 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise InvalidInputError(message)
        return c


@dataclass
class VariantResult:
    """Measurements of one network (accuracies are fractions of the test images).

    Attributes:
        name / description: the variant (see the module docstring).
        accuracy: test accuracy after its fine-tuning.
        accuracy_before_finetune: test accuracy right after its last compression step, before the
            fine-tuning that follows it (``None`` for the baseline).
        params_total / params_nonzero: parameter counts.
        weight_sparsity: fraction of zero weights in the prunable (conv) weights of this network.
        size_bytes: ``torch.save(state_dict)`` size; ``sparse_size_bytes``: bitmask + non-zero values.
        flops / nonzero_flops: per image (see :mod:`qcodec.netcompress.flops`).
        latency_b1 / latency_b256: round-robin timing at batch 1 and 256.
        finetune_seconds: wall time spent fine-tuning (training, for the baseline).
        dense_kernels: True when zeros are still multiplied (unstructured sparsity on dense convs).
    """

    name: str
    description: str
    accuracy: float
    accuracy_before_finetune: float | None
    params_total: int
    params_nonzero: int
    weight_sparsity: float
    size_bytes: int
    sparse_size_bytes: int
    flops: int
    nonzero_flops: int
    latency_b1: LatencyStats | None = None
    latency_b256: LatencyStats | None = None
    finetune_seconds: float = 0.0
    dense_kernels: bool = False


@dataclass
class QianetsReport:
    """Everything a run measured (``to_json()`` gives plain JSON)."""

    config: QianetsConfig
    dataset: dict[str, Any]
    variants: list[VariantResult]
    pruning: dict[str, Any]
    factorization: dict[str, Any]
    paper: PaperRow
    phase_seconds: dict[str, float]
    environment: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def variant(self, name: str) -> VariantResult:
        """The variant called ``name``."""
        return next(v for v in self.variants if v.name == name)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready dicts (paths as strings, latencies with ``per_image``)."""
        data = asdict(self)
        data["config"] = {k: str(v) if isinstance(v, Path) else v for k, v in data["config"].items()}
        for record, variant in zip(data["variants"], self.variants):
            for key in ("latency_b1", "latency_b256"):
                stats = getattr(variant, key)
                if stats is not None:
                    record[key]["per_image"] = stats.per_image
        return data


# -- training -----------------------------------------------------------------------------


def _augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random crop (pad 4) and horizontal flip of ``(B, 3, 32, 32)`` float images."""
    b, _, h, w = batch.shape
    padded = F.pad(batch, (4, 4, 4, 4))
    offsets = torch.randint(0, 9, (b, 2), generator=generator).tolist()
    crops = torch.stack([padded[i, :, y : y + h, x : x + w] for i, (y, x) in enumerate(offsets)])
    flip = torch.rand(b, generator=generator) < 0.5
    return torch.where(flip.view(b, 1, 1, 1), crops.flip(3), crops)


def train_classifier(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    epochs: float,
    lr: float,
    weight_decay: float = 1e-4,
    batch_size: int = 128,
    seed: int = 0,
    after_step: Callable[[], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> float:
    """Train ``model`` on ``images (N, 3, 32, 32) uint8`` / ``labels (N,)`` with Adam and cross-entropy.

    ``round(epochs * ceil(N / batch_size))`` steps, learning rate cosine-decayed from ``lr`` to 0,
    random crop + flip augmentation, NCHW memory layout. ``after_step`` runs after every
    optimizer step (to re-apply pruning masks). Returns the wall time in seconds.

    Not channels-last: in torch 2.13 on AVX2-only CPUs, oneDNN's channels-last backward of a
    strided 1x1 convolution (the ResNet shortcuts) crashes or hangs the process.
    """
    steps = int(round(epochs * math.ceil(images.shape[0] / batch_size)))
    if steps <= 0:
        return 0.0
    start = time.perf_counter()
    generator = torch.Generator().manual_seed(seed)
    model.train()
    model.to(memory_format=torch.contiguous_format)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    order = torch.randperm(images.shape[0], generator=generator)
    cursor = 0
    for step in range(steps):
        if cursor + batch_size > order.numel():
            order, cursor = torch.randperm(images.shape[0], generator=generator), 0
        index = order[cursor : cursor + batch_size]
        cursor += batch_size
        x = _augment(normalize(images[index]), generator).contiguous()
        loss = F.cross_entropy(model(x), labels[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if after_step is not None:
            after_step()
        if progress is not None:
            progress(step + 1, steps)
    model.eval()
    return time.perf_counter() - start


def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 500) -> float:
    """Top-1 accuracy (fraction) of ``model`` on ``images (N, 3, 32, 32) uint8``."""
    model.eval()
    correct = 0
    with torch.inference_mode():
        for i in range(0, images.shape[0], batch_size):
            x = normalize(images[i : i + batch_size])
            correct += int((model(x).argmax(1) == labels[i : i + batch_size]).sum())
    return correct / max(1, images.shape[0])


# -- checkpoints ---------------------------------------------------------------------------


def save_checkpoint(path: Path, model: nn.Module, name: str, width: float, extra: dict[str, Any]) -> None:
    """Write a trained classifier with what is needed to rebuild it."""
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_torch_atomic(path, {"format": CHECKPOINT_FORMAT, "version": 1, "model": name, "width": width, "state_dict": state, **extra})


def load_checkpoint(path: Path, name: str) -> tuple[nn.Module, float]:
    """Rebuild the classifier saved by :func:`save_checkpoint`; returns ``(model, width)``.

    Raises:
        InvalidInputError: missing file, not a qcodec checkpoint, or a different model.
    """
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError) as exc:
        raise InvalidInputError(f"cannot read checkpoint {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise InvalidInputError(f"{path} is not a qcodec classifier checkpoint")
    if data["model"] != name:
        raise InvalidInputError(f"{path} holds a {data['model']} model, not {name}")
    model = build_cifar_model(name, float(data["width"]))
    try:
        model.load_state_dict(data["state_dict"])
    except RuntimeError as exc:
        raise InvalidInputError(f"checkpoint {path} does not fit {name}: {exc}") from None
    return model.eval(), float(data["width"])


# -- the experiment -------------------------------------------------------------------------


def _conv_weights(model: nn.Module) -> dict[str, nn.Parameter]:
    return prunable_weights(model, (nn.Conv2d,))


def _measure(
    name: str, description: str, model: nn.Module, accuracy: float, before: float | None, seconds: float, dense_kernels: bool
) -> VariantResult:
    params = count_params(model)
    flops = count_flops(model)
    weights = list(_conv_weights(model).values())
    total = sum(w.numel() for w in weights)
    zeros = sum(int((w == 0).sum()) for w in weights)
    return VariantResult(
        name, description, accuracy, before, params.total, params.nonzero, zeros / total if total else 0.0,
        len(dense_state_bytes(model)), len(sparse_state_bytes(model)), flops.flops, flops.nonzero_flops,
        finetune_seconds=seconds, dense_kernels=dense_kernels,
    )


def run_qianets(config: QianetsConfig, progress: Progress | None = None) -> QianetsReport:
    """Run the whole reproduction (see the module docstring) and return its measurements.

    Raises:
        InvalidInputError: bad settings, unreadable data or checkpoint.
    """
    c = config.resolved()
    report_progress: Progress = progress or (lambda phase, done, total: None)
    with torch_threads(c.threads):
        return _run(c, report_progress)


def _run(c: QianetsConfig, progress: Progress) -> QianetsReport:
    phases: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        phases[name] = phases.get(name, 0.0) + now - clock
        clock = now

    progress("data", 0, 2)
    train = load_cifar10("train", c.data_dir, c.train_per_class)
    progress("data", 1, 2)
    test = load_cifar10("test", c.data_dir, c.test_per_class)
    progress("data", 2, 2)
    lap("data")

    def finetune(model: nn.Module, epochs: float, seed: int, after: Callable[[], None] | None, phase: str) -> float:
        return train_classifier(
            model, train.images, train.labels, epochs, c.finetune_lr, c.weight_decay, c.batch_size, seed, after,
            lambda done, total: progress(phase, done, total),
        )

    torch.manual_seed(c.seed)
    if c.checkpoint is not None:
        base, width = load_checkpoint(c.checkpoint, c.model)
        c = replace(c, width=width)
        base_seconds = 0.0
    else:
        base = build_cifar_model(c.model, c.width)
        base_seconds = train_classifier(
            base, train.images, train.labels, c.epochs, c.lr, c.weight_decay, c.batch_size, c.seed, None,
            lambda done, total: progress("train baseline", done, total),
        )
    base = base.to(memory_format=torch.contiguous_format).eval()
    if c.out_dir is not None and c.checkpoint is None:
        c.out_dir.mkdir(parents=True, exist_ok=True)
        save_checkpoint(c.out_dir / "baseline.pt", base, c.model, c.width, {"epochs": c.epochs, "seed": c.seed})
    base_acc = evaluate(base, test.images, test.labels)
    lap("baseline")
    results = [_measure("baseline", "trained, unpruned", base, base_acc, None, base_seconds, False)]
    models: dict[str, nn.Module] = {"baseline": base}

    # qianets-paper: staged unstructured QAOA pruning -> SVD -> annealing, reshaped back; masks kept.
    paper = copy.deepcopy(base)
    generator = torch.Generator().manual_seed(c.seed + 1)
    chunk = c.finetune_epochs / c.stages
    state = {"seconds": 0.0, "before": None, "factor": []}
    paper_params = _conv_weights(paper)

    def paper_stage(stage: int, masks: dict[str, torch.Tensor]) -> None:
        if stage == c.stages:
            state["factor"] += low_rank_reconstruct_(paper, c.rank, "svd")
            state["factor"] += low_rank_reconstruct_(paper, c.rank, "anneal", generator)
            apply_masks_(paper_params, masks)
            state["before"] = evaluate(paper, test.images, test.labels)
        state["seconds"] += finetune(paper, chunk, c.seed + 10 + stage, lambda: apply_masks_(paper_params, masks), "fine-tune qianets-paper")

    paper_masks = qaoa_prune_(paper, c.sparsity, c.p_entangle, c.stages, generator, paper_stage, (nn.Conv2d,))
    paper_acc = evaluate(paper, test.images, test.labels)
    results.append(_measure(
        "qianets-paper", f"QAOA prune a={c.sparsity:g} P_ent={c.p_entangle:g} x{c.stages} + SVD/anneal r={c.rank} (reshaped back)",
        paper, paper_acc, state["before"], state["seconds"], True,
    ))
    models["qianets-paper"] = paper
    lap("qianets-paper")

    # magnitude: torch l1_unstructured at the same per-layer sparsity.
    magnitude = copy.deepcopy(base)
    modules = dict(magnitude.named_modules())
    for name, mask in paper_masks.items():
        prune.l1_unstructured(modules[name.rsplit(".", 1)[0]], "weight", amount=int((~mask).sum()))
    magnitude_before = evaluate(magnitude, test.images, test.labels)
    seconds = finetune(magnitude, c.finetune_epochs, c.seed + 20, None, "fine-tune magnitude")
    remove_pruning_reparametrization_(magnitude)
    results.append(_measure(
        "magnitude", "torch l1_unstructured, same per-layer sparsity", magnitude,
        evaluate(magnitude, test.images, test.labels), magnitude_before, seconds, True,
    ))
    models["magnitude"] = magnitude
    lap("magnitude")

    # qianets-fast: staged QAOA channel pruning -> remove channels -> annealed low-rank two-conv -> fine-tune.
    fast = copy.deepcopy(base)
    pairs = fast.channel_pairs()
    generator = torch.Generator().manual_seed(c.seed + 2)
    chunk = c.finetune_epochs / (c.stages + 1)
    fast_state: dict[str, Any] = {"seconds": 0.0}

    def fast_stage(stage: int, masks: dict[str, torch.Tensor]) -> None:
        named = dict(fast.named_parameters())
        fast_state["seconds"] += finetune(fast, chunk, c.seed + 30 + stage, lambda: apply_masks_(named, masks), "fine-tune qianets-fast")

    keep = qaoa_channel_prune_(fast, pairs, c.sparsity, c.p_entangle, c.stages, generator, fast_stage)
    channel_sizes = remove_channels_(fast, pairs, keep)
    fast_factors = factorize_convs_(fast, c.rank, "anneal", generator=generator)
    fast_before = evaluate(fast, test.images, test.labels)
    fast_state["seconds"] += finetune(fast, chunk, c.seed + 39, None, "fine-tune qianets-fast")
    results.append(_measure(
        "qianets-fast", f"QAOA channel prune a={c.sparsity:g} P_ent={c.p_entangle:g} x{c.stages}, removed; anneal low-rank r={c.rank} as 2 convs",
        fast, evaluate(fast, test.images, test.labels), fast_before, fast_state["seconds"], False,
    ))
    models["qianets-fast"] = fast
    lap("qianets-fast")

    # magnitude-channels: torch ln_structured, same channel counts, same convs factored by SVD.
    mag_ch = copy.deepcopy(base)
    pairs = mag_ch.channel_pairs()
    amounts = {p: before - after for p, (before, after) in channel_sizes.items()}
    keep_mag = magnitude_channel_prune_(mag_ch, pairs, amounts)
    remove_pruning_reparametrization_(mag_ch)
    remove_channels_(mag_ch, pairs, keep_mag)
    factored = {r.name for r in fast_factors}
    skip = tuple(n for n, m in mag_ch.named_modules() if isinstance(m, nn.Conv2d) and n not in factored)
    factorize_convs_(mag_ch, c.rank, "svd", max_ratio=1.0, skip=skip)
    mag_ch_before = evaluate(mag_ch, test.images, test.labels)
    seconds = finetune(mag_ch, c.finetune_epochs, c.seed + 40, None, "fine-tune magnitude-channels")
    results.append(_measure(
        "magnitude-channels", "torch ln_structured (L1), same channel counts; same convs SVD-factored",
        mag_ch, evaluate(mag_ch, test.images, test.labels), mag_ch_before, seconds, False,
    ))
    models["magnitude-channels"] = mag_ch
    lap("magnitude-channels")

    # svd: plain truncated SVD of the baseline in two-conv form, no fine-tuning.
    svd = copy.deepcopy(base)
    factorize_convs_(svd, c.rank, "svd")
    svd_acc = evaluate(svd, test.images, test.labels)
    results.append(_measure("svd", f"truncated SVD r={c.rank} as 2 convs, no fine-tuning", svd, svd_acc, svd_acc, 0.0, False))
    models["svd"] = svd
    lap("svd")

    for model in models.values():
        model.to(memory_format=torch.contiguous_format).eval()
    repeats = {1: c.latency_repeats[0], 256: c.latency_repeats[1]}
    latency = measure_latency(models, (1, 256), repeats, warmup={1: 20, 256: 1}, seed=c.seed, progress=lambda d, t: progress("latency", d, t))
    for result in results:
        result.latency_b1, result.latency_b256 = latency[result.name][1], latency[result.name][256]
    lap("latency")

    if c.out_dir is not None:
        c.out_dir.mkdir(parents=True, exist_ok=True)
        for name, model in models.items():
            if name != "baseline":
                write_bytes_atomic(c.out_dir / f"{name}.pt", dense_state_bytes(model))
            write_bytes_atomic(c.out_dir / f"{name}.sparse.npz", sparse_state_bytes(model))

    realized = mask_sparsity(paper_masks)
    removed = sum(b - a for b, a in channel_sizes.values())
    channels = sum(b for b, _ in channel_sizes.values())
    return QianetsReport(
        config=c,
        dataset={
            "train": train.source, "test": test.source, "train_images": int(train.labels.numel()),
            "test_images": int(test.labels.numel()), "classes": list(CLASSES), "input": "32x32 RGB",
        },
        variants=results,
        pruning={
            "alpha": c.sparsity, "p_entangle": c.p_entangle, "stages": c.stages,
            "weight_sparsity_realized": realized, "channels_total": channels, "channels_removed": removed,
            "channel_sparsity_realized": removed / channels if channels else 0.0,
        },
        factorization=_factor_summary(fast_factors, c.rank),
        paper=next(row for row in PAPER_TABLE1 if row.model == PAPER_NAME[c.model]),
        phase_seconds=phases,
        environment={
            "torch": torch.__version__, "threads": c.threads, "python": platform.python_version(),
            "machine": platform.machine(), "processor": platform.processor() or "unknown",
        },
        notes=[
            "accuracy_before_finetune: right after the last compression step, before the fine-tuning that follows it "
            "(staged variants have already spent part of their budget by then)",
            "qianets-paper and magnitude run dense kernels on zeroed weights: same FLOPs and latency as the baseline by construction",
            f"latency: round-robin medians, {c.threads} thread(s), same process; FLOPs count conv + linear only",
            "32x32 inputs, a width-scaled network and a short schedule: accuracies are far below the paper's full-size 224x224 runs",
        ],
    )


def _factor_summary(reports: list[FactorReport], rank: int) -> dict[str, Any]:
    """Annealed vs optimal (SVD) relative squared errors over every annealed factorization."""
    if not reports:
        return {"rank": rank, "layers": 0}
    gaps = [r.error - r.optimal_error for r in reports]
    return {
        "rank": rank,
        "layers": len(reports),
        "mean_error": sum(r.error for r in reports) / len(reports),
        "mean_optimal_error": sum(r.optimal_error for r in reports) / len(reports),
        "max_gap": max(gaps),
        "factored_params": sum(r.factored_params for r in reports),
        "dense_params": sum(r.dense_params for r in reports),
    }
