"""A Pillow image plugin for ``.qic``: ``import qcodec.pillow`` and Pillow opens qcodec streams.

>>> import qcodec.pillow  # doctest: +SKIP
>>> from PIL import Image  # doctest: +SKIP
>>> Image.open("photo.qic").convert("RGB").save("photo.png")  # doctest: +SKIP

Opening reads and checks the whole stream (magic, version, length, CRC, header) and its
decode cost against qcodec's limits (:class:`~qcodec.codecs.budget.DecodeLimits`, from
``QCODEC_MAX_DECODE_GMAC`` / ``QCODEC_MAX_DECODE_MIB``); pixels are decoded on ``load()``.
Bad streams raise Pillow's usual errors with qcodec's message: ``OSError`` for a damaged or
undecodable stream, :class:`PIL.Image.DecompressionBombError` for one over the limits.

Saving encodes: ``image.save("out.qic", model="grid", bpp=0.3)``; every keyword besides
``format`` is a codec option of ``qcodec encode`` (``model`` defaults to COIN, as there).
"""

from __future__ import annotations

from typing import IO, Any

import numpy as np
from PIL import Image, ImageFile

from qcodec import api
from qcodec.codecs import codec_for_id
from qcodec.codecs.budget import DecodeLimits, check_decode_cost
from qcodec.coding.bitstream import MAGIC, unpack
from qcodec.data.image_io import Image as QcodecImage
from qcodec.data.image_io import to_supported
from qcodec.errors import DecodeLimitError, QcodecError

FORMAT = "QIC"


def _accept(prefix: bytes) -> bool:
    return prefix[: len(MAGIC)] == MAGIC


class QicImageFile(ImageFile.ImageFile):
    """A ``.qic`` stream as a read-only Pillow image (mode ``L`` or ``RGB``)."""

    format = FORMAT
    format_description = "qcodec learned / quantum-classical image codec"

    def _open(self) -> None:
        assert self.fp is not None
        data = self.fp.read()
        try:
            container = unpack(data)
            codec = codec_for_id(container.codec_id)
            check_decode_cost(codec.decode_cost(container), DecodeLimits.resolve())
        except DecodeLimitError as exc:
            raise Image.DecompressionBombError(str(exc)) from None
        except QcodecError as exc:
            raise OSError(str(exc)) from None
        self._mode = "L" if container.channels == 1 else "RGB"
        self._size = (container.width, container.height)
        self.info["qcodec_model"] = codec.name
        # the decoder gets the stream checked here, not the file again (which may have changed)
        self.tile = [("qic", (0, 0, *self.size), 0, container)]


class QicDecoder(ImageFile.PyDecoder):
    """Decodes the whole stream :class:`QicImageFile` checked on open (the format has no partial decoding)."""

    _pulls_fd = True

    def decode(self, buffer: Any) -> tuple[int, int]:
        (container,) = self.args
        try:
            pixels = codec_for_id(container.codec_id).decode(container)
        except QcodecError as exc:
            raise OSError(str(exc)) from None
        self.set_as_raw(np.ascontiguousarray(pixels).tobytes())
        return -1, 0


def _save(image: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
    options = {k: v for k, v in image.encoderinfo.items() if k != "format"}
    model = options.pop("model", "coin")
    try:
        pixels, notes = to_supported(image)  # the conversions `qcodec encode` applies to files
        result = api.encode(QcodecImage(pixels[:, :, None] if pixels.ndim == 2 else pixels, notes), model, options)
    except QcodecError as exc:
        raise OSError(str(exc)) from None
    fp.write(result.data)


Image.register_open(FORMAT, QicImageFile, _accept)
Image.register_decoder("qic", QicDecoder)
Image.register_save(FORMAT, _save)
Image.register_extension(FORMAT, ".qic")
Image.register_mime(FORMAT, "image/x-qic")
