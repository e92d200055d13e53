"""The latent-grid codec (``--model grid``): Cool-chic / C3-style overfitted latents plus a tiny decoder.

::

    image --fit (qcodec.codecs.grid.fit)--> GridModel: latent grids + context model + synthesis
          decoder weights --quantize + entropy-code (qcodec.coding.tensor_codec)--> sections 2, 3
          latents --round--> rANS under the fixed-point context model (qcodec.codecs.grid.latent_coding) --> section 4
    .qic sections:
        1 model    architecture: levels, synthesis width, context width and depth, quantum qubits,
                   latent coding (u8 each)
        2 tensors  per-tensor quantization and entropy-model parameters of the decoder weights
        3 payload  ANS words of the decoder weights
        4 latents  rANS words of the latent grids (coarsest first, each in raster order)

Decoding rebuilds the decoder from sections 1-3, decodes the latents with the fixed-point
context model (bit-exact on any machine), then runs upsampling and synthesis on one CPU
thread, so the image is the same whatever the caller's thread count. The encoder builds its
reported reconstruction with the same function from the same decoded weights.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from qcodec.codecs.base import (
    Codec,
    EncodeResult,
    ProgressCallback,
    check_number,
    effort_text,
    fitting_steps,
    image_tensor,
    resolve_device,
    tensor_pixels,
)
from qcodec.codecs.budget import DecodeCost
from qcodec.codecs.grid.fit import GridFitConfig, RateControl, fit_grid, rd_loss
from qcodec.codecs.grid.latent_coding import FixedPointContext, decode_latents, encode_latents
from qcodec.codecs.grid.network import ContextModel, GridModel, Synthesis, decode_macs_per_pixel, grid_sizes, plane_layout
from qcodec.coding.bitstream import ByteReader, ByteWriter, Container
from qcodec.coding.quantize import choose_bits
from qcodec.coding.tensor_codec import EncodedTensors, decode_tensors, encode_tensors
from qcodec.data.image_io import Image
from qcodec.errors import BitstreamError, InvalidInputError
from qcodec.threads import torch_threads

SECTION_MODEL, SECTION_TENSORS, SECTION_PAYLOAD, SECTION_LATENTS = 1, 2, 3, 4

MAX_GRID_PIXELS = 1 << 23
"""Largest image the grid codec codes (8 Mi pixels): fitting keeps about 1.5 KB per pixel of
activations, decoding about 200 B."""

QUALITY_LAMBDAS = {1: 0.001, 2: 0.002, 3: 0.004, 4: 0.008, 5: 0.016}
"""``--quality`` levels and their lambda (rate + lambda * 255^2 * MSE)."""

DEFAULT_QUALITY = 3

DEFAULT_STEPS = 400
"""Fitting steps of the default effort (3)."""

OVERHEAD_BYTES = 1350
"""Estimate of what a grid stream holds besides the latents, for ``--bpp``: the coded decoder
weights (1,229-1,469 bytes measured on Kodak, ``docs/grid.md``) plus the container (35)."""

MIN_LATENT_SHARE = 0.2
"""Smallest share of a ``--bpp`` target left to the latents; below it the target is refused."""


RASTER_CODING = 1
"""The model section's last byte: latents coded in raster order (:mod:`qcodec.codecs.grid.latent_coding`).
Streams written before 2026-12-08 end the section one byte earlier (four-phase coding), and are refused."""

QUANTUM_BRANCH = 0x80
"""Flag of the model section's quantum byte: ``0x80 | n`` is a :class:`~qcodec.codecs.grid.network.QuantumBranch`
of ``n`` qubits. Values ``2 .. 8`` without it were the quantum layer that the branch replaced."""


@dataclass(frozen=True)
class GridArch:
    """What section 1 stores: the shape of the decoder."""

    levels: int = 7
    hidden: int = 16
    context_hidden: int = 16
    context_layers: int = 2
    quantum_qubits: int = 0

    LIMITS = {"levels": (1, 10), "hidden": (1, 64), "context_hidden": (1, 64), "context_layers": (1, 4), "quantum_qubits": (0, 8)}

    def write(self, writer: ByteWriter) -> None:
        for name in self.LIMITS:
            value = getattr(self, name)
            writer.u8(QUANTUM_BRANCH | value if name == "quantum_qubits" and value else value)
        writer.u8(RASTER_CODING)

    @classmethod
    def read(cls, reader: ByteReader) -> GridArch:
        values = {name: reader.u8() for name in cls.LIMITS}
        quantum = values["quantum_qubits"]
        if quantum & QUANTUM_BRANCH:
            values["quantum_qubits"] = quantum & ~QUANTUM_BRANCH
            if values["quantum_qubits"] < 2:
                raise BitstreamError("grid model section: a quantum branch needs at least 2 qubits")
        elif 2 <= quantum <= 8:
            raise BitstreamError(
                "grid stream uses the old quantum synthesis layer, which the residual quantum branch "
                "replaced: this qcodec cannot decode it (re-encode the image with --quantum-synthesis)"
            )
        elif quantum:
            raise BitstreamError(f"grid model section: quantum = {quantum} is neither 0 nor a quantum branch")
        if not reader.remaining:
            raise BitstreamError(
                "grid stream uses the four-phase latent coding of an earlier qcodec, which raster-order "
                "coding replaced: this qcodec cannot decode it (re-encode the image)"
            )
        coding = reader.u8()
        reader.expect_end()
        if coding != RASTER_CODING:
            raise BitstreamError(f"grid model section: latent coding {coding} is unknown (this qcodec codes {RASTER_CODING})")
        for name, (low, high) in cls.LIMITS.items():
            if not low <= values[name] <= high:
                raise BitstreamError(f"grid model section: {name} = {values[name]} is out of range")
        return cls(**values)

    def macs_per_pixel(self, height: int, width: int, channels: int) -> dict[str, float]:
        """Decoding multiply-accumulates per pixel by part (:func:`~qcodec.codecs.grid.network.decode_macs_per_pixel`)."""
        return decode_macs_per_pixel(
            height, width, channels, self.levels, self.hidden, self.context_hidden, self.context_layers, self.quantum_qubits
        )

    def decode_cost(self, height: int, width: int, channels: int) -> DecodeCost:
        """Work and peak memory of decoding this decoder on a ``height x width`` image, nothing built.

        Memory, fitted to measured peaks with some margin (``benchmarks/bench_decode.py``): per
        latent 24 B (its float64 value and integer copies); per pixel 8 B per upsampled plane and
        output channel and 16 B per synthesis feature (float32 copies) plus 64 B of working
        space; the quantum branch's states (complex64, twelve copies of ``2**qubits`` amplitudes).
        """
        pixels = height * width
        planes = len(plane_layout(self.levels, channels))
        peak = 24 * self.num_latents(height, width, channels) + pixels * (64 + 8 * (planes + channels) + 16 * self.hidden)
        if self.quantum_qubits:
            peak += pixels * 96 * 2**self.quantum_qubits
        return DecodeCost(self.macs_per_pixel(height, width, channels)["total"] * pixels, peak)

    def num_latents(self, height: int, width: int, channels: int) -> int:
        """Latent values of a ``height x width`` image (all planes)."""
        sizes = grid_sizes(height, width, self.levels)
        return sum(sizes[p.level][0] * sizes[p.level][1] for p in plane_layout(self.levels, channels))

    def decoder_parameters(self, channels: int) -> int:
        """Parameters of the context model and synthesis (what sections 2-3 carry); builds only those small modules."""
        planes = len(plane_layout(self.levels, channels))
        modules = (ContextModel(self.context_hidden, self.context_layers), Synthesis(planes, self.hidden, channels, self.quantum_qubits))
        return sum(p.numel() for m in modules for p in m.parameters())

    def build(self, height: int, width: int, channels: int) -> GridModel:
        return GridModel(
            height, width, channels, self.levels, self.hidden, self.context_hidden, self.context_layers, self.quantum_qubits
        )


def render(model: GridModel, grids: list[torch.Tensor]) -> np.ndarray:
    """``uint8 (H, W, C)`` image of integer latent grids, computed on one CPU thread (deterministic)."""
    with torch_threads(1), torch.no_grad():
        image = model.synthesize([g.to(torch.float32) for g in grids])[0]
    return tensor_pixels(image)


class GridCodec(Codec):
    """Hierarchical latent grids with an auto-regressive context model (see the module docstring)."""

    name = "grid"
    codec_id = 4
    description = "overfitted latent grids + context model + tiny synthesis (Cool-chic style)"
    options = {
        "lmbda": "rate-distortion trade-off lambda (rate + lambda * 255^2 * MSE)",
        "quality": "quality level 1 (lowest rate) .. 5, a preset lambda",
        "bpp": "target bits per pixel of the file: lambda is steered during the fit to reach it",
        "steps": "fitting steps (each a pass over the whole image)",
        "effort": f"1 (fastest) .. 5: {effort_text(DEFAULT_STEPS)}",
        "lr": "peak learning rate",
        "quantum_synthesis": "add a residual parameterized-circuit branch to the synthesis (starts switched off)",
        "seed": "random seed (initialisation and quantization noise)",
        "device": "auto, cpu or cuda (fitting only; decoding is always on CPU)",
    }

    default_steps = DEFAULT_STEPS
    quantum_qubits = 4

    def quality_levels(self) -> list[int]:
        return list(QUALITY_LAMBDAS)

    def fingerprint(self) -> str:
        return "raster-order context model, --bpp by rate control, rate-distortion weight depths, Gaussian relaxation, SOAP for the networks, frozen latents in the last 5 %"

    def settings(self, options: Mapping[str, Any], image: Image) -> tuple[GridArch, GridFitConfig]:
        """Validate ``options`` and resolve the architecture and fitting configuration for ``image``.

        ``bpp`` starts lambda from the measured Kodak curve (:func:`lambda_for_bpp`) and steers it
        towards ``bpp`` minus :data:`OVERHEAD_BYTES` for the latents (:class:`~qcodec.codecs.grid.fit.RateControl`).
        """
        self.check_options(options)
        check_number(options, "seed", 0, integer=True)
        for name in ("lmbda", "lr", "bpp"):
            check_number(options, name, 1e-12, integer=False)
        given = [k for k in ("lmbda", "quality", "bpp") if options.get(k) is not None]
        if len(given) > 1:
            raise InvalidInputError("give one of --lambda, --quality and --bpp")
        control = None
        if options.get("lmbda") is not None:
            lmbda = float(options["lmbda"])
        elif options.get("bpp") is not None:
            bpp = float(options["bpp"])
            control = RateControl(latent_target(bpp, image.num_pixels))
            lmbda = lambda_for_bpp(bpp)
        else:
            quality = options.get("quality")
            quality = DEFAULT_QUALITY if quality is None else quality
            if quality not in QUALITY_LAMBDAS:
                raise InvalidInputError(f"--quality must be one of {', '.join(map(str, QUALITY_LAMBDAS))}, got {quality}")
            lmbda = QUALITY_LAMBDAS[quality]
        arch = GridArch(quantum_qubits=self.quantum_qubits if options.get("quantum_synthesis") else 0)
        config = GridFitConfig(lmbda=lmbda, steps=fitting_steps(options, self.default_steps), rate_control=control)
        if options.get("lr") is not None:
            config = replace(config, lr=float(options["lr"]))
        return arch, config

    def encode(self, image: Image, options: Mapping[str, Any], progress: ProgressCallback | None = None) -> EncodeResult:
        if image.num_pixels > MAX_GRID_PIXELS:
            raise InvalidInputError(f"the grid codec codes images of at most {MAX_GRID_PIXELS} pixels, got {image.num_pixels}")
        arch, config = self.settings(options, image)
        device = resolve_device(options.get("device") or "auto")
        seed = options.get("seed") or 0
        start = time.perf_counter()
        torch.manual_seed(seed)
        model = arch.build(image.height, image.width, image.channels)
        model = model.to(device)
        target = image_tensor(image).to(device)
        lmbda = fit_grid(model, target, config, seed=seed, progress=progress)
        fit_seconds = time.perf_counter() - start
        model = model.cpu()
        target = target.cpu()
        with torch.no_grad():
            grids = model.quantized_latents("round")
            bits, encoded = self._code_weights(model, grids, target, lmbda)
        latents = encode_latents(FixedPointContext(model.context), [g.to(torch.float64) for g in grids], model.coarse)
        arch_section = ByteWriter()
        arch.write(arch_section)
        sections = {
            SECTION_MODEL: arch_section.getvalue(),
            SECTION_TENSORS: encoded.table,
            SECTION_PAYLOAD: encoded.payload,
            SECTION_LATENTS: latents,
        }
        details = {
            "lambda": lmbda,
            "steps": config.steps,
            "quantum_synthesis": bool(arch.quantum_qubits),
            "decoder_parameters": sum(p.numel() for p in model.decoder_parameters().values()),
            "weight_bytes": len(encoded.table) + len(encoded.payload),
            "latent_bytes": len(latents),
            "bits": bits,
            "device": str(device),
            "fit_seconds": fit_seconds,
        }
        if config.rate_control is not None:
            details.update(target_bpp=float(options["bpp"]), start_lambda=config.lmbda, target_latent_bpp=config.rate_control.latent_bpp)
        return EncodeResult(self.pack(image, sections), render(model, grids), details)

    @staticmethod
    def _code_weights(
        model: GridModel, grids: list[torch.Tensor], target: torch.Tensor, lmbda: float
    ) -> tuple[dict[str, int], EncodedTensors]:
        """Quantize and code the decoder weights; leaves ``model`` holding the decoded ones.

        Each tensor gets the depth that minimises the rate-distortion cost (latent rate plus
        lambda times distortion, in bpp) plus its own coded bits per pixel
        (:func:`~qcodec.coding.quantize.choose_bits`).
        """
        named = {name: p.detach().clone() for name, p in model.decoder_parameters().items()}
        pixels = target.shape[-1] * target.shape[-2]
        # The rate depends only on the context tensors and the image only on the synthesis
        # ones, and a trial changes one tensor: recompute only the part whose inputs changed.
        last: dict[str, tuple[list[torch.Tensor], torch.Tensor]] = {}

        def part(prefix: str, params: Mapping[str, torch.Tensor], compute: Callable[[], torch.Tensor]) -> torch.Tensor:
            inputs = [t for name, t in params.items() if name.startswith(prefix)]
            cached = last.get(prefix)
            if cached is None or len(cached[0]) != len(inputs) or any(a is not b for a, b in zip(cached[0], inputs)):
                model.load_state_dict({name: params[name] for name in params if name.startswith(prefix)}, strict=False)
                cached = last[prefix] = (inputs, compute())
            return cached[1]

        def cost(params: Mapping[str, torch.Tensor]) -> float:
            bits = part("context.", params, lambda: model.rate_bits(grids))
            image = part("synthesis.", params, lambda: model.synthesize(grids))
            return float(rd_loss(bits, image, target, lmbda)[0])

        bits = choose_bits(named, cost, 1.0 / pixels)
        encoded = encode_tensors(named, bits)
        model.load_state_dict(encoded.tensors, strict=False)
        return bits, encoded

    def _arch(self, container: Container) -> GridArch:
        if set(container.sections) != {SECTION_MODEL, SECTION_TENSORS, SECTION_PAYLOAD, SECTION_LATENTS}:
            raise BitstreamError("a grid stream has exactly model, tensors, payload and latents sections")
        if container.channels not in (1, 3):
            raise BitstreamError(f"grid streams are grayscale or RGB, not {container.channels} channels")
        if container.width * container.height > MAX_GRID_PIXELS:
            raise BitstreamError(f"stream claims an absurd image size ({container.width}x{container.height})")
        return GridArch.read(ByteReader(container.section(SECTION_MODEL), "model section"))

    def decode(self, container: Container) -> np.ndarray:
        arch = self._arch(container)
        model = arch.build(container.height, container.width, container.channels)
        shapes = {name: tuple(p.shape) for name, p in model.decoder_parameters().items()}
        tensors = decode_tensors(container.section(SECTION_TENSORS), container.section(SECTION_PAYLOAD), shapes)
        model.load_state_dict(tensors, strict=False)
        grids = decode_latents(
            FixedPointContext(model.context), model.sizes, model.coarse, container.section(SECTION_LATENTS)
        )
        return render(model.eval(), grids)

    def decode_cost(self, container: Container) -> DecodeCost:
        return self._arch(container).decode_cost(container.height, container.width, container.channels)

    def stream_cost(self, image: Image, options: Mapping[str, Any]) -> DecodeCost:
        return self.settings(options, image)[0].decode_cost(image.height, image.width, image.channels)

    def describe(self, container: Container) -> dict[str, Any]:
        arch = self._arch(container)
        macs = arch.macs_per_pixel(container.height, container.width, container.channels)
        return {
            "architecture": {name: getattr(arch, name) for name in GridArch.LIMITS},
            "decoder_parameters": arch.decoder_parameters(container.channels),
            "latents": arch.num_latents(container.height, container.width, container.channels),
            "decode_macs_per_pixel": round(macs["total"]),
            "decode_macs_per_pixel_parts": {k: round(v) for k, v in macs.items() if k != "total"},
        }


KODAK_LAMBDA_BPP: tuple[tuple[float, float], ...] = ((0.001, 0.1552), (0.002, 0.2704), (0.004, 0.4477))
"""Measured ``(lambda, mean bpp)`` on Kodak (kodim01, 05, 09, 13, 17, 21; 1,000 steps), where
``--bpp`` starts lambda (``docs/results/grid-kodak-1000-steps/grid.json``)."""


def latent_target(bpp: float, pixels: int) -> float:
    """Latent rate (bpp) that makes a ``pixels``-pixel file about ``bpp``: ``bpp`` less
    :data:`OVERHEAD_BYTES`; raises :class:`InvalidInputError` when that leaves the latents less
    than :data:`MIN_LATENT_SHARE` of it."""
    overhead = 8 * OVERHEAD_BYTES / pixels
    if bpp - overhead < MIN_LATENT_SHARE * bpp:
        least = overhead / (1 - MIN_LATENT_SHARE)
        raise InvalidInputError(
            f"--bpp {bpp:g} is too low for a {pixels:,}-pixel image: the grid decoder's weights alone take "
            f"about {overhead:.2g} bpp (ask for at least {least:.2g}, or use --lambda or --quality)"
        )
    return bpp - overhead


def lambda_for_bpp(bpp: float) -> float:
    """Lambda whose Kodak mean rate is ``bpp``, by log-log interpolation of :data:`KODAK_LAMBDA_BPP`
    (clamped to the measured range)."""
    points = sorted(KODAK_LAMBDA_BPP, key=lambda p: p[1])
    logs = np.log([p[1] for p in points])
    return float(np.exp(np.interp(math.log(bpp), logs, np.log([p[0] for p in points]))))
