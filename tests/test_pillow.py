"""The Pillow plugin: ``import qcodec.pillow`` makes ``PIL.Image.open`` read ``.qic`` streams."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import PIL.Image
import pytest

import qcodec.pillow  # noqa: F401 - registers the plugin
from conftest import ROOT, SAMPLES
from qcodec.codecs.budget import GMAC_ENV

EXPECTED = ROOT / "tests" / "expected"


@pytest.mark.parametrize("model", ["coin", "quinr", "ae", "grid"])
def test_pillow_opens_a_stream_with_the_pixels_qcodec_decode_gives(model, tmp_path):
    stream, png = EXPECTED / f"{model}_caps_odd.qic", tmp_path / "d.png"
    done = subprocess.run([sys.executable, "-m", "qcodec", "decode", str(stream), str(png)], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with PIL.Image.open(stream) as image:
        assert (image.format, image.mode, image.size) == ("QIC", "RGB", (37, 29))
        assert image.info["qcodec_model"] == model
        pixels = np.asarray(image)
    assert np.array_equal(pixels, np.asarray(PIL.Image.open(png)))


def test_save_encodes_and_open_reads_back(tmp_path):
    path = tmp_path / "p.qic"
    with PIL.Image.open(SAMPLES / "lighthouse_gray.png") as source:
        source.save(path, model="ae", quality=1)
    with PIL.Image.open(path) as image:
        assert image.mode == "L" and image.size == (96, 64)
        image.load()


def test_bad_streams_raise_pillows_errors_with_qcodecs_message(tmp_path, monkeypatch):
    data = (EXPECTED / "grid_caps_odd.qic").read_bytes()
    damaged = tmp_path / "bad.qic"
    damaged.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(OSError, match="CRC-32"):
        PIL.Image.open(damaged)
    truncated = tmp_path / "short.qic"
    truncated.write_bytes(data[:40])
    with pytest.raises(OSError, match="truncated"):
        PIL.Image.open(truncated)
    monkeypatch.setenv(GMAC_ENV, "1e-9")
    with pytest.raises(PIL.Image.DecompressionBombError, match="GMAC"):
        PIL.Image.open(EXPECTED / "grid_caps_odd.qic")
    with pytest.raises(OSError, match="unknown model"):
        PIL.Image.new("RGB", (4, 4)).save(tmp_path / "x.qic", model="nope")
