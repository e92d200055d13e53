"""Shared fixtures: small images and one small encoded stream reused across tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qcodec import api
from qcodec.codecs import EncodeResult
from qcodec.data.image_io import Image

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_images"
SHARED = ROOT.parent / "shared"

FAST = {"preset": "tiny", "steps": 60, "qat_steps": 10}
"""Encode options that keep a test encode under a second or two."""


def gradient_image(height: int, width: int, channels: int) -> Image:
    """A smooth test image ``(H, W, C)`` that a tiny network fits quickly."""
    ys, xs = np.mgrid[0:height, 0:width]
    planes = [(xs * 255 // max(width - 1, 1)), (ys * 255 // max(height - 1, 1)), ((xs + ys) * 127 // max(height + width - 2, 1))]
    pixels = np.stack(planes[:channels], axis=-1).astype(np.uint8)
    return Image(pixels)


@pytest.fixture(scope="session")
def small_stream() -> tuple[Image, EncodeResult]:
    """A 12x9 RGB image coded by a 1-layer, 2-unit COIN: a stream of a few dozen bytes."""
    image = gradient_image(9, 12, 3)
    return image, api.encode(image, "coin", {"layers": 1, "width": 2, "steps": 30, "qat_steps": 5})
