"""``qcodec eval qmae`` (the QMAE reproduction) and ``qcodec inpaint`` (apply a trained QMAE)."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from qcodec.cli.console import err_console, interactive, out_console, phase_progress, read_input, user_errors, warn, write_output
from qcodec.data.files import write_bytes_atomic
from qcodec.data.image_io import decode_image_bytes, encode_image_bytes, format_for_path
from qcodec.errors import InvalidInputError
from qcodec.eval.inpaint import inpaint as inpaint_image
from qcodec.eval.inpaint import load_model, parse_region
from qcodec.eval.qmae import QmaeConfig, QmaeReport, run_qmae

DATA, TRAINING, OUTPUT = "Data", "Training", "Output"


class Readout(str, Enum):
    """How measured probabilities become pixels (qcodec.eval.models.qmae.probabilities_to_image)."""

    probability = "probability"
    amplitude = "amplitude"


def qmae(
    mask: Annotated[float, typer.Option(help="Masked fraction of the image: 0.125, 0.25 or 0.5 (one patch).")] = 0.25,
    epochs: Annotated[int, typer.Option(help="Training epochs of QMAE and of QAE.", rich_help_panel=TRAINING)] = QmaeConfig.epochs,
    train_size: Annotated[int, typer.Option(help="Training images (from the seeded split of MNIST's test set).", rich_help_panel=DATA)] = QmaeConfig.train_size,
    test_size: Annotated[int, typer.Option(help="Held-out test images.", rich_help_panel=DATA)] = QmaeConfig.test_size,
    data_dir: Annotated[Optional[Path], typer.Option(help="Local MNIST (IDX files). Default: download once into the cache.", rich_help_panel=DATA)] = None,
    batch_size: Annotated[int, typer.Option(help="Images per optimizer step.", rich_help_panel=TRAINING)] = QmaeConfig.batch_size,
    lr: Annotated[float, typer.Option(help="Adam learning rate (cosine decay).", rich_help_panel=TRAINING)] = QmaeConfig.lr,
    classifier_epochs: Annotated[int, typer.Option(help="Epochs of the 16x16 classifier.", rich_help_panel=TRAINING)] = QmaeConfig.classifier_epochs,
    seed: Annotated[int, typer.Option(help="Seed of initial angles, batches and masks (the data split is fixed).", rich_help_panel=TRAINING)] = 0,
    threads: Annotated[int, typer.Option(help="Torch CPU threads (1 is fastest for these small ops on a busy machine).", rich_help_panel=TRAINING)] = 1,
    readout: Annotated[Readout, typer.Option(help="Pixels from probabilities: p/max(p), or amplitudes sqrt(p)/max.", rich_help_panel=OUTPUT)] = Readout.probability,
    out: Annotated[Optional[Path], typer.Option(help="Folder for results.json and grid.png (created).", file_okay=False, rich_help_panel=OUTPUT)] = None,
    save: Annotated[Optional[Path], typer.Option(help="Save the trained QMAE here (for qcodec inpaint --model).", dir_okay=False, rich_help_panel=OUTPUT)] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout.", rich_help_panel=OUTPUT)] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show progress even when not on a terminal.", rich_help_panel=OUTPUT)] = False,
) -> None:
    """Reproduce QMAE (Andrews & Mishra 2025): quantum masked autoencoder vs QAE on 16x16 MNIST.

    Trains both on masked images (8 qubits, 7 latent + 1 trash, 420 ansatz angles; QMAE adds a learnable mask token), then scores the test reconstructions: fidelity, cosine similarity, SSIM and the accuracy of a classifier trained on clean 16x16 MNIST, beside the paper's Table 1. MNIST offline is only its 10,000-image test set, split here with a fixed seed.

    Examples:

      qcodec eval qmae --data-dir ../shared/datasets/mnist --out runs/qmae --save qmae.pt

      qcodec eval qmae --mask 0.125 --epochs 4 --train-size 2000 --test-size 1000 --json
    """
    config = QmaeConfig(mask=mask, epochs=epochs, train_size=train_size, test_size=test_size, batch_size=batch_size,
                        lr=lr, classifier_epochs=classifier_epochs, seed=seed, threads=threads, readout=readout.value,
                        data_dir=data_dir)
    with user_errors():
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
        with phase_progress(interactive(verbose), 10) as progress:
            run = run_qmae(config, progress)
        if out is not None:
            write_bytes_atomic(out / "results.json", (json.dumps(run.report.to_json(), indent=2) + "\n").encode())
            write_bytes_atomic(out / "grid.png", run.grid_png)
        if save is not None:
            from qcodec.eval.models.qmae import model_to_bytes

            meta = {"trained_by": "qcodec eval qmae", "mask": mask, "epochs": epochs, "train_size": train_size,
                    "seed": seed, "lr": lr, "batch_size": batch_size, "data": run.report.split,
                    "test_fidelity": run.report.row("QMAE").fidelity}
            write_bytes_atomic(save, model_to_bytes(run.qmae, meta))
    if json_out:
        out_console.print_json(json.dumps(run.report.to_json()))
    else:
        print_report(run.report)


def _pct(v: float) -> str:
    return f"{100 * v:.2f}%"


def print_report(report: QmaeReport) -> None:
    """Our metrics and the paper's Table 1 in one labelled table, then the setup in a few lines."""
    c = report.config
    n_test = c["test_size"]
    table = Table(title=f"QMAE vs QAE, 16x16 MNIST, {100 * c['mask']:g}% mask (one {report.patch[0]}x{report.patch[1]} patch); "
                        f"ours: {n_test:,} held-out test images, paper: Table 1, 10,000 images", title_justify="left")
    for column in ("source", "model", "fidelity", "cos sim", "SSIM", "accuracy", "params"):
        table.add_column(column, justify="left" if column in ("source", "model") else "right", no_wrap=True)
    for r in report.rows:
        table.add_row("ours", r.name, "-" if r.fidelity is None else f"{r.fidelity:.3f}",
                      f"{r.cosine:.3f}", f"{r.ssim:.3f}", _pct(r.accuracy), str(r.n_params or ""))
    for p in report.paper:
        table.add_row("paper", p.model, f"{p.fidelity:.3f}", f"{p.cosine:.3f}", f"{p.ssim:.3f}", _pct(p.accuracy), "")
    out_console.print(table)
    out_console.print(
        f"classifier: {report.classifier}; clean test accuracy {_pct(report.classifier_accuracy)} "
        f"(paper's ResNet18: {_pct(report.paper_classifier_accuracy)}).\n"
        f"data: {report.split}.\n"
        f"read-out: {c['readout']} (see docs/eval-qmae.md); exact probabilities, no shot noise.\n"
        "'masked input' = the zero-masked image itself, no autoencoder (fidelity |<x_m|x>|^2).\n"
        f"time: {report.seconds:.0f} s on {report.threads} thread(s) "
        f"(QMAE {report.row('QMAE').train_seconds:.0f} s, QAE {report.row('QAE').train_seconds:.0f} s of training).",
        highlight=False,
    )


def inpaint(
    input_path: Annotated[str, typer.Argument(metavar="IN", help="Grayscale image (PNG, ...; '-' = stdin).")],
    output_path: Annotated[str, typer.Argument(metavar="OUT", help="Output image ('-' = PNG on stdout).")],
    mask: Annotated[str, typer.Option("--mask", help="Rectangle to fill: x,y,w,h in pixels of IN.")],
    model: Annotated[Optional[Path], typer.Option("--model", help="A model saved by 'qcodec eval qmae --save' (default: the bundled MNIST model).")] = None,
    raw: Annotated[bool, typer.Option("--raw", help="Write the model's whole 16x16 reconstruction instead of filling only the rectangle.")] = False,
    readout: Annotated[Readout, typer.Option(help="Pixels from probabilities: p/max(p), or amplitudes sqrt(p)/max.")] = Readout.probability,
    json_out: Annotated[bool, typer.Option("--json", help="Print what was done as JSON on stdout.")] = False,
) -> None:
    """Fill a rectangle of a small grayscale image with a trained quantum masked autoencoder.

    The model sees 16x16 images: other sizes are resized (with a warning) and the filled rectangle is scaled back into the original. The bundled model was trained on MNIST digits (light strokes on a dark background).

    Examples:

      qcodec inpaint digit.png filled.png --mask 8,0,8,8

      qcodec inpaint digit.png filled.png --mask 4,4,8,8 --model runs/qmae.pt
    """
    with user_errors():
        region = parse_region(mask)
        if model is not None and not model.is_file():
            raise InvalidInputError(f"no such model file: {model}")
        qmae_model, _ = load_model(model)
        fmt = "PNG" if output_path == "-" else format_for_path(output_path)
        image = decode_image_bytes(read_input(input_path), "stdin" if input_path == "-" else input_path)
        result = inpaint_image(image, region, qmae_model, raw=raw, readout=readout.value)
        for note in result.notes:
            warn(f"{input_path}: {note}")
        write_output(output_path, encode_image_bytes(result.pixels, fmt))
    if json_out:
        facts = {"input": input_path, "output": output_path, "mask": list(region), "model_region": list(result.region),
                 "model": str(model) if model else "bundled", "raw": raw, "notes": result.notes,
                 "width": int(result.pixels.shape[1]), "height": int(result.pixels.shape[0])}
        (err_console if output_path == "-" else out_console).print_json(json.dumps(facts))
