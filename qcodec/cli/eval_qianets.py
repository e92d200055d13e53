"""``qcodec eval qianets``: the QIANets reproduction, printed as tables or JSON."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from qcodec.cli.console import interactive, out_console, phase_progress, user_errors
from qcodec.cli.eval_commands import eval_app
from qcodec.eval.qianets import QianetsConfig, QianetsReport, run_qianets

COMPRESSION = "Compression"
TRAINING = "Training"
DATA = "Data"
OUTPUT = "Output"


class ModelName(str, Enum):
    resnet18 = "resnet18"
    densenet = "densenet"
    googlenet = "googlenet"


class DatasetName(str, Enum):
    cifar10 = "cifar10"


@eval_app.command("qianets")
def qianets(
    model: Annotated[ModelName, typer.Option("--model", "-m", help="Network to compress.")] = ModelName.resnet18,
    dataset: Annotated[DatasetName, typer.Option(help="Data set (CIFAR-10, 32x32).", rich_help_panel=DATA)] = DatasetName.cifar10,
    data_dir: Annotated[Optional[Path], typer.Option(help="Local CIFAR-10: image folders train/<class>/, or the official archive/batches. Default: download once into the cache.", rich_help_panel=DATA)] = None,
    train_per_class: Annotated[int, typer.Option(help="Training images per class.", rich_help_panel=DATA)] = 1000,
    test_per_class: Annotated[int, typer.Option(help="Test images per class.", rich_help_panel=DATA)] = 200,
    sparsity: Annotated[Optional[float], typer.Option(help="Layer sparsity alpha of the threshold (default: the paper's, 0.3779 for ResNet-18).", rich_help_panel=COMPRESSION)] = None,
    p_entangle: Annotated[float, typer.Option(help="Probability that a neighbour of a pruned weight/channel is pruned too.", rich_help_panel=COMPRESSION)] = 0.5,
    stages: Annotated[int, typer.Option(help="Pruning stages (fine-tuning between them).", rich_help_panel=COMPRESSION)] = 3,
    rank: Annotated[Optional[int], typer.Option(help="Rank r of the decomposition (default: the paper's, 10 for ResNet-18).", rich_help_panel=COMPRESSION)] = None,
    width: Annotated[Optional[float], typer.Option(help="Channel width multiplier (default 0.25 for ResNet-18, 0.125 otherwise).", rich_help_panel=TRAINING)] = None,
    epochs: Annotated[float, typer.Option(help="Baseline training epochs.", rich_help_panel=TRAINING)] = 5.0,
    finetune_epochs: Annotated[float, typer.Option(help="Fine-tuning budget of every compressed variant, in epochs.", rich_help_panel=TRAINING)] = 1.0,
    batch_size: Annotated[int, typer.Option(help="Training batch size.", rich_help_panel=TRAINING)] = 128,
    lr: Annotated[float, typer.Option(help="Adam learning rate of baseline training.", rich_help_panel=TRAINING)] = 2e-3,
    finetune_lr: Annotated[float, typer.Option(help="Adam learning rate of fine-tuning.", rich_help_panel=TRAINING)] = 5e-4,
    checkpoint: Annotated[Optional[Path], typer.Option(help="Load this baseline (an earlier run's baseline.pt) instead of training.", exists=True, dir_okay=False, rich_help_panel=TRAINING)] = None,
    threads: Annotated[int, typer.Option(help="Torch CPU threads (1 is fastest on a loaded shared machine).", rich_help_panel=TRAINING)] = 1,
    seed: Annotated[int, typer.Option(help="Random seed (init, data order, pruning draws).", rich_help_panel=TRAINING)] = 0,
    repeats_b1: Annotated[int, typer.Option(help="Timed calls per model at batch 1.", rich_help_panel=OUTPUT)] = 60,
    repeats_b256: Annotated[int, typer.Option(help="Timed calls per model at batch 256.", rich_help_panel=OUTPUT)] = 5,
    out: Annotated[Optional[Path], typer.Option("--out", help="Directory for baseline.pt, the compressed models and results.json.", file_okay=False, rich_help_panel=OUTPUT)] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.", rich_help_panel=OUTPUT)] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show progress even when not on a terminal.", rich_help_panel=OUTPUT)] = False,
) -> None:
    """Reproduce QIANets (Magongo et al. 2024) and measure it against plain baselines.

    Trains (or loads) a CIFAR-10 classifier, compresses it with the paper's recipe and with a latency-oriented variant (channel pruning + two-conv low-rank), fine-tunes, and reports accuracy, parameters, size, FLOPs and CPU latency at batch 1 and 256 for each, next to torch magnitude pruning at equal sparsity, plain truncated SVD, and the paper's Table 1.

    Examples:

      qcodec eval qianets --data-dir ../shared/datasets/cifar10               # ResNet-18, 5-12 min on 2 cores

      qcodec eval qianets --data-dir DIR --checkpoint runs/q/baseline.pt --json
    """
    config = QianetsConfig(
        model=model.value, width=width, data_dir=data_dir, train_per_class=train_per_class, test_per_class=test_per_class,
        epochs=epochs, finetune_epochs=finetune_epochs, batch_size=batch_size, lr=lr, finetune_lr=finetune_lr,
        sparsity=sparsity, p_entangle=p_entangle, stages=stages, rank=rank, latency_repeats=(repeats_b1, repeats_b256),
        threads=threads, seed=seed, checkpoint=checkpoint, out_dir=out,
    )
    with user_errors():
        with phase_progress(interactive(verbose), 30) as progress:
            report = run_qianets(config, progress)
        if out is not None:
            (out / "results.json").write_text(json.dumps(report.to_json(), indent=2) + "\n")
    if json_out:
        out_console.print_json(json.dumps(report.to_json()))
    else:
        print_report(report)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


def print_report(report: QianetsReport) -> None:
    """The measured table, the paper's Table 1 beside ours, and the headline comparisons."""
    c = report.config
    base = report.variant("baseline")
    table = Table(title=f"QIANets on CIFAR-10 ({c.model}, width {c.width:g}) - measured here", title_justify="left")
    for column in ("variant", "acc %", "d acc", "before FT", "params", "non-zero", "zeros", ".pt KB", "sparse KB",
                   "MFLOPs", "nz MFLOPs", "b1 ms", "b1 x", "b256 ms/img", "b256 x"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for v in report.variants:
        b1, b256 = v.latency_b1, v.latency_b256
        table.add_row(
            v.name + (" *" if v.dense_kernels else ""), f"{100 * v.accuracy:.1f}",
            "" if v is base else f"{100 * (v.accuracy - base.accuracy):+.1f}",
            "" if v.accuracy_before_finetune is None else f"{100 * v.accuracy_before_finetune:.1f}",
            f"{v.params_total:,}", f"{v.params_nonzero:,}", f"{100 * v.weight_sparsity:.0f}%",
            f"{v.size_bytes / 1024:.0f}", f"{v.sparse_size_bytes / 1024:.0f}",
            f"{v.flops / 1e6:.1f}", f"{v.nonzero_flops / 1e6:.1f}",
            _ms(b1.median), f"{base.latency_b1.median / b1.median:.2f}",
            f"{b256.per_image * 1e3:.3f}", f"{base.latency_b256.per_image / b256.per_image:.2f}",
        )
    console = out_console if out_console.is_terminal else Console(width=200)  # no wrapping in pipes and files
    console.print(table)
    console.print(
        "* zeros are multiplied by dense kernels: unstructured pruning does not change latency. "
        "'x' = speed-up over baseline (median of round-robin timing, "
        f"{c.latency_repeats[0]} calls at batch 1, {c.latency_repeats[1]} at batch 256, {c.threads} thread(s)).",
        highlight=False,
    )
    p = report.paper
    fast, paper = report.variant("qianets-fast"), report.variant("qianets-paper")
    side = Table(title="Paper Table 1 (as published, A40 GPU, 224x224) beside ours (CPU, 32x32)", title_justify="left")
    for column in ("source", "base acc", "base s/img", "new acc", "new s/img", "compression"):
        side.add_column(column, justify="left" if column == "source" else "right")
    side.add_row(f"paper: {p.model}", f"{100 * p.base_accuracy:.0f}%", f"{p.base_latency:.6f}", f"{100 * p.new_accuracy:.0f}%", f"{p.new_latency:.6f}", p.compression_ratio)
    for v in (paper, fast):
        side.add_row(
            f"ours: {v.name}", f"{100 * base.accuracy:.1f}%", f"{base.latency_b256.per_image:.6f}", f"{100 * v.accuracy:.1f}%",
            f"{v.latency_b256.per_image:.6f}", f"1:{v.params_nonzero / base.params_nonzero:.2f}",
        )
    console.print(side)
    mag, mag_ch = report.variant("magnitude"), report.variant("magnitude-channels")
    lines = [
        f"qianets-fast vs baseline: batch-1 {_ms(base.latency_b1.median)} -> {_ms(fast.latency_b1.median)} ms "
        f"(x{base.latency_b1.median / fast.latency_b1.median:.2f}), accuracy {100 * (fast.accuracy - base.accuracy):+.1f} pts",
        f"qianets-fast vs magnitude-channels (same architecture): batch-1 {_ms(mag_ch.latency_b1.median)} vs {_ms(fast.latency_b1.median)} ms, "
        f"accuracy {100 * mag_ch.accuracy:.1f}% vs {100 * fast.accuracy:.1f}%",
        f"qianets-paper vs magnitude (same per-layer sparsity, {100 * paper.weight_sparsity:.0f}% of conv weights): "
        f"accuracy {100 * paper.accuracy:.1f}% vs {100 * mag.accuracy:.1f}%, batch-1 {_ms(paper.latency_b1.median)} vs {_ms(mag.latency_b1.median)} ms "
        f"(baseline {_ms(base.latency_b1.median)}: dense kernels, no real change)",
        f"pruning: alpha {report.pruning['alpha']:g} -> realised weight sparsity {100 * report.pruning['weight_sparsity_realized']:.1f}% "
        f"(entanglement adds the rest); channels removed {report.pruning['channels_removed']}/{report.pruning['channels_total']}",
        "run time: " + ", ".join(f"{k} {v:.0f}s" for k, v in report.phase_seconds.items()) + f" (total {sum(report.phase_seconds.values()) / 60:.1f} min)",
    ]
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)
