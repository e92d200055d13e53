"""``qcodec eval classify``: HQNN-Parallel / HQNN-Quanv (Senokosov et al. 2024) against classical CNNs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from qcodec.cli.console import err_console, interactive, out_console, user_errors
from qcodec.eval.classify import (
    ClassifyConfig,
    ClassifyProgress,
    ClassifyResult,
    ProgressCallback,
    run_classify,
    run_compare,
    table_rows,
    write_outputs,
)

DATA, TRAINING, QUANTUM, OUTPUT = "Data", "Training", "Quantum backend", "Output"


@contextmanager
def _progress(enabled: bool) -> Iterator[ProgressCallback | None]:
    """One rich bar per model and seed on stderr, counting optimiser steps over all epochs."""
    if not enabled:
        yield None
        return
    columns = (TextColumn("[bold]{task.description:<22}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("epoch {task.fields[epoch]}  loss {task.fields[loss]:.3f}"), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console) as bar:
        tasks: dict[tuple[str, int], int] = {}

        def update(event: ClassifyProgress) -> None:
            key = (event.model, event.run)
            if key not in tasks:
                name = event.model if event.runs == 1 else f"{event.model} seed {event.run}/{event.runs}"
                tasks[key] = bar.add_task(name, total=event.epochs * event.steps, epoch=1, loss=0.0)
            done = (event.epoch - 1) * event.steps + event.step
            if event.step % 5 == 0 or event.step == event.steps:
                bar.update(tasks[key], completed=done, epoch=f"{event.epoch}/{event.epochs}", loss=event.loss)

        yield update


def _table(results: list[ClassifyResult]) -> Table:
    first = results[0]
    table = Table(title=f"{first.dataset}: test accuracy, loss, parameters and time (ours beside the paper's)",
                  caption=first.data_note, caption_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    rows = table_rows(results)
    for header in rows[0]:
        table.add_column(header, justify="left" if header == "model" else "right", no_wrap=header == "model")
    for row in rows:
        table.add_row(*row.values())
    return table


def classify(
    model: Annotated[str, typer.Option(help="hqnn-parallel, cnn (its counterpart), cnn-big (the paper's CNN), hqnn-quanv, cnn1 or cnn4.")] = "hqnn-parallel",
    dataset: Annotated[str, typer.Option(help="mnist, cifar10 or medmnist.", rich_help_panel=DATA)] = "mnist",
    compare: Annotated[bool, typer.Option("--compare", help="Also train the model's classical counterparts (or its hybrid) on the same images.")] = False,
    data_dir: Annotated[Optional[Path], typer.Option(help="Local copy of the data set (or a folder holding mnist/, cifar10/, medical-mnist/). Default: download MNIST / CIFAR-10 once into the cache.", envvar="QCODEC_DATA_DIR", rich_help_panel=DATA)] = None,
    train_size: Annotated[Optional[int], typer.Option(help="Training images.", show_default="per model family and data set, see docs/eval-classify.md", rich_help_panel=DATA)] = None,
    test_size: Annotated[Optional[int], typer.Option(help="Test images.", show_default="all held-out images, or the preset's", rich_help_panel=DATA)] = None,
    epochs: Annotated[Optional[int], typer.Option(help="Training epochs.", show_default="preset", rich_help_panel=TRAINING)] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Images per optimiser step.", show_default="preset", rich_help_panel=TRAINING)] = None,
    lr: Annotated[Optional[float], typer.Option(help="Adam learning rate, decayed by a cosine.", show_default="preset", rich_help_panel=TRAINING)] = None,
    seed: Annotated[int, typer.Option(help="Seed of weights and batch order (the data split is fixed).", rich_help_panel=TRAINING)] = 0,
    repeats: Annotated[Optional[int], typer.Option(help="Train with seeds seed..seed+repeats-1 and report mean ± std.", show_default="10 for the quanvolution models on MNIST, 5 on the others, else 1", rich_help_panel=TRAINING)] = None,
    threads: Annotated[int, typer.Option(help="Torch CPU threads (1 is fastest for these small models on a busy machine).", rich_help_panel=TRAINING)] = 1,
    backend: Annotated[str, typer.Option(help="torch (qcodec's batched simulator) or pennylane (a default.qubit QNode: slow, for checking).", rich_help_panel=QUANTUM)] = "torch",
    out: Annotated[Optional[Path], typer.Option(help="Folder for results.json, table.md and curves.png.", show_default="runs/eval/classify/DATASET-MODEL[-compare]", file_okay=False, rich_help_panel=OUTPUT)] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the results as JSON on stdout.", rich_help_panel=OUTPUT)] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show progress even when not on a terminal.", rich_help_panel=OUTPUT)] = False,
) -> None:
    """Reproduce Senokosov et al. 2024: hybrid quantum networks for image classification.

    Trains HQNN-Parallel (conv blocks, then 4 parallel 5-qubit PQCs between two dense layers) or HQNN-Quanv (a 2x2 quanvolution on 14x14 MNIST), or a classical baseline, and prints test accuracy, test loss, parameter counts (classical / quantum) and seconds per epoch beside the paper's figures. Offline, MNIST is only its 10,000-image test split: it is split with a fixed seed into 8,000 training and 2,000 held-out images.

    Examples:

      qcodec eval classify --model hqnn-parallel --dataset mnist --data-dir ../shared/datasets/mnist --compare

      qcodec eval classify --model hqnn-quanv --compare --data-dir ../shared/datasets/mnist

      qcodec eval classify --dataset cifar10 --data-dir ../shared/datasets/cifar10 --epochs 3
    """
    config = ClassifyConfig(model=model, dataset=dataset, epochs=epochs, batch_size=batch_size, train_size=train_size,
                            test_size=test_size, lr=lr, repeats=repeats, seed=seed, backend=backend,
                            data_dir=data_dir, threads=threads)
    with user_errors():
        with _progress(interactive(verbose)) as progress:
            results = run_compare(config, progress) if compare else [run_classify(config, progress)]
        folder = out or Path("runs") / "eval" / "classify" / f"{dataset}-{model}{'-compare' if compare else ''}"
        written = write_outputs(results, folder)
    if json_out:
        out_console.print_json(json.dumps([r.to_dict() for r in results]))
    else:
        # piped output gets a fixed width that fits the table rather than rich's 80-column default
        (out_console if out_console.is_terminal else Console(width=132)).print(_table(results))
    err_console.print(f"wrote {', '.join(str(p) for p in written)}", highlight=False, soft_wrap=True)
