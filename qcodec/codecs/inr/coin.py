"""COIN (Dupont et al. 2021): overfit a SIREN to the image and send its weights.

Model section layout: ``layers`` (u8), ``width`` (u16), and for a tiled network (``--tiles``,
one SIREN per tile) ``rows`` (u16) and ``cols`` (u16). The rate knob is the architecture:
presets follow the sizes of the COIN paper; ``--bpp`` picks the (per-tile) size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from qcodec.codecs.inr.codec import COMMON_OPTIONS, Arch, INRCodec
from qcodec.codecs.inr.coords import TileGrid
from qcodec.codecs.inr.cost import NetworkCost
from qcodec.codecs.inr.fit import FitConfig
from qcodec.codecs.inr.siren import Siren, TiledSiren, siren_macs_per_pixel, siren_num_parameters
from qcodec.coding.bitstream import ByteReader, ByteWriter
from qcodec.data.image_io import Image
from qcodec.errors import BitstreamError, InvalidInputError

COIN_PRESETS: dict[str, Arch] = {
    "tiny": {"layers": 5, "width": 20},
    "small": {"layers": 5, "width": 30},
    "medium": {"layers": 10, "width": 28},
    "large": {"layers": 10, "width": 40},
    "xlarge": {"layers": 13, "width": 49},
}
"""Layers x width of the COIN paper's architectures, smallest to largest."""


class CoinCodec(INRCodec):
    """COIN: a SIREN ``(x, y) -> RGB`` overfitted with Adam on MSE (see :class:`~qcodec.codecs.inr.siren.Siren`)."""

    name = "coin"
    codec_id = 1
    description = "COIN: SIREN MLP overfitted to the image, quantized + entropy-coded weights"
    options = {
        **COMMON_OPTIONS,
        "layers": "number of sine layers",
        "width": "units per sine layer",
        "tiles": "ROWSxCOLS: one SIREN per tile (default one for the whole image)",
    }
    arch_limits = {"layers": (1, 64), "width": (1, 1024)}
    tile_limit = 4096
    """Most tiles a stream may have."""
    presets = COIN_PRESETS
    default_preset = "medium"
    default_fit = FitConfig(steps=2000, lr=1e-3, batch_size=16384)
    default_bits = 7
    default_qat_steps = 200
    bits_per_weight = {6: 7.6, 7: 7.7, 8: 8.1, 9: 8.9, 10: 9.9}
    """Measured by benchmarks/bench_coin.py on kodim23 (10x28, with bit allocation)."""

    def tile_grid(self, arch: Arch) -> TileGrid | None:
        tiles = TileGrid(arch.get("rows", 1), arch.get("cols", 1))
        return tiles if tiles.count > 1 else None

    def build_model(self, arch: Arch, channels: int, backend: str = "torch") -> nn.Module:
        tiles = self.tile_grid(arch)
        if tiles is None:
            return Siren(arch["layers"], arch["width"], out_features=channels)
        return TiledSiren(tiles.count, arch["layers"], arch["width"], out_features=channels)

    def preset_arch(self, name: str, image: Image, options: Mapping[str, Any]) -> Arch:
        return {**self.presets[name], **_tiles_of(options)}

    def prunable_parameters(self, model: nn.Module) -> dict[str, nn.Parameter]:
        """Hidden and output weights; the first sine layer (errors amplified by omega_0 = 30) is kept whole."""
        weights = super().prunable_parameters(model)
        weights.pop("body.0.linear.weight")
        return weights

    def network_cost(self, arch: Arch, channels: int) -> NetworkCost:
        layers, width = arch["layers"], arch["width"]
        tiles = arch.get("rows", 1) * arch.get("cols", 1)
        parameters = tiles * siren_num_parameters(layers, width, channels)
        # three live activations of `width` float32 features (linear output, sine, next input)
        return NetworkCost(siren_macs_per_pixel(layers, width, channels), parameters, 2 * (layers + 1), 12.0 * width)

    def write_arch(self, writer: ByteWriter, arch: Arch) -> None:
        writer.u8(arch["layers"])
        writer.u16(arch["width"])
        if self.tile_grid(arch) is not None:
            writer.u16(arch["rows"])
            writer.u16(arch["cols"])

    def read_arch(self, reader: ByteReader) -> Arch:
        arch = {"layers": reader.u8(), "width": reader.u16()}
        if reader.remaining:
            arch.update(rows=reader.u16(), cols=reader.u16())
        reader.expect_end()
        for name, (low, high) in self.arch_limits.items():
            if not low <= arch[name] <= high:
                raise BitstreamError(f"invalid COIN architecture in stream ({arch['layers']}x{arch['width']})")
        if "rows" in arch and not (arch["rows"] >= 1 and arch["cols"] >= 1 and 1 < arch["rows"] * arch["cols"] <= self.tile_limit):
            raise BitstreamError(f"invalid COIN tile grid in stream ({arch['rows']}x{arch['cols']})")
        return arch

    def candidate_archs(self, image: Image, options: Mapping[str, Any]) -> list[Arch]:
        tiny = [{"layers": 3, "width": w} for w in range(6, 14, 2)]
        shallow = [{"layers": 5, "width": w} for w in range(8, 34, 2)]
        deep = [{"layers": 10, "width": w} for w in range(20, 66, 2)]
        sizes = tiny + shallow + deep + [{"layers": 13, "width": w} for w in range(40, 66, 3)]
        return [{**size, **_tiles_of(options)} for size in sizes]


def _tiles_of(options: Mapping[str, Any]) -> Arch:
    """The ``rows``/``cols`` fields of ``--tiles`` (none for one network)."""
    if options.get("tiles") is None:
        return {}
    tiles = TileGrid.parse(options["tiles"])
    if tiles.count > CoinCodec.tile_limit:
        raise InvalidInputError(f"--tiles gives {tiles.count} tiles; at most {CoinCodec.tile_limit}")
    return {"rows": tiles.rows, "cols": tiles.cols} if tiles.count > 1 else {}
