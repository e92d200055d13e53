"""Shared machinery of the implicit-neural-representation codecs (COIN, quINR).

An INR codec overfits a coordinate network to one image and sends its weights::

    image --grid--> (coords, targets) --fit--> network --named tensors-->
          quantize + entropy-code (qcodec.coding.tensor_codec) --> .qic sections:
              1 model    architecture (codec-specific, written by write_arch)
              2 tensors  per-tensor quantization and entropy-model parameters
              3 payload  ANS words

Decoding rebuilds the network from section 1, loads the dequantized tensors and
evaluates it on the pixel grid. The encoder decodes its own stream the same way, so
the quality it reports is exactly what ``qcodec decode`` produces.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from qcodec.codecs.base import Codec, EncodeResult, ProgressCallback, check_number, effort_text, fitting_steps, resolve_device
from qcodec.codecs.budget import DecodeCost
from qcodec.codecs.inr.coords import TileGrid, pixel_grid
from qcodec.codecs.inr.cost import NetworkCost
from qcodec.codecs.inr.fit import FitConfig, fit
from qcodec.coding.bitstream import ByteReader, ByteWriter, Container, unpack
from qcodec.coding.quantize import MAX_BITS, MIN_BITS, allocate_bits
from qcodec.coding.tensor_codec import decode_tensors, encode_tensors
from qcodec.data.image_io import Image
from qcodec.errors import InvalidInputError
from qcodec.netcompress.qaoa_pruning import prunable_weights, qaoa_prune_

SECTION_MODEL, SECTION_TENSORS, SECTION_PAYLOAD = 1, 2, 3
RENDER_CHUNK = 1 << 16
"""Most pixels evaluated per forward pass when rendering."""

RENDER_BYTES = 1 << 30
"""Activation memory one rendering pass may hold: networks that need more per pixel than
``RENDER_BYTES / RENDER_CHUNK`` (large circuits) render fewer pixels at a time."""


def render_chunk(activation_bytes: float) -> int:
    """Pixels per rendering pass for a network holding ``activation_bytes`` per pixel (256 to :data:`RENDER_CHUNK`)."""
    return int(min(RENDER_CHUNK, max(256, RENDER_BYTES // max(activation_bytes, 1.0))))

ROUNDING_MSE = 1.0 / (255.0**2 * 12.0)
"""MSE (on ``[0, 1]`` values) of rounding to 8 bits: weight errors far below it are invisible."""

Arch = dict[str, int]

COMMON_OPTIONS = {
    "preset": "named architecture size",
    "bpp": "target bits per pixel; picks the architecture predicted closest",
    "steps": "optimizer steps of fitting",
    "effort": f"1 (fastest) .. 5, {effort_text()}",
    "lr": "peak learning rate",
    "bits": "weight quantization bit depth (2-16)",
    "qat_steps": "quantization-aware fine-tuning steps",
    "batch_size": "pixels per optimizer step",
    "seed": "random seed (initialisation and batch order)",
    "device": "auto, cpu or cuda (fitting only; decoding is always on CPU)",
    "prune": "fraction of the prunable weights zeroed by QAOA-inspired pruning before QAT (0-1)",
}


def sample_distortion(
    model: nn.Module, coords: torch.Tensor, targets: torch.Tensor, samples: int = 16384, seed: int = 0
) -> Callable[[Mapping[str, torch.Tensor]], float]:
    """A fast distortion proxy for :func:`~qcodec.coding.quantize.allocate_bits`.

    Returns a function mapping a full set of parameters ``{name: tensor}`` to the MSE of
    ``model`` run with them on a fixed random sample of ``samples`` pixels.
    """
    generator = torch.Generator().manual_seed(seed)
    index = torch.randperm(coords.shape[0], generator=generator)[:samples].to(coords.device)
    inputs, expected = coords[index], targets[index]

    def distortion(params: Mapping[str, torch.Tensor]) -> float:
        with torch.no_grad():
            output = functional_call(model, dict(params), (inputs,))
            return float(torch.mean((output - expected) ** 2))

    return distortion


def render(
    model: nn.Module, height: int, width: int, channels: int, chunk: int = RENDER_CHUNK, tiles: TileGrid | None = None
) -> np.ndarray:
    """Evaluate a coordinate network on every pixel, about ``chunk`` pixels at a time: ``uint8 (H, W, C)``,
    values rounded from ``[0, 1]``. With ``tiles`` the network takes each tile's local coordinates
    ``(B, P, 2)`` (:class:`~qcodec.codecs.inr.coords.TileGrid`), else the image's ``(N, 2)``."""
    coords = pixel_grid(height, width) if tiles is None else tiles.coords(height, width)
    rows = chunk if tiles is None else max(1, chunk // tiles.count)
    with torch.no_grad():
        values = torch.cat([model(part) for part in coords.split(rows)])
    if tiles is not None:
        values = tiles.merge(values, height, width)
    pixels = torch.round(values.clamp(0.0, 1.0) * 255.0).to(torch.uint8)
    return pixels.reshape(height, width, channels).numpy()


@dataclass(frozen=True)
class INRSettings:
    """Resolved encode settings of an INR codec (see :data:`COMMON_OPTIONS`).

    Attributes:
        arch: the architecture (codec-specific integer fields).
        fit: the float fitting phase.
        bits: base weight bit depth; sensitive tensors get more (:func:`qcodec.coding.quantize.allocate_bits`).
        qat_steps: steps of quantization-aware fine-tuning, at ``qat_lr_ratio * fit.lr``.
        seed: seeds initialisation and batch order; device: where fitting runs (``auto``, ``cpu``,
            ``cuda``); backend: how quantum layers run while fitting (``torch`` or a PennyLane
            device); prune: fraction of prunable weights zeroed before QAT.
    """

    arch: Arch
    fit: FitConfig
    bits: int = 8
    qat_steps: int = 0
    qat_lr_ratio: float = 0.1
    seed: int = 0
    device: str = "auto"
    backend: str = "torch"
    prune: float = 0.0


class INRCodec(Codec):
    """Base class of codecs that send the weights of a network overfitted to the image.

    Subclasses define the architecture: its option names and limits (:attr:`arch_limits`),
    :attr:`presets`, :meth:`build_model`, :meth:`write_arch` / :meth:`read_arch`, and
    :meth:`candidate_archs` for ``--bpp``; and the training defaults (:attr:`default_fit`).
    A tiled network (:meth:`tile_grid`) takes each tile's local coordinates ``(B, P, 2)`` and
    is fitted on batches of the same pixel positions in every tile.
    """

    arch_limits: Mapping[str, tuple[int, int]] = {}
    presets: Mapping[str, Arch] = {}
    default_preset: str = ""
    default_fit: FitConfig = FitConfig()
    default_bits: int = 8
    default_qat_steps: int = 0
    bits_per_weight: Mapping[int, float] = {}
    """Measured mean coded bits per weight at each quantization depth (for ``--bpp``)."""

    @abstractmethod
    def build_model(self, arch: Arch, channels: int, backend: str = "torch") -> nn.Module:
        """A freshly initialised network for ``arch`` producing ``channels`` outputs.

        ``backend`` selects how quantum layers run while fitting (decoding always uses ``"torch"``).
        """

    @abstractmethod
    def write_arch(self, writer: ByteWriter, arch: Arch) -> None:
        """Serialize ``arch`` into the model section."""

    @abstractmethod
    def read_arch(self, reader: ByteReader) -> Arch:
        """Parse the model section (raise :class:`~qcodec.errors.BitstreamError` if invalid)."""

    @abstractmethod
    def candidate_archs(self, image: Image, options: Mapping[str, Any]) -> list[Arch]:
        """Architectures ``--bpp`` chooses among for ``image`` (``options``: the other encode options)."""

    def preset_arch(self, name: str, image: Image, options: Mapping[str, Any]) -> Arch:
        """The architecture of preset ``name`` for ``image`` (``options``: the other encode options)."""
        return dict(self.presets[name])

    def tile_grid(self, arch: Arch) -> TileGrid | None:
        """The tiles of a tiled ``arch`` (one network per tile), or ``None`` for one network on the whole image."""
        return None

    @abstractmethod
    def network_cost(self, arch: Arch, channels: int) -> NetworkCost:
        """What evaluating the network ``arch`` costs, without building it."""

    # -- settings -----------------------------------------------------------------------

    def settings(self, options: Mapping[str, Any], image: Image) -> INRSettings:
        """Validate ``options`` and resolve the architecture and training configuration."""
        self.check_options(options)
        check_number(options, "batch_size", 1, integer=True)
        check_number(options, "qat_steps", 0, integer=True)
        check_number(options, "seed", 0, integer=True)
        for name in ("lr", "bpp"):
            check_number(options, name, 1e-12, integer=False)
        bits = self.default_bits if options.get("bits") is None else options["bits"]
        if not MIN_BITS <= bits <= MAX_BITS:
            raise InvalidInputError(f"--bits must be between {MIN_BITS} and {MAX_BITS}, got {bits}")
        config = replace(
            self.default_fit,
            steps=fitting_steps(options, self.default_fit.steps),
            **{k: options[k] for k in ("lr", "batch_size") if options.get(k) is not None},
        )
        prune = options.get("prune") or 0.0
        if not 0.0 <= prune < 1.0:
            raise InvalidInputError(f"--prune must be in [0, 1), got {prune}")
        qat_steps = options.get("qat_steps")
        arch = self._resolve_arch(options, image, bits)
        if prune and self.tile_grid(arch) is not None:
            raise InvalidInputError("--prune applies to networks without tiles")
        return INRSettings(
            arch=arch,
            fit=config,
            bits=bits,
            qat_steps=self.default_qat_steps if qat_steps is None else qat_steps,
            seed=options.get("seed") or 0,
            device=options.get("device") or "auto",
            backend=options.get("backend") or "torch",
            prune=prune,
        )

    def _resolve_arch(self, options: Mapping[str, Any], image: Image, bits: int) -> Arch:
        explicit = {k: options[k] for k in self.arch_limits if options.get(k) is not None}
        preset, bpp = options.get("preset"), options.get("bpp")
        if preset is not None and bpp is not None:
            raise InvalidInputError("give either --preset or --bpp, not both")
        if bpp is not None:
            if explicit:
                raise InvalidInputError("--bpp chooses the architecture itself; drop the architecture flags")
            target = bpp * image.num_pixels / 8
            candidates = self.candidate_archs(image, options)
            return min(candidates, key=lambda a: abs(self.predicted_bytes(a, image.channels, bits) - target))
        if preset is not None and preset not in self.presets:
            raise InvalidInputError(f"unknown preset {preset!r} (choose from: {', '.join(self.presets)})")
        arch = self.preset_arch(preset or self.default_preset, image, options)
        arch.update(explicit)
        for name, (low, high) in self.arch_limits.items():
            if not low <= arch[name] <= high:
                raise InvalidInputError(f"--{name} must be between {low} and {high}, got {arch[name]}")
        return arch

    def prunable_parameters(self, model: nn.Module) -> dict[str, nn.Parameter]:
        """Weights ``--prune`` may zero: every linear layer's weight (override to exclude sensitive ones)."""
        return prunable_weights(model)

    def num_parameters(self, arch: Arch, channels: int) -> int:
        """Parameters of the network ``arch`` (:meth:`network_cost`; nothing is built)."""
        return self.network_cost(arch, channels).parameters

    def arch_cost(self, arch: Arch, height: int, width: int, channels: int) -> DecodeCost:
        """Cost of decoding an ``arch`` stream of a ``height x width`` image: the network on every
        pixel, :func:`render_chunk` pixels at a time. Memory: the coordinates (8 B a pixel), the float
        output with its clamp and rounding copies (24 B per pixel and channel), one chunk's
        activations, per parameter its integers, float and the network's copy (24 B), and what
        the network holds whatever the chunk (:attr:`NetworkCost.fixed_bytes`)."""
        cost = self.network_cost(arch, channels)
        tiles = self.tile_grid(arch)
        if tiles is not None:  # the image extended to whole tiles
            tile_h, tile_w = tiles.tile_size(height, width)
            height, width = tile_h * tiles.rows, tile_w * tiles.cols
        pixels = height * width
        chunk = render_chunk(cost.activation_bytes)
        if tiles is not None:  # render() takes whole rows of tiles: at least one pixel of every tile
            chunk = max(1, chunk // tiles.count) * tiles.count
        peak = 8 * pixels + 24 * channels * pixels + min(pixels, chunk) * cost.activation_bytes + 24 * cost.parameters + cost.fixed_bytes
        return DecodeCost(cost.macs_per_pixel * pixels, peak)

    def decode_cost(self, container: Container) -> DecodeCost:
        return self.arch_cost(self._arch(container), container.height, container.width, container.channels)

    def stream_cost(self, image: Image, options: Mapping[str, Any]) -> DecodeCost:
        return self.arch_cost(self.settings(options, image).arch, image.height, image.width, image.channels)

    def predicted_bytes(self, arch: Arch, channels: int, bits: int) -> float:
        """Predicted stream size: measured bits per weight times parameters, plus headers (nothing is built)."""
        per_weight = self.bits_per_weight.get(bits, bits + 0.5)
        cost = self.network_cost(arch, channels)
        return 30 + 12 * cost.tensors + cost.parameters * per_weight / 8

    # -- coding -------------------------------------------------------------------------

    def encode(self, image: Image, options: Mapping[str, Any], progress: ProgressCallback | None = None) -> EncodeResult:
        settings = self.settings(options, image)
        device = resolve_device(settings.device)
        start = time.perf_counter()
        torch.manual_seed(settings.seed)
        model = self.build_model(settings.arch, image.channels, settings.backend).to(device)
        values = torch.from_numpy(image.pixels.astype(np.float32) / 255.0)
        tiles = self.tile_grid(settings.arch)
        if tiles is None:
            coords, targets = pixel_grid(image.height, image.width), values.reshape(-1, image.channels)
        else:
            coords, targets = tiles.coords(image.height, image.width), tiles.split(values)
        coords, targets = coords.to(device), targets.to(device)
        fit_config = settings.fit
        if tiles is not None:  # a batch takes the same pixel positions in every tile
            fit_config = replace(fit_config, batch_size=max(1, fit_config.batch_size // tiles.count))
        fit(model, coords, targets, fit_config, seed=settings.seed, progress=progress)
        masks = None
        if settings.prune:
            masks = qaoa_prune_(self.prunable_parameters(model), settings.prune)  # deterministic: no entanglement draws
        bits = allocate_bits(
            {name: p.detach() for name, p in model.named_parameters()},
            settings.bits,
            sample_distortion(model, coords, targets, samples=max(1, 16384 // (tiles.count if tiles else 1)), seed=settings.seed),
            floor=ROUNDING_MSE,
        )
        if settings.qat_steps:
            qat = replace(fit_config, steps=settings.qat_steps, lr=settings.fit.lr * settings.qat_lr_ratio)
            fit(model, coords, targets, qat, seed=settings.seed + 1, progress=progress, bits=bits, masks=masks)
        fit_seconds = time.perf_counter() - start
        named = {name: p.detach().to("cpu") for name, p in model.named_parameters()}
        encoded = encode_tensors(named, bits)
        arch_section = ByteWriter()
        self.write_arch(arch_section, settings.arch)
        data = self.pack(
            image,
            {SECTION_MODEL: arch_section.getvalue(), SECTION_TENSORS: encoded.table, SECTION_PAYLOAD: encoded.payload},
        )
        reconstruction = self.decode(unpack(data))
        details = {
            "architecture": settings.arch,
            "parameters": sum(t.numel() for t in named.values()),
            "bits": bits,
            "steps": settings.fit.steps,
            "qat_steps": settings.qat_steps,
            "pruned": settings.prune,
            "device": str(device),
            "fit_seconds": fit_seconds,
        }
        return EncodeResult(data, reconstruction, details)

    def _arch(self, container: Container) -> Arch:
        return self.read_arch(ByteReader(container.section(SECTION_MODEL), "model section"))

    def load_model(self, container: Container) -> nn.Module:
        """The network of a parsed stream, on CPU, with its decoded weights."""
        return self._load(self._arch(container), container)

    def _load(self, arch: Arch, container: Container) -> nn.Module:
        model = self.build_model(arch, container.channels)
        shapes = {name: tuple(p.shape) for name, p in model.named_parameters()}
        tensors = decode_tensors(container.section(SECTION_TENSORS), container.section(SECTION_PAYLOAD), shapes)
        model.load_state_dict(tensors, strict=False)
        return model.eval()

    def decode(self, container: Container) -> np.ndarray:
        arch = self._arch(container)
        chunk = render_chunk(self.network_cost(arch, container.channels).activation_bytes)
        model = self._load(arch, container)
        return render(model, container.height, container.width, container.channels, chunk, self.tile_grid(arch))

    def describe(self, container: Container) -> dict[str, Any]:
        arch = self._arch(container)
        cost = self.network_cost(arch, container.channels)
        return {"architecture": arch, "parameters": cost.parameters, "decode_macs_per_pixel": round(cost.macs_per_pixel)}
