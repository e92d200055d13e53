"""Image classification with hybrid quantum networks: Senokosov et al. 2024, reproduced.

:func:`run_classify` trains one model (HQNN-Parallel, HQNN-Quanv or a classical baseline)
on one data set, ``repeats`` times with seeds ``seed, seed + 1, ...``, and returns a
:class:`ClassifyResult` (per-epoch history, parameter counts, timings, and the paper's
figures for the same setting). :func:`run_compare` runs a hybrid model and its classical
counterparts on the same data. :func:`write_outputs` writes ``results.json``, ``table.md``
and ``curves.png``. Nothing here prints.

Defaults (:data:`PRESETS`) keep a run within minutes on a 2-core CPU; they train on a
subset (MNIST: 8,000 images for 5 epochs) where the paper trains on everything. Offline,
MNIST is only the official 10,000-image test split: it is split once with the fixed seed
:data:`SPLIT_SEED` into a training pool and a held-out part, and every result says so.
"""

from __future__ import annotations

import io
import json
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from qcodec.data import cifar10, medmnist, mnist
from qcodec.data.files import write_bytes_atomic
from qcodec.errors import InvalidInputError
from qcodec.eval.models import hqnn, quanv
from qcodec.threads import torch_threads

DATASETS: tuple[str, ...] = ("mnist", "cifar10", "medmnist")
SPLIT_SEED = 0
"""Seed of every train / held-out split made here (MNIST test split offline, Medical MNIST)."""
MNIST_HELD_OUT = 2000
"""Images of the offline MNIST test split held out for testing; the other 8,000 are the training pool."""
MEDMNIST_HELD_OUT = 0.2
"""Fraction of Medical MNIST held out for testing (the paper's split: 11,791 of 58,954)."""


@dataclass(frozen=True)
class ModelInfo:
    """A ``--model`` choice: its family (``"parallel"`` or ``"quanv"``), whether it is hybrid, and a label."""

    family: str
    hybrid: bool
    label: str


MODELS: dict[str, ModelInfo] = {
    "hqnn-parallel": ModelInfo("parallel", True, "HQNN-Parallel (q=5, i=3, c=4)"),
    "cnn": ModelInfo("parallel", False, "CNN counterpart (PQCs -> dense 20x20)"),
    "cnn-big": ModelInfo("parallel", False, "bigger CNN (counterpart, n=201)"),
    "hqnn-quanv": ModelInfo("quanv", True, "HQNN-Quanv (2x2 quanvolution)"),
    "cnn4": ModelInfo("quanv", False, "CNN4 (four 2x2 filters)"),
    "cnn1": ModelInfo("quanv", False, "CNN1 (one 2x2 filter)"),
}
COMPARE: dict[str, tuple[str, ...]] = {
    "parallel": ("hqnn-parallel", "cnn", "cnn-big"),
    "quanv": ("hqnn-quanv", "cnn4", "cnn1"),
}
"""What ``--compare`` runs for a model of each family, hybrid first."""


@dataclass(frozen=True)
class Preset:
    """Default training settings of a model family on a data set (``test_size=None``: all held-out images)."""

    epochs: int
    batch_size: int
    train_size: int
    test_size: int | None
    lr: float
    repeats: int


PRESETS: dict[tuple[str, str], Preset] = {
    ("parallel", "mnist"): Preset(5, 64, 8000, None, 3e-3, 1),
    ("parallel", "cifar10"): Preset(5, 64, 5000, 2000, 3e-3, 1),
    ("parallel", "medmnist"): Preset(3, 64, 4800, None, 3e-3, 1),
    ("quanv", "mnist"): Preset(20, 25, 500, 100, 1e-3, 10),
    ("quanv", "cifar10"): Preset(20, 25, 500, 100, 1e-3, 5),
    ("quanv", "medmnist"): Preset(20, 25, 500, 100, 1e-3, 5),
}
"""Settings for a few minutes on a 2-core CPU. HQNN-Quanv on MNIST: the paper's 500/100 images, 20 epochs, 10 seeds."""

INPUTS: dict[str, hqnn.InputSpec] = {
    "mnist": hqnn.MNIST_INPUT, "cifar10": hqnn.CIFAR10_INPUT, "medmnist": hqnn.MEDMNIST_INPUT,
}
QUANV_SIZES: dict[str, int] = {"mnist": quanv.QUANV_SIZE, "cifar10": 16, "medmnist": 16}
"""Side the quanvolutional models downscale each data set to (the paper: MNIST 28 -> 14)."""


@dataclass(frozen=True)
class PaperFigures:
    """What the paper reports for a model on a data set. Accuracies in percent; ``None`` = not given."""

    test_acc: float
    test_acc_std: float | None
    test_loss: float | None
    train_loss: float | None
    params: int | None
    source: str


PAPER: dict[tuple[str, str], PaperFigures] = {
    ("mnist", "hqnn-parallel"): PaperFigures(99.21, None, 0.0274, 0.0204, 45_194, "Table 1; 60,000 training images"),
    ("mnist", "cnn-big"): PaperFigures(98.71, None, 0.0449, 0.0205, 372_234, "Table 1 'CNN'; 60,000 training images"),
    ("medmnist", "hqnn-parallel"): PaperFigures(99.97, None, 0.00332, 0.00429, 247_462,
                                                "Sec. 2.2.4 / Fig. 6 (Table 1's accuracy column repeats CIFAR-10's)"),
    ("medmnist", "cnn"): PaperFigures(99.96, None, 0.00396, 0.00456, 247_642,
                                      "Sec. 2.2.4 / Fig. 6 (Table 1's accuracy column repeats CIFAR-10's)"),
    ("cifar10", "hqnn-parallel"): PaperFigures(82.78, None, 0.5208, 0.3851, 81_578,
                                               "Sec. 2.2.4 / Fig. 6 (Table 1 swaps the two accuracies)"),
    ("cifar10", "cnn"): PaperFigures(82.64, None, 0.5484, 0.3659, 81_698,
                                     "Sec. 2.2.4 / Fig. 6 (Table 1 swaps the two accuracies)"),
    ("mnist", "hqnn-quanv"): PaperFigures(67.0, 1.0, None, None, 4, "Sec. 2.3.3; params = first-layer weights"),
    ("mnist", "cnn4"): PaperFigures(66.0, 2.0, None, None, 16, "Sec. 2.3.3; params = first-layer weights"),
    ("mnist", "cnn1"): PaperFigures(53.0, 2.0, None, None, 4, "Sec. 2.3.3; params = first-layer weights"),
}


@dataclass(frozen=True)
class ClassifyConfig:
    """One experiment. ``None`` fields take the :data:`PRESETS` value (see :meth:`resolved`).

    ``threads`` sets torch's CPU threads for the run (restored afterwards); one thread is
    the default because these small models gain little from more, and on a busy machine
    OpenMP threads competing for cores made training 5-10x slower.
    """

    model: str = "hqnn-parallel"
    dataset: str = "mnist"
    epochs: int | None = None
    batch_size: int | None = None
    train_size: int | None = None
    test_size: int | None = None
    lr: float | None = None
    repeats: int | None = None
    seed: int = 0
    backend: str = "torch"
    data_dir: Path | None = None
    download: bool = True
    threads: int | None = 1

    def resolved(self) -> ClassifyConfig:
        """This config with the preset's values filled in, after checking every field."""
        if self.model not in MODELS:
            raise InvalidInputError(f"unknown model {self.model!r}; choose from {', '.join(MODELS)}")
        if self.dataset not in DATASETS:
            raise InvalidInputError(f"unknown dataset {self.dataset!r}; choose from {', '.join(DATASETS)}")
        if self.backend not in hqnn.BACKENDS:
            raise InvalidInputError(f"unknown backend {self.backend!r}; choose from {', '.join(hqnn.BACKENDS)}")
        p = PRESETS[(MODELS[self.model].family, self.dataset)]
        out = replace(
            self,
            epochs=p.epochs if self.epochs is None else self.epochs,
            batch_size=p.batch_size if self.batch_size is None else self.batch_size,
            train_size=p.train_size if self.train_size is None else self.train_size,
            test_size=p.test_size if self.test_size is None else self.test_size,
            lr=p.lr if self.lr is None else self.lr,
            repeats=p.repeats if self.repeats is None else self.repeats,
        )
        for name in ("epochs", "batch_size", "train_size", "repeats"):
            if getattr(out, name) < 1:
                raise InvalidInputError(f"--{name.replace('_', '-')} must be at least 1")
        if out.test_size is not None and out.test_size < 1:
            raise InvalidInputError("--test-size must be at least 1")
        if not (out.lr and out.lr > 0 and math.isfinite(out.lr)):
            raise InvalidInputError("--lr must be a positive number")
        if out.threads is not None and out.threads < 1:
            raise InvalidInputError("--threads must be at least 1")
        return out


# ------------------------------------------------------------------------- data
@dataclass
class DataSplit:
    """Float images in [0, 1]: ``train_x (N, C, S, S)``, ``train_y (N,)``, ``test_x (M, C, S, S)``, ``test_y (M,)``."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    n_classes: int
    note: str


def _seeded_first(n: int, k: int | None, seed: int = SPLIT_SEED) -> torch.Tensor:
    """The first ``k`` (all if None) of a seeded permutation of ``range(n)``."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return order if k is None else order[: min(k, n)]


def _take(what: str, pool: torch.Tensor, k: int | None) -> torch.Tensor:
    if k is not None and k > len(pool):
        raise InvalidInputError(f"asked for {k:,} {what} images but only {len(pool):,} are available")
    return pool if k is None else pool[:k]


def load_data(dataset: str, data_dir: Path | None, train_size: int, test_size: int | None,
              download: bool = True) -> DataSplit:
    """Training and test images of ``dataset``, as floats in [0, 1] at native size.

    Subsets are the first images of a permutation seeded with :data:`SPLIT_SEED`, so every
    model and every seed sees the same images. :attr:`DataSplit.note` says which ones.
    """
    if dataset == "mnist":
        if mnist.has_split("train", data_dir):
            train, test = (mnist.load_mnist(s, data_dir, download) for s in ("train", "test"))
            tr = _take("training", _seeded_first(len(train.labels), None), train_size)
            te = _take("test", _seeded_first(len(test.labels), None), test_size)
            note = (f"MNIST: {len(tr):,} images of the official training split (seed {SPLIT_SEED}); "
                    f"tested on {len(te):,} of the official test split")
            return DataSplit(train.images[tr] / 255.0, train.labels[tr], test.images[te] / 255.0, test.labels[te], 10, note)
        data = mnist.load_mnist("test", data_dir, download)
        pool, held = mnist.split_indices(len(data.labels), MNIST_HELD_OUT, SPLIT_SEED)
        tr, te = _take("training", pool, train_size), _take("test", held, test_size)
        note = (f"MNIST offline: only the official 10,000-image test split is available; it was split with fixed "
                f"seed {SPLIT_SEED} into {len(pool):,} training-pool images and {len(held):,} held-out images. "
                f"Trained on {len(tr):,} pool images, tested on {len(te):,} held-out images.")
        return DataSplit(data.images[tr] / 255.0, data.labels[tr], data.images[te] / 255.0, data.labels[te], 10, note)
    if dataset == "cifar10":
        if data_dir is not None and not (data_dir / "train").is_dir() and (data_dir / "cifar10").is_dir():
            data_dir = data_dir / "cifar10"  # a folder of several data sets
        train = cifar10.load_cifar10("train", data_dir, math.ceil(train_size / 10), download)
        test = cifar10.load_cifar10("test", data_dir, None if test_size is None else math.ceil(test_size / 10), download)
        tr = _take("training", _seeded_first(len(train.labels), None), train_size)
        te = _seeded_first(len(test.labels), test_size)
        note = (f"CIFAR-10 ({train.source}): {len(tr):,} training images (class-balanced, seed {SPLIT_SEED}), "
                f"{len(te):,} test images from the test split")
        return DataSplit(train.images[tr] / 255.0, train.labels[tr], test.images[te] / 255.0, test.labels[te], 10, note)
    if dataset == "medmnist":
        data = medmnist.load_medmnist(data_dir)
        n = len(data.labels)
        pool, held = mnist.split_indices(n, max(1, round(n * MEDMNIST_HELD_OUT)), SPLIT_SEED)
        tr, te = _take("training", pool, train_size), _take("test", held, test_size)
        note = (f"Medical MNIST: {n:,} images split with fixed seed {SPLIT_SEED} into {len(pool):,} for training and "
                f"{len(held):,} held out; trained on {len(tr):,}, tested on {len(te):,}")
        return DataSplit(data.images[tr] / 255.0, data.labels[tr], data.images[te] / 255.0, data.labels[te], 6, note)
    raise InvalidInputError(f"unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}")


# ----------------------------------------------------------------------- models
def build_model(name: str, dataset: str, backend: str = "torch") -> nn.Module:
    """A fresh ``name`` model for ``dataset`` (input size, channels, classes), randomly initialised."""
    spec = INPUTS[dataset]
    if name == "hqnn-parallel":
        return hqnn.hqnn_parallel(spec, backend=backend)
    if name == "cnn":
        return hqnn.cnn_counterpart(spec)
    if name == "cnn-big":
        return hqnn.cnn_big(spec)
    size = QUANV_SIZES[dataset]
    if name == "hqnn-quanv":
        return quanv.hqnn_quanv(backend, spec.channels, size, spec.n_classes)
    if name in ("cnn1", "cnn4"):
        return quanv.cnn_kernel(int(name[-1]), spec.channels, size, spec.n_classes)
    raise InvalidInputError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")


def model_input(name: str, dataset: str, images: torch.Tensor) -> torch.Tensor:
    """Images ``(N, C, S, S)`` in [0, 1] as model ``name`` sees them (quanv family: bilinearly downscaled)."""
    if MODELS[name].family == "quanv":
        return quanv.downscale(images, QUANV_SIZES[dataset])
    return images


# --------------------------------------------------------------------- training
@dataclass(frozen=True)
class ClassifyProgress:
    """One optimiser step done: ``step`` of ``steps`` in ``epoch`` (1-based) of run ``run`` of ``runs``."""

    model: str
    run: int
    runs: int
    epoch: int
    epochs: int
    step: int
    steps: int
    loss: float


ProgressCallback = Callable[[ClassifyProgress], None]


@dataclass
class EpochRecord:
    """Metrics after one epoch: training loss / accuracy averaged over the epoch's batches, test on all test images."""

    epoch: int
    train_loss: float
    train_acc: float
    test_loss: float
    test_acc: float
    seconds: float


@dataclass
class ClassifyResult:
    """One model on one data set, over ``len(runs)`` seeds. Accuracies are fractions in [0, 1]."""

    model: str
    label: str
    dataset: str
    backend: str
    config: dict[str, Any]
    params_classical: int
    params_quantum: int
    runs: list[list[EpochRecord]]
    seeds: list[int]
    data_note: str
    paper: PaperFigures | None
    torch_threads: int
    extra: dict[str, Any] = field(default_factory=dict)

    def _final(self, key: str) -> list[float]:
        return [getattr(history[-1], key) for history in self.runs]

    @property
    def test_acc(self) -> float:
        """Mean final test accuracy over runs."""
        return _mean(self._final("test_acc"))

    @property
    def test_acc_std(self) -> float:
        """Standard deviation of the final test accuracy over runs (0 for one run)."""
        return _std(self._final("test_acc"))

    @property
    def test_loss(self) -> float:
        return _mean(self._final("test_loss"))

    @property
    def train_loss(self) -> float:
        return _mean(self._final("train_loss"))

    @property
    def seconds_per_epoch(self) -> float:
        """Mean training time of an epoch (evaluation excluded)."""
        return _mean([e.seconds for history in self.runs for e in history])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary with the full per-epoch history."""
        out = asdict(self)
        out.update(test_acc=self.test_acc, test_acc_std=self.test_acc_std, test_loss=self.test_loss,
                   train_loss=self.train_loss, seconds_per_epoch=self.seconds_per_epoch)
        return out


def _mean(xs: list[float]) -> float:
    return statistics.fmean(xs)


def _std(xs: list[float]) -> float:
    """Sample standard deviation (n - 1), 0 for fewer than two values."""
    return statistics.stdev(xs) if len(xs) >= 2 else 0.0


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500) -> tuple[float, float]:
    """``(mean cross-entropy, accuracy)`` of ``model`` in eval mode on ``x (N, ...)``, ``y (N,)``."""
    model.eval()
    loss, correct = 0.0, 0
    for i in range(0, len(y), batch_size):
        logits = model(x[i: i + batch_size])
        loss += F.cross_entropy(logits, y[i: i + batch_size], reduction="sum").item()
        correct += int((logits.argmax(1) == y[i: i + batch_size]).sum())
    return loss / len(y), correct / len(y)


def train_once(model: nn.Module, data: DataSplit, config: ClassifyConfig, seed: int,
               on_step: Callable[[int, int, int, float], None] | None = None) -> list[EpochRecord]:
    """Train ``model`` with Adam and a cosine-decayed learning rate; evaluate after every epoch.

    ``config`` must be resolved. Batches are drawn in a ``seed``-ed random order (the last
    one may be smaller; batches of one are skipped, as BatchNorm cannot train on them).
    ``on_step(epoch, step, steps, loss)`` is called after every optimiser step.
    """
    assert config.epochs and config.batch_size and config.lr
    n = len(data.train_y)
    steps = math.ceil(n / config.batch_size)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=config.epochs * steps)
    generator = torch.Generator().manual_seed(seed)
    history: list[EpochRecord] = []
    for epoch in range(1, config.epochs + 1):
        model.train()
        start = time.perf_counter()
        order = torch.randperm(n, generator=generator)
        loss_sum, correct, seen = 0.0, 0, 0
        for step in range(steps):
            idx = order[step * config.batch_size: (step + 1) * config.batch_size]
            if len(idx) < 2:
                continue
            logits = model(data.train_x[idx])
            loss = F.cross_entropy(logits, data.train_y[idx])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            loss_sum += loss.item() * len(idx)
            correct += int((logits.argmax(1) == data.train_y[idx]).sum())
            seen += len(idx)
            if on_step is not None:
                on_step(epoch, step + 1, steps, loss.item())
        seconds = time.perf_counter() - start
        test_loss, test_acc = evaluate(model, data.test_x, data.test_y)
        history.append(EpochRecord(epoch, loss_sum / seen, correct / seen, test_loss, test_acc, seconds))
    return history


def run_classify(config: ClassifyConfig, progress: ProgressCallback | None = None,
                 data: DataSplit | None = None) -> ClassifyResult:
    """Train ``config.model`` on ``config.dataset`` ``repeats`` times (seeds ``seed + r``).

    ``data`` (from :func:`load_data`, native size) is loaded when not given.

    Raises:
        InvalidInputError: a bad setting or unusable data.
    """
    config = config.resolved()
    assert config.train_size and config.repeats
    if data is None:
        data = load_data(config.dataset, config.data_dir, config.train_size, config.test_size, config.download)
    split = replace(data, train_x=model_input(config.model, config.dataset, data.train_x),
                    test_x=model_input(config.model, config.dataset, data.test_x))
    runs: list[list[EpochRecord]] = []
    seeds = [config.seed + r for r in range(config.repeats)]
    with torch_threads(config.threads) as threads:
        for r, seed in enumerate(seeds):
            torch.manual_seed(seed)
            model = build_model(config.model, config.dataset, config.backend)
            counts = hqnn.count_parameters(model)

            def on_step(epoch: int, step: int, steps: int, loss: float, r: int = r) -> None:
                if progress is not None:
                    progress(ClassifyProgress(config.model, r + 1, len(seeds), epoch, config.epochs or 0, step, steps, loss))

            runs.append(train_once(model, split, config, seed, on_step))
    settings = {k: v for k, v in asdict(config).items() if k not in ("data_dir", "download", "threads")}
    return ClassifyResult(
        model=config.model, label=MODELS[config.model].label, dataset=config.dataset, backend=config.backend,
        config=settings, params_classical=counts.classical, params_quantum=counts.quantum, runs=runs, seeds=seeds,
        data_note=data.note, paper=PAPER.get((config.dataset, config.model)), torch_threads=threads,
    )


def compare_models(model: str) -> tuple[str, ...]:
    """The hybrid model of ``model``'s family and its classical counterparts, hybrid first."""
    if model not in MODELS:
        raise InvalidInputError(f"unknown model {model!r}; choose from {', '.join(MODELS)}")
    return COMPARE[MODELS[model].family]


def run_compare(config: ClassifyConfig, progress: ProgressCallback | None = None) -> list[ClassifyResult]:
    """:func:`run_classify` for every model of :func:`compare_models` on the same images and seeds."""
    first = config.resolved()
    assert first.train_size
    data = load_data(first.dataset, first.data_dir, first.train_size, first.test_size, first.download)
    return [run_classify(replace(config, model=name), progress, data) for name in compare_models(config.model)]


# ---------------------------------------------------------------------- reports
def _percent(x: float | None, std: float | None = None) -> str:
    if x is None:
        return "-"
    return f"{x:.2f}" if not std else f"{x:.1f} ± {std:.1f}"


def table_rows(results: list[ClassifyResult]) -> list[dict[str, str]]:
    """One row of display strings per result: ours and the paper's figures, labelled."""
    rows = []
    for r in results:
        paper = r.paper
        acc = 100 * r.test_acc
        rows.append({
            "model": r.model,
            "classical params": f"{r.params_classical:,}",
            "quantum params": f"{r.params_quantum:,}",
            "acc % ours": _percent(acc, 100 * r.test_acc_std if len(r.runs) > 1 else None),
            "acc % paper": _percent(paper.test_acc if paper else None, paper.test_acc_std if paper else None),
            "loss ours": f"{r.test_loss:.4f}",
            "loss paper": f"{paper.test_loss:.4g}" if paper and paper.test_loss is not None else "-",
            "params paper": f"{paper.params:,}" if paper and paper.params is not None else "-",
            "s/epoch": f"{r.seconds_per_epoch:.2f}",
        })
    return rows


def markdown_table(results: list[ClassifyResult]) -> str:
    """The :func:`table_rows` as a Markdown table, with the data note and the settings under it."""
    rows = table_rows(results)
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(row[h] for h in head) + " |" for row in rows]
    first = results[0]
    c = first.config
    lines += ["", "acc / loss: test accuracy and test cross-entropy after the last epoch; s/epoch: training time only.",
              f"Data: {first.data_note}",
              f"Settings: {c['epochs']} epochs, batch {c['batch_size']}, Adam lr {c['lr']:g} (cosine decay), "
              f"{len(first.seeds)} seed(s) from {first.seeds[0]}, backend {first.backend}, "
              f"{first.torch_threads} torch thread(s)."]
    if any(len(r.runs) > 1 for r in results):
        lines.append("Accuracies with several seeds: mean ± sample standard deviation of the final-epoch test accuracy.")
    lines += [f"Paper ({r.model}): {r.paper.source}" for r in results if r.paper]
    return "\n".join(lines) + "\n"


def plot_curves(results: list[ClassifyResult], path: Path, title: str) -> None:
    """Write a PNG of test accuracy and train / test loss per epoch (mean over seeds, ± std band)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(11, 4.2), layout="constrained")
    FigureCanvasAgg(figure)
    acc_axis, loss_axis = figure.subplots(1, 2)
    for k, r in enumerate(results):
        colour = f"C{k}"
        epochs = [e.epoch for e in r.runs[0]]
        for axis, key, style, scale in ((acc_axis, "test_acc", "-", 100.0), (loss_axis, "test_loss", "-", 1.0),
                                        (loss_axis, "train_loss", ":", 1.0)):
            series = [[scale * getattr(h[i], key) for h in r.runs] for i in range(len(epochs))]
            mean = [_mean(s) for s in series]
            label = f"{r.model} ({key.split('_')[0]})" if axis is loss_axis else r.model
            axis.plot(epochs, mean, style, color=colour, marker="o", markersize=3, label=label)
            if len(r.runs) > 1:
                std = [_std(s) for s in series]
                axis.fill_between(epochs, [m - s for m, s in zip(mean, std)], [m + s for m, s in zip(mean, std)],
                                  color=colour, alpha=0.15)
        if r.paper is not None:
            acc_axis.axhline(r.paper.test_acc, color=colour, linestyle="--", linewidth=0.8,
                             label=f"{r.model} (paper, {r.paper.test_acc:g} %)")
    acc_axis.set(xlabel="epoch", ylabel="test accuracy [%]")
    loss_axis.set(xlabel="epoch", ylabel="cross-entropy", yscale="log")
    for axis in (acc_axis, loss_axis):
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    figure.suptitle(title)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
    write_bytes_atomic(path, buffer.getvalue())


def write_outputs(results: list[ClassifyResult], out_dir: Path) -> list[Path]:
    """Write ``results.json``, ``table.md`` and ``curves.png`` into ``out_dir``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "results.json", out_dir / "table.md", out_dir / "curves.png"]
    write_bytes_atomic(written[0], (json.dumps([r.to_dict() for r in results], indent=1) + "\n").encode())
    write_bytes_atomic(written[1], markdown_table(results).encode())
    first = results[0]
    title = f"{first.dataset}: {', '.join(r.model for r in results)} ({first.config['train_size']:,} training images)"
    plot_curves(results, written[2], title)
    return written
