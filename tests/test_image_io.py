"""Reading images: native modes, documented conversions, and refusals."""

from __future__ import annotations

import io
import zlib

import numpy as np
import PIL.Image
import pytest

from qcodec.data.image_io import decode_image_bytes, encode_image_bytes, format_for_path
from qcodec.errors import InvalidInputError


def png_bytes(img: PIL.Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt)
    return buffer.getvalue()


def test_rgb_and_grayscale_are_native():
    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    image = decode_image_bytes(png_bytes(PIL.Image.fromarray(rgb)))
    assert image.pixels.shape == (5, 7, 3) and np.array_equal(image.pixels, rgb) and not image.notes
    gray = decode_image_bytes(png_bytes(PIL.Image.fromarray(rgb[..., 0])))
    assert gray.pixels.shape == (5, 7, 1) and gray.channels == 1


def test_rgba_drops_alpha_with_a_note():
    img = PIL.Image.new("RGBA", (4, 3), (10, 20, 30, 128))
    image = decode_image_bytes(png_bytes(img))
    assert image.pixels.shape == (3, 4, 3) and image.pixels[0, 0].tolist() == [10, 20, 30]
    assert any("alpha" in note for note in image.notes)


def test_16_bit_is_scaled_to_8_bits():
    wide = np.array([[0, 257, 65535, 32896]], dtype=np.uint16)
    image = decode_image_bytes(png_bytes(PIL.Image.fromarray(wide)))
    assert image.pixels[..., 0].tolist() == [[0, 1, 255, 128]]
    assert any("16-bit" in note for note in image.notes)


def test_palette_image_expands():
    img = PIL.Image.new("P", (3, 2))
    img.putpalette([255, 0, 0] * 256)
    image = decode_image_bytes(png_bytes(img))
    assert image.pixels.shape == (2, 3, 3) and image.pixels[0, 0].tolist() == [255, 0, 0]


@pytest.mark.parametrize(
    "data, message",
    [(b"", "empty"), (b"hello, world", "not an image"), (png_bytes(PIL.Image.effect_noise((32, 32), 50))[:300], "damaged")],
)
def test_bad_inputs(data, message):
    with pytest.raises(InvalidInputError, match=message):
        decode_image_bytes(data)


@pytest.mark.parametrize("width, height", [(70000, 10), (20000, 20000)])
def test_absurd_size_is_refused(width, height):
    # a 1x1 PNG whose header claims another size (IHDR CRC fixed up)
    data = bytearray(png_bytes(PIL.Image.new("L", (1, 1))))
    data[16:24] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    with pytest.raises(InvalidInputError, match="too large"):
        decode_image_bytes(bytes(data))


def test_output_format_from_extension():
    assert format_for_path("x.png") == "PNG" and format_for_path("a/b.BMP") == "BMP"
    with pytest.raises(InvalidInputError):
        format_for_path("noext")
    pixels = np.zeros((2, 2, 1), dtype=np.uint8)
    assert PIL.Image.open(io.BytesIO(encode_image_bytes(pixels, "PNG"))).mode == "L"
