"""``qcodec train ae``: train what qcodec ships on a folder of images."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from qcodec.cli.console import interactive, phase_progress, report_console, user_errors
from qcodec.codecs.ae.training import TrainConfig, TrainProgress, train_autoencoder
from qcodec.codecs.ae.zoo import load_model_file, save_model_file
from qcodec.errors import InvalidInputError

train_app = typer.Typer(help="Train the learned models qcodec ships (the autoencoder codec's quality levels).", no_args_is_help=True)

DEFAULTS = TrainConfig()


@train_app.command("ae")
def train_ae(
    data: Annotated[Path, typer.Option(help="Folder of training images (e.g. BSDS300's 200 training images). Never Kodak: it is the test set.")],
    out: Annotated[Path, typer.Option(help="Model file to write (name it ae-*.pt to be found in QCODEC_MODEL_PATH).")],
    quality: Annotated[int, typer.Option(help="Quality level (model id in streams) this model serves, 1..255.")] = 3,
    lmbda: Annotated[float, typer.Option("--lambda", help="Rate-distortion trade-off: loss = lambda * 255^2 * MSE + bpp.")] = DEFAULTS.lmbda,
    steps: Annotated[int, typer.Option(help="Optimizer steps in total (a resumed run continues to this count).")] = DEFAULTS.steps,
    patch: Annotated[int, typer.Option(help="Side of the random training crops (multiple of 16).")] = DEFAULTS.patch,
    batch: Annotated[int, typer.Option(help="Crops per step.")] = DEFAULTS.batch,
    lr: Annotated[float, typer.Option(help="Peak learning rate (cosine decay to a tenth).")] = DEFAULTS.lr,
    channels: Annotated[Optional[int], typer.Option(help=f"Width N of the transform layers (default: {DEFAULTS.channels}, or --init's).", show_default=False)] = None,
    latent_channels: Annotated[Optional[int], typer.Option(help=f"Latent channels M (default: {DEFAULTS.latent_channels}, or --init's).", show_default=False)] = None,
    init: Annotated[Optional[Path], typer.Option(help="Start from this model file (fine-tune it to a new --lambda).")] = None,
    checkpoint: Annotated[Optional[Path], typer.Option(help="Checkpoint file (default: OUT.ckpt); an existing one is resumed.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of initialisation and crop sampling.")] = DEFAULTS.seed,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show progress even when not on a terminal.")] = False,
) -> None:
    """Train one quality level of the autoencoder codec and export it as a model file.

    Trains Balle et al.'s factorized-prior autoencoder on random crops with loss lambda * 255^2 * MSE + bpp, writing resumable checkpoints; the exported file holds float16 weights and the integer CDF tables the codec codes with. The bundled levels were made with the commands in docs/autoencoder.md.

    Example:

      qcodec train ae --data ../shared/datasets/bsds300-train --quality 4 --lambda 0.013 --out ae-q4.pt

      qcodec encode photo.png photo.qic --model ae --weights ae-q4.pt
    """
    ckpt = checkpoint or out.with_name(out.name + ".ckpt")
    with user_errors():
        if not 1 <= quality <= 255:
            raise InvalidInputError(f"--quality must be 1..255, got {quality}")
        if not out.parent.is_dir():
            raise InvalidInputError(f"output folder {out.parent} does not exist")
        start_model = load_model_file(init).network if init is not None else None
        config = TrainConfig(
            lmbda=lmbda, steps=steps, patch=patch, batch=batch, lr=lr, seed=seed,
            channels=channels if channels is not None else (start_model or DEFAULTS).channels,
            latent_channels=latent_channels if latent_channels is not None else (start_model or DEFAULTS).latent_channels,
        )
        start = time.perf_counter()
        with phase_progress(interactive(verbose)) as update:
            last: list[TrainProgress] = []

            def report(event: TrainProgress) -> None:
                last[:] = [event]
                if update is not None and (event.step % 10 == 0 or event.step == event.total):
                    update(f"train λ={lmbda:g}  {event.bpp:.3f} bpp  {event.psnr:.2f} dB", event.step, event.total)

            network = train_autoencoder(data, config, ckpt, report, init=start_model)
        recipe = {**config.__dict__, "data": data.resolve().name, "init": init.name if init else None}
        save_model_file(network, out, quality, lmbda, recipe)
    report_dict = {"out": str(out), "quality": quality, "lambda": lmbda, "steps": steps, "seconds": time.perf_counter() - start}
    if last:
        report_dict.update(train_bpp=last[0].bpp, train_psnr=last[0].psnr)
    console = report_console("")
    if json_out:
        console.print_json(json.dumps(report_dict))
    else:
        console.print(f"{out}: quality {quality}, lambda {lmbda:g}, {steps} steps, {report_dict['seconds']:.0f} s", highlight=False)
