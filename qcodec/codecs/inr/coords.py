"""Pixel coordinates, and the grid of equal tiles a tiled INR fits with one network per tile.

A tiled INR gives every tile its own parameters (one network per tile, all evaluated in one
batched call), so its capacity, and its rate, grow with the number of tiles. Pixels are laid
out ``(pixel in tile, tile, channel)``: a batch is a set of pixel positions taken in every
tile at once, which is what per-tile parameters need (``(B, P, ...)`` with ``P`` tiles).

Tiles are ``ceil(H / rows) x ceil(W / cols)`` pixels; the image is extended by edge
replication to ``rows x cols`` whole tiles for fitting, and the extension is cropped off when
rendering. Each tile's coordinates are its own pixel grid centred on the tile, in the units
of the whole image (:func:`pixel_grid` spans ``[-1, 1]`` over the image), so a network sees the same spatial frequencies per pixel whatever the tile count.

>>> TileGrid(2, 3).tile_size(10, 12)
(5, 4)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from qcodec.errors import InvalidInputError


def pixel_grid(height: int, width: int) -> torch.Tensor:
    """Coordinates of every pixel, row-major: ``(H * W, 2)`` float32 ``(x, y)`` in ``[-1, 1]``.

    A side of length 1 maps to the single coordinate -1.
    """
    ys = torch.linspace(-1.0, 1.0, height)
    xs = torch.linspace(-1.0, 1.0, width)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], dim=1)


@dataclass(frozen=True)
class TileGrid:
    """``rows x cols`` tiles (``1 x 1``: the whole image)."""

    rows: int
    cols: int

    @property
    def count(self) -> int:
        return self.rows * self.cols

    @classmethod
    def parse(cls, text: str) -> TileGrid:
        """``"ROWSxCOLS"`` (e.g. ``"4x6"``) -> a grid.

        Raises:
            InvalidInputError: not two positive integers joined by ``x``.
        """
        try:
            rows, cols = (int(part) for part in str(text).lower().split("x"))
        except ValueError:
            raise InvalidInputError(f"--tiles must be ROWSxCOLS, e.g. 4x6; got {text!r}") from None
        if rows < 1 or cols < 1:
            raise InvalidInputError(f"--tiles needs at least one row and one column, got {text!r}")
        return cls(rows, cols)

    @classmethod
    def of_side(cls, height: int, width: int, side: float) -> TileGrid:
        """The grid whose tiles are closest to ``side x side`` pixels on a ``height x width`` image."""
        return cls(max(1, round(height / side)), max(1, round(width / side)))

    def tile_size(self, height: int, width: int) -> tuple[int, int]:
        """``(h, w)`` of every tile of a ``height x width`` image."""
        return math.ceil(height / self.rows), math.ceil(width / self.cols)

    def coords(self, height: int, width: int) -> torch.Tensor:
        """``(h * w, P, 2)`` float32 ``(x, y)`` of each tile's pixels, row-major within the tile, the same for every tile."""
        h, w = self.tile_size(height, width)
        local = pixel_grid(h, w) * torch.tensor([w / width, h / height])
        return local[:, None, :].expand(-1, self.count, -1).contiguous()

    def split(self, values: torch.Tensor) -> torch.Tensor:
        """``(H, W, C)`` -> ``(h * w, P, C)``, the image extended by edge replication to whole tiles."""
        height, width, channels = values.shape
        h, w = self.tile_size(height, width)
        rows = torch.arange(self.rows * h).clamp(max=height - 1)
        cols = torch.arange(self.cols * w).clamp(max=width - 1)
        full = values[rows][:, cols]
        tiles = full.reshape(self.rows, h, self.cols, w, channels).permute(1, 3, 0, 2, 4)
        return tiles.reshape(h * w, self.count, channels).contiguous()

    def merge(self, tiles: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """``(h * w, P, C)`` -> ``(H, W, C)``: the inverse of :meth:`split`, extension cropped."""
        h, w = self.tile_size(height, width)
        channels = tiles.shape[-1]
        full = tiles.reshape(h, w, self.rows, self.cols, channels).permute(2, 0, 3, 1, 4)
        return full.reshape(self.rows * h, self.cols * w, channels)[:height, :width]
