"""qcodec.metrics: PSNR, MS-SSIM (against pytorch_msssim, CompressAI's implementation) and BD-rate/BD-PSNR.

MS-SSIM reference values were computed once with ``pytorch_msssim`` 1.0.0 in float64
and stored in ``tests/expected/ms_ssim_reference.json``; regenerate them with
``GENERATE_EXPECTED=1 pytest tests/test_metrics.py`` where ``pytorch_msssim`` is installed.
Where it is installed the test also compares against it live.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from qcodec.data.image_io import decode_image_bytes
from qcodec.metrics import (
    MS_SSIM_MIN_SIDE,
    bd_psnr,
    bd_rate,
    bits_per_pixel,
    ms_ssim,
    ms_ssim_db,
    ms_ssim_per_channel,
    mse,
    psnr,
)

ROOT = Path(__file__).resolve().parents[1]
KODAK = ROOT.parent / "shared" / "datasets" / "kodak"
REFERENCE_CURVES = ROOT.parent / "shared" / "reference" / "kodak"
EXPECTED = ROOT / "tests" / "expected" / "ms_ssim_reference.json"
needs_kodak = pytest.mark.skipif(not KODAK.is_dir(), reason=f"Kodak copy not found at {KODAK}")


# -- PSNR, bpp ---------------------------------------------------------------------------


def test_psnr_and_mse_on_known_values():
    a = np.zeros((4, 4, 3), dtype=np.uint8)
    b = np.full((4, 4, 3), 10, dtype=np.uint8)
    assert mse(a, b) == 100.0
    assert psnr(a, b) == pytest.approx(10 * math.log10(255**2 / 100))
    assert psnr(a, a) == math.inf
    assert bits_per_pixel(1000, 8000) == 1.0


# -- MS-SSIM -----------------------------------------------------------------------------


def _pattern(shape: tuple[int, ...]) -> np.ndarray:
    """A deterministic zero-mean pattern in [-11, 11] (no RNG, so it never changes across versions)."""
    index = np.indices(shape).reshape(len(shape), -1)
    weights = np.array([31, 17, 7][: len(shape)])[:, None]
    return ((weights * index).sum(0) % 23 - 11).reshape(shape)


def _distortions() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Reference / distorted pairs from Kodak: coarse quantization, box blur, noise on grey, odd sizes."""
    def load(index: int) -> np.ndarray:
        return decode_image_bytes((KODAK / f"kodim{index:02d}.png").read_bytes()).pixels

    pairs = {}
    first = load(1)
    pairs["kodim01-quantized"] = (first, (first // 32 * 32 + 16).astype(np.uint8))
    portrait = load(4)[:301, :401].astype(np.int64)
    padded = np.pad(portrait, ((1, 1), (1, 1), (0, 0)), mode="edge")
    blurred = sum(padded[i : i + 301, j : j + 401] for i in range(3) for j in range(3)) // 9
    pairs["kodim04-crop301x401-blurred"] = (portrait.astype(np.uint8), blurred.astype(np.uint8))
    grey = load(23).mean(axis=2, keepdims=True).astype(np.uint8)
    noisy = np.clip(grey.astype(np.int64) + 2 * _pattern(grey.shape), 0, 255).astype(np.uint8)
    pairs["kodim23-grey-noise"] = (grey, noisy)
    return pairs


def _reference_ms_ssim(a: np.ndarray, b: np.ndarray) -> float:
    import torch
    from pytorch_msssim import ms_ssim as reference  # type: ignore[import-not-found]

    def tensor(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(x.astype(np.float64)).permute(2, 0, 1).unsqueeze(0)

    return float(reference(tensor(a), tensor(b), data_range=255.0))


@needs_kodak
def test_ms_ssim_matches_pytorch_msssim_reference_values():
    pairs = _distortions()
    if os.environ.get("GENERATE_EXPECTED"):
        values = {name: _reference_ms_ssim(a, b) for name, (a, b) in pairs.items()}
        EXPECTED.write_text(json.dumps({"pytorch_msssim": "1.0.0, float64, data_range=255", "values": values}, indent=2) + "\n")
    expected = json.loads(EXPECTED.read_text())["values"]
    assert set(expected) == set(pairs)
    for name, (a, b) in pairs.items():
        assert ms_ssim(a, b) == pytest.approx(expected[name], abs=2e-6), name
    try:
        import pytorch_msssim  # noqa: F401  # type: ignore[import-not-found]
    except ImportError:
        return
    for name, (a, b) in pairs.items():
        assert ms_ssim(a, b) == pytest.approx(_reference_ms_ssim(a, b), abs=2e-6), name


def test_ms_ssim_identical_images_is_one_and_db_is_infinite():
    image = (_pattern((200, 170, 3)) * 10 + 128).astype(np.uint8)
    assert ms_ssim(image, image) == pytest.approx(1.0, abs=1e-6)
    assert ms_ssim_db(1.0) == math.inf
    assert ms_ssim_db(0.99) == pytest.approx(20.0)


def test_ms_ssim_is_the_mean_over_channels_and_orders_distortions():
    image = (_pattern((180, 200, 3)) * 10 + 128).astype(np.uint8)
    mild = np.clip(image.astype(int) + _pattern(image.shape) // 4, 0, 255).astype(np.uint8)
    strong = np.clip(image.astype(int) + 3 * _pattern(image.shape[::-1]).transpose(2, 1, 0), 0, 255).astype(np.uint8)
    per_channel = ms_ssim_per_channel(image, mild)
    assert per_channel.shape == (3,)
    assert ms_ssim(image, mild) == pytest.approx(float(per_channel.mean()))
    assert 0 < ms_ssim(image, strong) < ms_ssim(image, mild) < 1


def test_ms_ssim_rejects_small_or_mismatched_images():
    small = np.zeros((MS_SSIM_MIN_SIDE - 1, 300, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="at least 161"):
        ms_ssim(small, small)
    with pytest.raises(ValueError, match="shape"):
        ms_ssim(np.zeros((200, 200, 3), np.uint8), np.zeros((200, 200, 1), np.uint8))


# -- Bjontegaard -------------------------------------------------------------------------

RATES = np.array([0.12, 0.2, 0.31, 0.5, 0.8, 1.3])
PSNRS = np.array([26.1, 27.9, 29.6, 31.5, 33.6, 36.0])


@pytest.mark.parametrize("method", ["cubic", "pchip"])
@pytest.mark.parametrize("factor", [0.7, 1.0, 1.25, 2.0])
def test_bd_rate_of_a_curve_scaled_in_rate_is_the_scale(method, factor):
    assert bd_rate(RATES, PSNRS, RATES * factor, PSNRS, method=method) == pytest.approx((factor - 1) * 100, abs=1e-9)


@pytest.mark.parametrize("method", ["cubic", "pchip"])
@pytest.mark.parametrize("shift", [-1.5, 0.0, 0.7])
def test_bd_psnr_of_a_curve_shifted_in_quality_is_the_shift(method, shift):
    assert bd_psnr(RATES, PSNRS, RATES, PSNRS + shift, method=method) == pytest.approx(shift, abs=1e-9)


def test_bd_rate_of_a_partly_overlapping_scaled_curve_uses_the_overlap_only():
    # log-rate exactly cubic in PSNR: the cubic fit of any 4+ points recovers it, so a test
    # curve covering only the upper part of the anchor's range is still exactly +10 %
    quality = np.linspace(25.0, 38.0, 8)
    rates = np.exp(0.002 * (quality - 30) ** 3 - 0.01 * (quality - 30) ** 2 + 0.2 * (quality - 30) - 1)
    assert bd_rate(rates, quality, rates[3:] * 1.1, quality[3:]) == pytest.approx(10.0, abs=1e-9)


def _published(name: str) -> tuple[list[float], list[float]]:
    results = json.loads((REFERENCE_CURVES / f"{name}.json").read_text())["results"]
    return results["bpp"], results["psnr"]


def _vceg_m33(r1, p1, r2, p2) -> float:  # noqa: ANN001
    """The classic Bjontegaard script (polyfit, polyint), as widely copied."""
    l1, l2 = np.log(r1), np.log(r2)
    f1, f2 = np.polyfit(p1, l1, 3), np.polyfit(p2, l2, 3)
    low, high = max(min(p1), min(p2)), min(max(p1), max(p2))
    i1 = np.polyval(np.polyint(f1), high) - np.polyval(np.polyint(f1), low)
    i2 = np.polyval(np.polyint(f2), high) - np.polyval(np.polyint(f2), low)
    return (np.exp((i2 - i1) / (high - low)) - 1) * 100


@pytest.mark.skipif(not REFERENCE_CURVES.is_dir(), reason="published reference curves not found")
def test_bd_rate_matches_the_classic_script_and_is_antisymmetric_on_published_curves():
    jpeg, j2k = _published("jpeg"), _published("jpeg2000")
    forward = bd_rate(*j2k, *jpeg)
    assert forward == pytest.approx(_vceg_m33(*j2k, *jpeg), rel=1e-9)
    backward = bd_rate(*jpeg, *j2k)
    assert (1 + forward / 100) * (1 + backward / 100) == pytest.approx(1.0, rel=1e-9)
    assert bd_psnr(*j2k, *jpeg) == pytest.approx(-bd_psnr(*jpeg, *j2k), rel=1e-9)


@pytest.mark.skipif(not REFERENCE_CURVES.is_dir(), reason="published reference curves not found")
def test_pchip_bd_rate_matches_scipy_pchip():
    interpolate = pytest.importorskip("scipy.interpolate")
    (r1, p1), (r2, p2) = _published("jpeg2000"), _published("vtm")

    def integral(rates, quality, low, high):  # noqa: ANN001
        order = np.argsort(quality)
        fit = interpolate.PchipInterpolator(np.asarray(quality)[order], np.log(rates)[order])
        return fit.integrate(low, high)

    low, high = max(min(p1), min(p2)), min(max(p1), max(p2))
    expected = (np.exp((integral(r2, p2, low, high) - integral(r1, p1, low, high)) / (high - low)) - 1) * 100
    assert bd_rate(r1, p1, r2, p2, method="pchip") == pytest.approx(expected, rel=1e-9)


def test_bd_errors():
    with pytest.raises(ValueError, match="at least 4"):
        bd_rate(RATES[:3], PSNRS[:3], RATES, PSNRS)
    with pytest.raises(ValueError, match="do not overlap"):
        bd_rate(RATES, PSNRS, RATES, PSNRS + 20)
    with pytest.raises(ValueError, match="positive"):
        bd_rate(RATES * 0, PSNRS, RATES, PSNRS)
    with pytest.raises(ValueError, match="unknown BD method"):
        bd_psnr(RATES, PSNRS, RATES, PSNRS, method="linear")
