"""How classical codecs do at a given file size: the line a user reads beside an encode's result.

:func:`classical_at_size` finds, for Pillow's JPEG and WebP, the highest quality whose file is
no larger than a qcodec stream, and scores it with the same PSNR (:mod:`qcodec.metrics`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from qcodec.bench.codecs import CLASSICAL
from qcodec.data.image_io import Image
from qcodec.metrics import bits_per_pixel, psnr


@dataclass(frozen=True)
class SameSize:
    """One classical codec at (at most) a given size.

    Attributes:
        codec: ``jpeg`` or ``webp`` (any :data:`~qcodec.bench.codecs.CLASSICAL` name).
        quality: the quality found.
        bytes: its file size; above the target only when ``fits`` is false.
        bpp, psnr: its rate and PSNR in dB.
        fits: whether the file is no larger than the target (false: even the lowest quality is larger).
    """

    codec: str
    quality: float
    bytes: int
    bpp: float
    psnr: float
    fits: bool

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def classical_at_size(image: Image, max_bytes: int, codecs: Sequence[str] = ("jpeg", "webp")) -> list[SameSize]:
    """Each of ``codecs`` at the highest quality whose file has at most ``max_bytes``; codecs this Pillow
    lacks or cannot write at this image size (WebP above 16,383 pixels a side, JPEG above 65,500) are left out."""
    rows = []
    for name in codecs:
        codec = CLASSICAL[name]()
        if codec.unavailable():
            continue
        try:
            quality = codec.largest_quality_within(image, max_bytes)
            data = codec.encode(image.pixels, quality)
        except (OSError, ValueError):  # Pillow's refusal of sizes the format cannot hold
            continue
        quality_psnr = psnr(image.pixels, codec.decode(data, image.channels))
        rows.append(SameSize(name, quality, len(data), bits_per_pixel(len(data), image.num_pixels), quality_psnr, len(data) <= max_bytes))
    return rows
