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
from qcodec.codecs.budget import DecodeCost, DecodeLimits, check_decode_cost, check_stream_cost
from qcodec.coding.bitstream import unpack
from qcodec.data.image_io import Image
from qcodec.errors import BitstreamError
from qcodec.metrics import bits_per_pixel


def encode(
    image: Image,
    model: str,
    options: Mapping[str, Any] | None = None,
    progress: ProgressCallback | None = None,
    limits: DecodeLimits | None = None,
) -> EncodeResult:
    """Compress ``image`` with the codec named ``model`` (``coin``, ``quinr``, ...).

    ``options`` holds codec options by name (``preset``, ``steps``, ``bits``, ...); unset
    options take the codec's defaults. Before any fitting, the stream's decode cost is checked
    against ``limits`` (default :meth:`DecodeLimits.resolve`): the encoder does not write what
    decoders with the same limits would refuse (:class:`~qcodec.errors.DecodeLimitError`).
    """
    codec, options = get_codec(model), dict(options or {})
    check_stream_cost(codec.stream_cost(image, options), limits or DecodeLimits.resolve())
    return codec.encode(image, options, progress)


def decode(data: bytes, limits: DecodeLimits | None = None) -> np.ndarray:
    """Decode a ``.qic`` stream to a ``uint8 (H, W, C)`` array (C = 1 or 3).

    The work and memory the stream asks for are checked against ``limits`` (default
    :meth:`DecodeLimits.resolve`: flags, then ``QCODEC_MAX_DECODE_GMAC`` / ``QCODEC_MAX_DECODE_MIB``,
    then the defaults) before anything is built; a stream over them raises
    :class:`~qcodec.errors.DecodeLimitError`.
    """
    container = unpack(data)
    codec = codec_for_id(container.codec_id)
    check_decode_cost(codec.decode_cost(container), limits or DecodeLimits.resolve())
    return codec.decode(container)


def inspect(data: bytes) -> dict[str, Any]:
    """What ``qcodec info`` reports about a stream: header, model, per-section sizes in bytes, bpp,
    and the decode cost (``decode_gmac``, ``decode_peak_mib``; ``None`` when the codec cannot tell)."""
    container = unpack(data)
    codec = codec_for_id(container.codec_id)
    pixels = container.width * container.height
    facts = codec.describe(container)
    try:
        cost: DecodeCost | None = codec.decode_cost(container)
    except BitstreamError:  # the codec cannot tell, e.g. an autoencoder stream whose model file is absent
        cost = None
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
        **facts,
        "decode_gmac": None if cost is None else round(cost.gmac, 3),
        "decode_peak_mib": None if cost is None else round(cost.mib, 1),
    }
