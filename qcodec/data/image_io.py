"""Reading and writing images as 8-bit numpy arrays.

qcodec codes 8-bit grayscale (1 channel) and 8-bit RGB (3 channels) natively. Other
inputs are converted, and every conversion is reported in :attr:`Image.notes` so the
CLI can warn about it:

==================  ==================================================================
input mode          what qcodec does
==================  ==================================================================
``L``, ``RGB``      coded as is (1 or 3 channels)
``1`` (bilevel)     expanded to 8-bit grayscale
``P`` (palette)     expanded to RGB (grayscale if every palette entry is grey)
``LA``, ``RGBA``    alpha channel dropped (qcodec does not code transparency)
16-bit (``I;16``)   scaled to 8 bits by ``round(v / 257)``
``CMYK``, ``YCbCr`` converted to RGB by Pillow
float (``F``)       rejected
==================  ==================================================================

Images must be between 1x1 and :data:`MAX_SIDE` pixels per side and at most
:data:`MAX_PIXELS` pixels in all.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

import numpy as np
import PIL.Image
from PIL import UnidentifiedImageError

from qcodec.errors import InvalidInputError

MAX_SIDE = 65535
"""Largest width or height (the ``.qic`` header stores each in 16 bits)."""

MAX_PIXELS = 1 << 26
"""Largest number of pixels (64 Mi) accepted; larger inputs are refused as absurd."""

PIL.Image.MAX_IMAGE_PIXELS = MAX_PIXELS


@dataclass
class Image:
    """An 8-bit image.

    Attributes:
        pixels: ``uint8`` array of shape ``(H, W, C)`` with ``C`` = 1 (grayscale) or 3 (RGB).
        notes: human-readable descriptions of conversions applied while reading.
    """

    pixels: np.ndarray
    notes: list[str] = field(default_factory=list)

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def channels(self) -> int:
        return int(self.pixels.shape[2])

    @property
    def num_pixels(self) -> int:
        return self.height * self.width


def check_size(width: int, height: int) -> None:
    """Raise :class:`InvalidInputError` unless ``width x height`` is a codable size."""
    if width < 1 or height < 1:
        raise InvalidInputError(f"image has no pixels ({width}x{height})")
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise InvalidInputError(
            f"image too large ({width}x{height}); qcodec accepts at most {MAX_SIDE} pixels "
            f"per side and {MAX_PIXELS} pixels in all"
        )


def to_supported(img: PIL.Image.Image) -> tuple[np.ndarray, list[str]]:
    """``img``'s pixels as 8-bit grayscale ``(H, W)`` or RGB ``(H, W, 3)``, and notes on the conversions
    (palette expanded, alpha dropped, 16-bit scaled by 1/257, CMYK/YCbCr/LAB/HSV to RGB).

    Raises:
        InvalidInputError: a mode qcodec cannot code (e.g. float images).
    """
    mode = img.mode
    notes: list[str] = []
    if mode in ("L", "RGB"):
        return np.asarray(img, dtype=np.uint8), notes
    if mode == "1":
        notes.append("bilevel image expanded to 8-bit grayscale")
        return np.asarray(img.convert("L"), dtype=np.uint8), notes
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in img.info
        rgb = img.convert("RGBA" if has_alpha else "RGB")
        arr = np.asarray(rgb, dtype=np.uint8)[..., :3]
        if has_alpha:
            notes.append("alpha channel dropped (qcodec does not code transparency)")
        if np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 0], arr[..., 2]):
            notes.append("grey palette image expanded to 8-bit grayscale")
            return arr[..., :1].copy(), notes
        notes.append("palette image expanded to RGB")
        return arr, notes
    if mode in ("LA", "La", "RGBA", "RGBa", "RGBX"):
        notes.append("alpha channel dropped (qcodec does not code transparency)")
        base = "L" if mode.startswith("L") else "RGB"
        return np.asarray(img.convert(base), dtype=np.uint8), notes
    if mode.startswith("I;16") or mode == "I":
        wide = np.asarray(img, dtype=np.float64)
        if mode == "I" and (wide.min() < 0 or wide.max() > 65535):
            raise InvalidInputError("unsupported 32-bit integer image (values outside 0..65535)")
        notes.append("16-bit image reduced to 8 bits per sample")
        return np.clip(np.rint(wide / 257.0), 0, 255).astype(np.uint8), notes
    if mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        notes.append(f"{mode} image converted to RGB")
        return np.asarray(img.convert("RGB"), dtype=np.uint8), notes
    raise InvalidInputError(f"unsupported image mode {mode!r} (qcodec codes 8-bit grayscale or RGB)")


def decode_image_bytes(data: bytes, name: str = "input") -> Image:
    """Decode an image file's bytes (any format Pillow reads) into an :class:`Image`.

    Raises:
        InvalidInputError: empty data, not an image, unsupported mode, or an absurd size.
    """
    if not data:
        raise InvalidInputError(f"{name} is empty")
    try:
        with warnings.catch_warnings():
            # Pillow warns (on stderr) about images over MAX_IMAGE_PIXELS before refusing them at
            # twice that; as an error, its words go into qcodec's one-line message instead.
            warnings.simplefilter("error", PIL.Image.DecompressionBombWarning)
            img = PIL.Image.open(io.BytesIO(data))
        with img:
            check_size(img.width, img.height)
            if getattr(img, "n_frames", 1) > 1:
                raise InvalidInputError(f"{name} has several frames; qcodec codes single images")
            img.load()
            pixels, notes = to_supported(img)
    except UnidentifiedImageError:
        raise InvalidInputError(f"{name} is not an image Pillow can read") from None
    except (PIL.Image.DecompressionBombError, PIL.Image.DecompressionBombWarning) as exc:
        raise InvalidInputError(f"{name} is too large: qcodec accepts at most {MAX_PIXELS} pixels (Pillow: {exc})") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidInputError(f"{name} is a damaged image ({exc})") from None
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return Image(np.ascontiguousarray(pixels), notes)


def encode_image_bytes(pixels: np.ndarray, fmt: str = "PNG") -> bytes:
    """Encode a ``uint8`` array ``(H, W, C)``, C in {1, 3}, as an image file in format ``fmt``.

    ``fmt`` is a Pillow format name (``PNG``, ``BMP``, ``TIFF``, ``PPM``, ...); lossy formats
    are written at their best quality.
    """
    array = pixels[:, :, 0] if pixels.shape[2] == 1 else pixels
    img = PIL.Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8))
    buffer = io.BytesIO()
    extra = {"quality": 100} if fmt.upper() in ("JPEG", "WEBP") else {}
    try:
        img.save(buffer, format=fmt, **extra)
    except (KeyError, ValueError, OSError) as exc:
        raise InvalidInputError(f"cannot write {fmt} images ({exc})") from None
    return buffer.getvalue()


def format_for_path(path: str) -> str:
    """Pillow format name for an output path, from its extension (``.png`` -> ``PNG``).

    Raises:
        InvalidInputError: the extension names no format Pillow can write.
    """
    PIL.Image.init()
    suffix = "." + path.rsplit(".", 1)[-1].lower() if "." in path else ""
    fmt = PIL.Image.EXTENSION.get(suffix)
    if fmt is None or fmt not in PIL.Image.SAVE:
        raise InvalidInputError(f"cannot tell an image format from the name {path!r} (use e.g. .png)")
    return fmt
