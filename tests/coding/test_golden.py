"""Golden streams: files written by earlier versions must keep decoding to the same pixels.

One small stream per codec (and per quINR variant), each made from ``sample_images/caps_odd.png``
(29x37 RGB) with the options in :data:`GOLDEN`. ``GENERATE_EXPECTED=1 pytest tests/coding/test_golden.py``
writes the streams that are missing (delete a file to regenerate it: only when its format changes).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from conftest import ROOT, SAMPLES
from qcodec import api
from qcodec.data.image_io import decode_image_bytes

EXPECTED = ROOT / "tests" / "expected"

GOLDEN = {
    "coin": {"preset": "tiny", "steps": 200, "qat_steps": 20, "seed": 1},
    "quinr": {"variant": "paper", "steps": 30, "qat_steps": 5, "seed": 2},
    "quinr-tiled": {"tiles": "2x2", "steps": 60, "qat_steps": 5, "seed": 2},
    "ae": {"quality": 2},
    "grid": {"steps": 40, "seed": 1},
}
"""Encode options of each codec's golden stream."""


def regenerate(name: str) -> None:
    image = decode_image_bytes((SAMPLES / "caps_odd.png").read_bytes())
    result = api.encode(image, name.split("-")[0], GOLDEN[name])
    (EXPECTED / f"{name}_caps_odd.qic").write_bytes(result.data)
    np.save(EXPECTED / f"{name}_caps_odd_decoded.npy", result.reconstruction)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_stream_decodes_to_recorded_pixels(name):
    if os.environ.get("GENERATE_EXPECTED") and not (EXPECTED / f"{name}_caps_odd.qic").exists():
        regenerate(name)
    data = (EXPECTED / f"{name}_caps_odd.qic").read_bytes()
    assert api.inspect(data)["model"] == name.split("-")[0]
    decoded = api.decode(data)
    expected = np.load(EXPECTED / f"{name}_caps_odd_decoded.npy")
    assert decoded.shape == expected.shape == (29, 37, 3)
    # identical on the machine that wrote it; other CPUs may flip a rounding at x.5
    difference = np.abs(decoded.astype(int) - expected.astype(int))
    assert difference.max() <= 1 and np.mean(difference == 0) > 0.999
