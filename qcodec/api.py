"""The library entry points the CLI and the benchmarks call: encode, decode, inspect.

>>> import numpy as np
>>> from qcodec.data.image_io import Image
>>> image = Image(np.full((4, 4, 1), 128, dtype=np.uint8))
>>> result = encode(image, "coin", {"preset": "tiny", "steps": 20})
>>> bool((decode(result.data) == result.reconstruction).all())
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from qcodec.codecs import EncodeResult, codec_for_id, get_codec
from qcodec.codecs.base import ProgressCallback
from qcodec.coding.bitstream import unpack
from qcodec.data.image_io import Image
from qcodec.metrics import bits_per_pixel


def encode(
    image: Image, model: str, options: Mapping[str, Any] | None = None, progress: ProgressCallback | None = None
) -> EncodeResult:
    """Compress ``image`` with the codec named ``model`` (``coin``, ``quinr``, ...).

    ``options`` holds codec options by name (``preset``, ``steps``, ``bits``, ...); unset
    options take the codec's defaults.
    """
    return get_codec(model).encode(image, dict(options or {}), progress)


def decode(data: bytes) -> np.ndarray:
    """Decode a ``.qic`` stream to a ``uint8 (H, W, C)`` array (C = 1 or 3)."""
    container = unpack(data)
    return codec_for_id(container.codec_id).decode(container)


def inspect(data: bytes) -> dict[str, Any]:
    """What ``qcodec info`` reports about a stream: header, model, per-section sizes in bytes, bpp."""
    container = unpack(data)
    codec = codec_for_id(container.codec_id)
    pixels = container.width * container.height
    return {
        "format_version": container.version,
        "model": codec.name,
        "codec_id": container.codec_id,
        "width": container.width,
        "height": container.height,
        "channels": container.channels,
        "mode": "grayscale" if container.channels == 1 else "RGB",
        "bit_depth": container.bit_depth,
        "bytes": len(data),
        "bpp": bits_per_pixel(len(data), pixels),
        "sections": container.section_sizes(),
        **codec.describe(container),
    }
