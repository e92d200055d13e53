"""``qcodec encode``, ``qcodec decode`` and ``qcodec info``."""

from __future__ import annotations

import json
import time
from typing import Annotated, Optional

import typer
from rich.table import Table

from qcodec import api
from qcodec.bench.context import SameSize, classical_at_size
from qcodec.cli.console import (
    STDIO,
    fit_progress,
    interactive,
    read_input,
    report_console,
    user_errors,
    warn,
    write_output,
)
from qcodec.codecs.base import effort_text
from qcodec.codecs.budget import DEFAULT_MAX_GMAC, DEFAULT_MAX_MIB, GMAC_ENV, MIB_ENV, DecodeLimits
from qcodec.codecs.grid.codec import GridCodec
from qcodec.data.image_io import decode_image_bytes, encode_image_bytes, format_for_path
from qcodec.metrics import bits_per_pixel, psnr

RATE = "Rate"
TRAINING = "Training"
QUANTUM = "quINR"
AUTOENCODER = "Autoencoder (--model ae)"
GRID = "Latent grids (--model grid)"
OUTPUT = "Output"
LIMITS = "Decoding limits"

MaxGmac = Annotated[Optional[float], typer.Option(
    "--max-decode-gmac", help=f"Most work a stream may ask of its decoder, in GMAC (default ${GMAC_ENV} or {DEFAULT_MAX_GMAC:g}, about a minute here).", rich_help_panel=LIMITS)]
MaxMib = Annotated[Optional[float], typer.Option(
    "--max-decode-mib", help=f"Most memory a stream may ask of its decoder, in MiB (default ${MIB_ENV} or {DEFAULT_MAX_MIB:g}).", rich_help_panel=LIMITS)]


def encode(
    input: Annotated[str, typer.Argument(help="Image to compress (PNG, JPEG, ...; '-' reads stdin).")],
    output: Annotated[str, typer.Argument(help="Where to write the .qic stream ('-' writes stdout).")],
    model: Annotated[str, typer.Option("--model", "-m", help="Codec: coin (SIREN MLP), quinr (hybrid quantum INR), ae (learned autoencoder) or grid (overfitted latent grids, Cool-chic style).")] = "coin",
    preset: Annotated[Optional[str], typer.Option(help="Named size: tiny, small, medium, large, xlarge.", rich_help_panel=RATE)] = None,
    bpp: Annotated[Optional[float], typer.Option(help="Target bits per pixel: coin and quinr pick the architecture predicted closest, ae the closest level, grid steers lambda during the fit.", rich_help_panel=RATE)] = None,
    layers: Annotated[Optional[int], typer.Option(help="Network layers (overrides the preset).", rich_help_panel=RATE)] = None,
    width: Annotated[Optional[int], typer.Option(help="Units per layer (overrides the preset).", rich_help_panel=RATE)] = None,
    bits: Annotated[Optional[int], typer.Option(help="Base weight bit depth, 2-16 (sensitive tensors get more).", rich_help_panel=RATE)] = None,
    prune: Annotated[Optional[float], typer.Option(help="Zero this fraction of prunable weights (QIANets pruning; experimental).", rich_help_panel=RATE)] = None,
    tiles: Annotated[Optional[str], typer.Option(help="coin, quinr: ROWSxCOLS tile grid, one network per tile (e.g. 4x6).", rich_help_panel=RATE)] = None,
    effort: Annotated[Optional[int], typer.Option(help=f"coin, quinr, grid: 1 (fastest) to 5 (best), {effort_text()} (default: 3; grid: {effort_text(GridCodec.default_steps)}).", rich_help_panel=TRAINING)] = None,
    steps: Annotated[Optional[int], typer.Option(help="Fitting steps (instead of --effort).", rich_help_panel=TRAINING)] = None,
    lr: Annotated[Optional[float], typer.Option(help="Peak learning rate.", rich_help_panel=TRAINING)] = None,
    qat_steps: Annotated[Optional[int], typer.Option(help="Quantization-aware fine-tuning steps (0 turns it off).", rich_help_panel=TRAINING)] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Pixels per step.", rich_help_panel=TRAINING)] = None,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same input -> same bytes.", rich_help_panel=TRAINING)] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda (fitting only; decoding runs on CPU).", rich_help_panel=TRAINING)] = "auto",
    variant: Annotated[Optional[str], typer.Option(help="tiled (default: one 4-qubit circuit per tile, read out by a linear head) or paper (the AAAI 2025 model).", rich_help_panel=QUANTUM)] = None,
    qubits: Annotated[Optional[int], typer.Option(help="Qubits N_q of the circuit.", rich_help_panel=QUANTUM)] = None,
    embed: Annotated[Optional[int], typer.Option(help="Sine embedding size M (folded into the qubits).", rich_help_panel=QUANTUM)] = None,
    backend: Annotated[Optional[str], typer.Option(help="torch (fast simulator) or a PennyLane device, e.g. default.qubit.", rich_help_panel=QUANTUM)] = None,
    shuffle: Annotated[Optional[bool], typer.Option("--shuffle/--no-shuffle", help="Shuffled data re-uploading.", rich_help_panel=QUANTUM)] = None,
    activation: Annotated[Optional[str], typer.Option(help="Output activation: qrelu, m-qrelu or none.", rich_help_panel=QUANTUM)] = None,
    readout: Annotated[Optional[str], typer.Option(help="Probabilities to pixels: affine (learnable) or fixed.", rich_help_panel=QUANTUM)] = None,
    quality: Annotated[Optional[int], typer.Option(help="Quality level: ae 1-4 (bundled models), grid 1-5 (preset lambdas); 1 gives the smallest files.", rich_help_panel=RATE)] = None,
    weights: Annotated[Optional[str], typer.Option(help="Model file from `qcodec train ae` (decoding needs it in QCODEC_MODEL_PATH).", rich_help_panel=AUTOENCODER)] = None,
    lmbda: Annotated[Optional[float], typer.Option("--lambda", help="Rate-distortion trade-off: minimise bpp + lambda * 255^2 * MSE (larger: better quality, more bits).", rich_help_panel=GRID)] = None,
    quantum_synthesis: Annotated[Optional[bool], typer.Option("--quantum-synthesis", help="Add a residual 4-qubit parameterized-circuit branch to the synthesis (qcodec's simulator); its output gain starts at zero.", rich_help_panel=GRID)] = None,
    max_decode_gmac: MaxGmac = None,
    max_decode_mib: MaxMib = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.", rich_help_panel=OUTPUT)] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show progress even when not on a terminal.", rich_help_panel=OUTPUT)] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print no report.", rich_help_panel=OUTPUT)] = False,
) -> None:
    """Compress an image into a .qic stream.

    With coin and quinr a network is overfitted to the image, its weights quantized (sensitive tensors get extra bits), fine-tuned quantization-aware and entropy-coded; with ae a trained autoencoder maps the image to latents that are entropy-coded with the model's tables (no fitting, a few seconds); with grid, latent grids and a tiny decoder are fitted by rate + lambda * distortion and the latents coded under an auto-regressive context model. The report gives the size, the rate in bits per pixel and the PSNR of exactly what `qcodec decode` will produce.

    Before fitting, the encoder checks what decoding the stream will cost: a stream that decoders would refuse under their default limits (--max-decode-gmac, --max-decode-mib) is not written unless the limits are raised here too.

    Examples:

      qcodec encode photo.png photo.qic                   # COIN, medium preset

      qcodec encode photo.png photo.qic --bpp 0.2         # pick the size for ~0.2 bpp

      qcodec encode photo.png photo.qic --model quinr --bpp 0.1      # quINR, one circuit per tile

      qcodec encode photo.png photo.qic --model quinr --variant paper --qubits 6 --layers 4 --embed 24

      qcodec encode photo.png photo.qic --model ae --quality 2   # learned autoencoder, no fitting

      qcodec encode photo.png photo.qic --model grid --bpp 0.3 --effort 5   # latent grids, 2,500 steps

      cat a.png | qcodec encode - - | qcodec decode - out.png
    """
    options = {
        "preset": preset, "bpp": bpp, "layers": layers, "width": width, "bits": bits, "effort": effort, "steps": steps,
        "lr": lr, "qat_steps": qat_steps, "batch_size": batch_size, "seed": seed, "device": device,
        "qubits": qubits, "embed": embed, "backend": backend, "shuffle": shuffle, "activation": activation,
        "readout": readout, "prune": prune, "quality": quality, "weights": weights,
        "lmbda": lmbda, "quantum_synthesis": quantum_synthesis, "tiles": tiles, "variant": variant,
    }
    given = {k: v for k, v in options.items() if v is not None}
    with user_errors():
        limits = DecodeLimits.resolve(max_decode_gmac, max_decode_mib)
        image = decode_image_bytes(read_input(input), "standard input" if input == STDIO else input)
        for note in image.notes:
            warn(note)
        start = time.perf_counter()
        with fit_progress(interactive(verbose)) as progress:
            result = api.encode(image, model, given, progress, limits)
        seconds = time.perf_counter() - start
        write_output(output, result.data)
        same_size = [] if quiet else classical_at_size(image, len(result.data))
    report = {
        "model": model,
        "input": input,
        "output": output,
        "width": image.width,
        "height": image.height,
        "channels": image.channels,
        "bytes": len(result.data),
        "bpp": bits_per_pixel(len(result.data), image.num_pixels),
        "psnr": psnr(image.pixels, result.reconstruction),
        "seconds": seconds,
        **result.details,
        "same_size": [row.as_dict() for row in same_size],
    }
    console = report_console(output)
    if json_out:
        console.print_json(json.dumps(report))
    elif not quiet:
        console.print(
            f"{output}: {report['bytes']} bytes, {report['bpp']:.4f} bpp, "
            f"PSNR {report['psnr']:.2f} dB, {seconds:.1f} s",
            highlight=False,
        )
        if same_size:
            console.print("same size: " + "; ".join(_same_size_text(row) for row in same_size), highlight=False, soft_wrap=True)


def _same_size_text(row: SameSize) -> str:
    name = {"jpeg": "JPEG", "webp": "WebP"}.get(row.codec, row.codec)
    if not row.fits:
        return f"{name} cannot get this small (quality {row.quality:g}: {row.bytes} bytes, {row.psnr:.2f} dB)"
    return f"{name} {row.psnr:.2f} dB (quality {row.quality:g}, {row.bytes} bytes)"


def decode(
    input: Annotated[str, typer.Argument(help="A .qic stream ('-' reads stdin).")],
    output: Annotated[str, typer.Argument(help="Image to write; format from the extension ('-' writes PNG to stdout).")],
    max_decode_gmac: MaxGmac = None,
    max_decode_mib: MaxMib = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON report.")] = False,
) -> None:
    """Decompress a .qic stream into an image (PNG, or any format from the output's extension).

    Decoding always runs on the CPU and gives exactly the image the encoder reported. Before building anything, the decoder computes the work and memory the stream asks for (`qcodec info` shows them) and refuses a stream over its limits, so a crafted file cannot keep it busy for hours.

    Example:

      qcodec decode photo.qic photo_decoded.png
    """
    with user_errors():
        limits = DecodeLimits.resolve(max_decode_gmac, max_decode_mib)
        data = read_input(input)
        fmt = "PNG" if output == STDIO else format_for_path(output)
        start = time.perf_counter()
        pixels = api.decode(data, limits)
        seconds = time.perf_counter() - start
        write_output(output, encode_image_bytes(pixels, fmt))
    if json_out:
        report = {"input": input, "output": output, "width": pixels.shape[1], "height": pixels.shape[0],
                  "channels": pixels.shape[2], "seconds": seconds}
        report_console(output).print_json(json.dumps(report))


def info(
    input: Annotated[str, typer.Argument(help="A .qic stream ('-' reads stdin).")],
    json_out: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Describe a .qic stream: model, architecture, image, size, bpp, per-section bytes, and what decoding it costs (GMAC, peak MiB)."""
    with user_errors():
        facts = api.inspect(read_input(input))
    console = report_console("")
    if json_out:
        console.print_json(json.dumps(facts))
        return
    table = Table(title=input, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key, value in facts.items():
        if key == "sections":
            value = ", ".join(f"{name} {size} B" for name, size in value.items())
        elif key == "bpp":
            value = f"{value:.4f}"
        elif isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        table.add_row(key.replace("_", " "), str(value))
    console.print(table)
