"""Golden streams: files written by earlier versions must keep decoding to the same pixels.

Regenerate (only when the format version changes) with ``GENERATE_EXPECTED=1 pytest tests/test_golden.py``.
"""

from __future__ import annotations

import os

import numpy as np

from conftest import ROOT, SAMPLES
from qcodec import api
from qcodec.data.image_io import decode_image_bytes

EXPECTED = ROOT / "tests" / "expected"


def regenerate() -> None:
    image = decode_image_bytes((SAMPLES / "caps_odd.png").read_bytes())
    result = api.encode(image, "coin", {"preset": "tiny", "steps": 200, "qat_steps": 20, "seed": 1})
    (EXPECTED / "coin_caps_odd.qic").write_bytes(result.data)
    np.save(EXPECTED / "coin_caps_odd_decoded.npy", result.reconstruction)


def test_golden_coin_stream_decodes_to_recorded_pixels():
    if os.environ.get("GENERATE_EXPECTED"):
        regenerate()
    decoded = api.decode((EXPECTED / "coin_caps_odd.qic").read_bytes())
    expected = np.load(EXPECTED / "coin_caps_odd_decoded.npy")
    assert decoded.shape == expected.shape == (29, 37, 3)
    # identical on the machine that wrote it; other CPUs may flip a rounding at x.5
    difference = np.abs(decoded.astype(int) - expected.astype(int))
    assert difference.max() <= 1 and np.mean(difference == 0) > 0.999
