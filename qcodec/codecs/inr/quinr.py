"""quINR: overfit a hybrid quantum-classical INR to the image and send its weights.

Two variants (``--variant``):

- ``tiled`` (default): :class:`~qcodec.codecs.inr.quinr_network.TiledQuINR`, one small circuit
  per tile read out in full by a linear head; the tile grid is the rate knob (``--preset``,
  ``--tiles``, or ``--bpp``, which picks the grid from the predicted stream size).
- ``paper``: :class:`~qcodec.codecs.inr.quinr_network.QuINR`, the model as Fujihashi and
  Koike-Akino built it (one circuit, the last basis states through QReLU), kept as the
  reproduction (``docs/quinr.md``).

Model section: ``qubits`` (u8), ``layers`` (u8), ``embed`` (u16), ``flags`` (u8). Paper
variant: bit 0 shuffle, bits 1-2 activation index in
:data:`~qcodec.codecs.inr.quinr_network.ACTIVATIONS`, bit 3 fixed readout, bits 4-7 zero.
Tiled variant: bit 4 set, the other bits zero; then ``rows`` (u16) and ``cols`` (u16). The quantum angles, the embeddings and the readout go
through the same quantizer and entropy coder as COIN's weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from torch import nn

from qcodec.codecs.base import fitting_steps
from qcodec.codecs.inr.codec import COMMON_OPTIONS, Arch, INRCodec, INRSettings
from qcodec.codecs.inr.coords import TileGrid
from qcodec.codecs.inr.cost import NetworkCost
from qcodec.codecs.inr.fit import FitConfig
from qcodec.codecs.inr.quinr_network import ACTIVATIONS, READOUTS, QuINR, TiledQuINR, quinr_cost, tiled_quinr_cost
from qcodec.coding.bitstream import ByteReader, ByteWriter
from qcodec.data.image_io import Image
from qcodec.errors import BitstreamError, InvalidInputError

VARIANTS = ("tiled", "paper")

TILED = {"qubits": 4, "layers": 4, "embed": 8}
"""The tiled variant's circuit: 4 qubits, 4 re-uploading layers, an 8-value sine embedding."""

TILE_SIDES: dict[str, int] = {"tiny": 384, "small": 192, "medium": 96, "large": 64, "xlarge": 40}
"""Tiled presets: the tile side in pixels (the grid follows the image size, so the rate in bpp does not)."""

SIDE_LADDER = (768, 512, 384, 288, 224, 192, 160, 128, 112, 96, 80, 72, 64, 56, 48, 40, 32)
"""Tile sides ``--bpp`` chooses among."""

PAPER_PRESETS: dict[str, Arch] = {
    "tiny": {"qubits": 6, "layers": 4, "embed": 24},
    "small": {"qubits": 6, "layers": 4, "embed": 48},
    "medium": {"qubits": 6, "layers": 4, "embed": 96},
    "large": {"qubits": 6, "layers": 4, "embed": 192},
    "xlarge": {"qubits": 8, "layers": 4, "embed": 256},
}
"""Paper variant: sizes along the paper's rate knob, the embedding size M (6 qubits, 4 re-uploading layers)."""

FRONTIER_EMBEDS = (12, 18, 24, 36, 48, 72, 96, 144, 192, 288, 384)
"""Paper variant: embedding sizes ``--bpp`` chooses among (6 qubits, 4 layers), as the paper draws its RD curve."""

TILED_FLAG = 1 << 4
MAX_TILES = 4096


def _param_groups(model: nn.Module, lr: float) -> list[dict]:
    """The paper's setting: lr :attr:`QuinrCodec.quantum_lr` (0.1) for the quantum angles, ``lr`` for the classical layers."""
    quantum = list(model.quantum_parameters())
    ids = {id(p) for p in quantum}
    classical = [p for p in model.parameters() if id(p) not in ids]
    return [{"params": quantum, "lr": QuinrCodec.quantum_lr}, {"params": classical, "lr": lr}]


class QuinrCodec(INRCodec):
    """quINR (see the module docstring); circuits run on qcodec's batched simulator."""

    name = "quinr"
    codec_id = 2
    description = "quINR: sine embedding + simulated parameterized quantum circuits (one per tile), weights coded like COIN's"
    options = {
        **COMMON_OPTIONS,
        "variant": "tiled (default: one circuit per tile, capacity grows with the rate) or paper (the AAAI 2025 model)",
        "tiles": "tiled variant: ROWSxCOLS tile grid (default from the preset)",
        "qubits": "number of qubits N_q",
        "layers": "QNN layers (embedding + entangling)",
        "embed": "sine embedding size M",
        "backend": "torch (qcodec's simulator) or a PennyLane device name for fitting",
        "shuffle": "paper variant: shuffled data re-uploading (default on)",
        "activation": "paper variant: output activation, qrelu, m-qrelu or none",
        "readout": "paper variant: probability-to-pixel map, affine (learnable) or fixed",
    }
    arch_limits = {"qubits": (2, 12), "layers": (1, 64), "embed": (1, 1024)}
    presets = PAPER_PRESETS
    default_preset = "medium"
    default_fit = FitConfig(steps=1500, lr=1e-2, batch_size=32768, optimizer="adam", param_groups=_param_groups)
    default_bits = 8
    default_qat_steps = 150
    quantum_lr = 1e-1
    paper_fit = FitConfig(steps=300, lr=1e-2, batch_size=4096, optimizer="adamw", param_groups=_param_groups)

    # -- settings ------------------------------------------------------------------------

    @staticmethod
    def _variant(options: Mapping[str, Any]) -> str:
        variant = options.get("variant") or "tiled"
        if variant not in VARIANTS:
            raise InvalidInputError(f"--variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
        return variant

    def settings(self, options: Mapping[str, Any], image: Image) -> INRSettings:
        variant = self._variant(options)
        paper_only = [k for k in ("shuffle", "activation", "readout") if options.get(k) is not None]
        if variant == "tiled" and paper_only:
            raise InvalidInputError(f"--{paper_only[0]} applies to --variant paper")
        if variant == "paper" and options.get("tiles") is not None:
            raise InvalidInputError("--tiles applies to the tiled variant")
        flags = {k: options[k] for k in paper_only}
        settings = super().settings({k: v for k, v in options.items() if k not in flags}, image)
        if variant == "paper":
            settings = self._paper_settings(settings, options, flags)
        return settings

    def _paper_settings(self, settings: INRSettings, options: Mapping[str, Any], flags: Mapping[str, Any]) -> INRSettings:
        arch = dict(settings.arch)
        if "shuffle" in flags:
            arch["shuffle"] = int(bool(flags["shuffle"]))
        if "activation" in flags:
            if flags["activation"] not in ACTIVATIONS:
                raise InvalidInputError(f"--activation must be one of {', '.join(ACTIVATIONS)}")
            arch["activation"] = ACTIVATIONS.index(flags["activation"])
        if "readout" in flags:
            if flags["readout"] not in READOUTS:
                raise InvalidInputError(f"--readout must be one of {', '.join(READOUTS)}")
            arch["fixed_readout"] = int(flags["readout"] == "fixed")
        fit = replace(
            self.paper_fit,
            steps=fitting_steps(options, self.paper_fit.steps),
            **{k: options[k] for k in ("lr", "batch_size") if options.get(k) is not None},
        )
        qat_steps = 30 if options.get("qat_steps") is None else options["qat_steps"]
        return replace(settings, arch=arch, fit=fit, qat_steps=qat_steps)

    def preset_arch(self, name: str, image: Image, options: Mapping[str, Any]) -> Arch:
        if self._variant(options) == "paper":
            return dict(PAPER_PRESETS["tiny" if options.get("preset") is None else name])
        tiles = TileGrid.parse(options["tiles"]) if options.get("tiles") is not None else TileGrid.of_side(
            image.height, image.width, TILE_SIDES[name]
        )
        if tiles.count > MAX_TILES:
            raise InvalidInputError(f"--tiles gives {tiles.count} tiles; at most {MAX_TILES}")
        return {**TILED, "variant": 1, "rows": tiles.rows, "cols": tiles.cols}

    def candidate_archs(self, image: Image, options: Mapping[str, Any]) -> list[Arch]:
        if self._variant(options) == "paper":
            return [{"qubits": 6, "layers": 4, "embed": m} for m in FRONTIER_EMBEDS]
        if options.get("tiles") is not None:
            raise InvalidInputError("--bpp chooses the tile grid itself; drop --tiles")
        grids = {TileGrid.of_side(image.height, image.width, side) for side in SIDE_LADDER}
        grids = {g for g in grids if g.count <= MAX_TILES}
        return [{**TILED, "variant": 1, "rows": g.rows, "cols": g.cols} for g in sorted(grids, key=lambda g: g.count)]

    # -- the network -----------------------------------------------------------------------

    def tile_grid(self, arch: Arch) -> TileGrid | None:
        return TileGrid(arch["rows"], arch["cols"]) if arch.get("variant") else None

    def build_model(self, arch: Arch, channels: int, backend: str = "torch") -> nn.Module:
        if arch.get("variant"):
            if backend != "torch":
                raise InvalidInputError("--backend applies to --variant paper; the tiled variant runs on qcodec's simulator")
            tiles = arch["rows"] * arch["cols"]
            return TiledQuINR(tiles, arch["qubits"], arch["layers"], arch["embed"], channels)
        try:
            return QuINR(
                arch["qubits"],
                arch["layers"],
                arch["embed"],
                out_features=channels,
                shuffle=bool(arch.get("shuffle", 1)),
                activation=ACTIVATIONS[arch.get("activation", 0)],
                readout="fixed" if arch.get("fixed_readout", 0) else "affine",
                backend=backend,
            )
        except Exception as exc:  # PennyLane reports unknown devices with its own exception types
            if backend == "torch":
                raise
            raise InvalidInputError(f"cannot use PennyLane device {backend!r} ({exc})") from None

    def network_cost(self, arch: Arch, channels: int) -> NetworkCost:
        if arch.get("variant"):
            tiles = arch["rows"] * arch["cols"]
            return tiled_quinr_cost(tiles, arch["qubits"], arch["layers"], arch["embed"], channels)
        return quinr_cost(arch["qubits"], arch["layers"], arch["embed"], channels, not arch.get("fixed_readout", 0))

    # -- model section ---------------------------------------------------------------------

    def write_arch(self, writer: ByteWriter, arch: Arch) -> None:
        writer.u8(arch["qubits"])
        writer.u8(arch["layers"])
        writer.u16(arch["embed"])
        if arch.get("variant"):
            writer.u8(TILED_FLAG)
            writer.u16(arch["rows"])
            writer.u16(arch["cols"])
            return
        flags = arch.get("shuffle", 1) | (arch.get("activation", 0) << 1) | (arch.get("fixed_readout", 0) << 3)
        writer.u8(flags)

    def read_arch(self, reader: ByteReader) -> Arch:
        arch = {"qubits": reader.u8(), "layers": reader.u8(), "embed": reader.u16()}
        flags = reader.u8()
        valid = all(low <= arch[k] <= high for k, (low, high) in self.arch_limits.items())
        if flags & TILED_FLAG:
            arch.update(variant=1, rows=reader.u16(), cols=reader.u16())
            reader.expect_end()
            tiles = arch["rows"] * arch["cols"]
            if not valid or flags != TILED_FLAG or not 1 <= tiles <= MAX_TILES:
                raise BitstreamError(f"invalid quINR architecture in stream ({arch})")
            return arch
        reader.expect_end()
        arch.update(shuffle=flags & 1, activation=(flags >> 1) & 3, fixed_readout=(flags >> 3) & 1)
        if not valid or arch["activation"] >= len(ACTIVATIONS) or flags >> 4:
            raise BitstreamError(f"invalid quINR architecture in stream ({arch})")
        return arch


