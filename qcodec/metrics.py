"""Image quality and rate metrics shared by the codecs, the CLI and the benchmarks.

Every number a report or benchmark shows comes from here:

- :func:`mse`, :func:`psnr`: on the 8-bit values, over all pixels and channels (RGB PSNR);
  :func:`psnr_from_mse` for the ``[0, 1]`` losses of fitting loops;
- :func:`ms_ssim`, :func:`ms_ssim_db`: MS-SSIM as CompressAI reports it (per RGB channel on the
  0-255 image, then averaged over channels), and its decibel form;
- :func:`bits_per_pixel`: from a file's full size in bytes, headers included;
- :func:`bd_rate`, :func:`bd_psnr`: Bjontegaard deltas between two rate-distortion curves.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from qcodec.threads import torch_threads


def mse(reference: np.ndarray, test: np.ndarray) -> float:
    """Mean squared error over all samples of two same-shape arrays (8-bit units)."""
    if reference.shape != test.shape:
        raise ValueError(f"shape mismatch: {reference.shape} vs {test.shape}")
    diff = reference.astype(np.float64) - test.astype(np.float64)
    return float(np.mean(diff * diff))


def psnr(reference: np.ndarray, test: np.ndarray, peak: float = 255.0) -> float:
    """PSNR in dB over all pixels and channels (RGB PSNR for colour images); ``inf`` if identical."""
    error = mse(reference, test)
    return float("inf") if error == 0 else float(10.0 * np.log10(peak * peak / error))


def psnr_from_mse(error: float) -> float:
    """PSNR in dB of a mean squared error ``error`` on values in ``[0, 1]`` (training losses)."""
    return 10.0 * math.log10(1.0 / error) if error > 0 else float("inf")


def bits_per_pixel(num_bytes: int, num_pixels: int) -> float:
    """Rate in bits per pixel (bpp) of a file of ``num_bytes`` bytes for ``num_pixels`` pixels."""
    return 8.0 * num_bytes / num_pixels


# -- MS-SSIM ----------------------------------------------------------------------------

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
"""Per-scale exponents of Wang, Simoncelli and Bovik (2003), finest scale first."""

MS_SSIM_WINDOW = 11
MS_SSIM_SIGMA = 1.5
MS_SSIM_K = (0.01, 0.03)
MS_SSIM_MIN_SIDE = (MS_SSIM_WINDOW - 1) * 2 ** (len(MS_SSIM_WEIGHTS) - 1) + 1
"""Smallest image side (161 px) for which all five scales fit an 11-tap window."""


def _gaussian_window(size: int, sigma: float) -> torch.Tensor:
    """Normalised 1-D Gaussian taps (float64; they sum to 1, which the centring in :func:`_ssim_terms` needs)."""
    coords = torch.arange(size, dtype=torch.float64) - size // 2
    window = torch.exp(-(coords**2) / (2 * sigma**2))
    return window / window.sum()


def _blur(planes: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Separable 'valid' correlation of ``(..., H, W)`` planes with a 1-D ``window`` along both axes."""
    taps = [float(w) for w in window]
    n = len(taps)
    width = planes.shape[-1] - n + 1
    rows = planes[..., :width] * taps[0]
    for k in range(1, n):
        rows.add_(planes[..., k : k + width], alpha=taps[k])
    height = planes.shape[-2] - n + 1
    out = rows[..., :height, :] * taps[0]
    for k in range(1, n):
        out.add_(rows[..., k : k + height, :], alpha=taps[k])
    return out


def _planes(image: np.ndarray) -> torch.Tensor:
    """``(H, W, C)`` or ``(H, W)`` 8-bit samples as a float32 ``(C, H, W)`` tensor.

    float32 holds every value of the pyramid exactly: 2x2 means of 8-bit values need at
    most 8 + 2 * 4 significant bits after four poolings.
    """
    array = image[:, :, None] if image.ndim == 2 else image
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).permute(2, 0, 1)


def _downsample(planes: torch.Tensor) -> torch.Tensor:
    """2x2 average pooling, zero-padded by one sample on odd sides (``pytorch_msssim``'s choice)."""
    padding = [side % 2 for side in planes.shape[1:]]
    return F.avg_pool2d(planes[None], kernel_size=2, padding=padding)[0]


class MsSsim:
    """MS-SSIM against one fixed reference image, whose pyramid and local statistics are computed once.

    The definition of Wang et al. (2003) exactly as ``pytorch_msssim.ms_ssim`` computes it,
    which is what CompressAI reports: 5 scales with :data:`MS_SSIM_WEIGHTS`, an 11-tap
    Gaussian window of sigma 1.5 applied separably without padding ('valid'),
    ``K = (0.01, 0.03)`` with ``data_range`` 255 on the 8-bit values, 2x2 average pooling
    between scales (zero-padded by one sample on odd sides), negative terms clamped to 0,
    one value per channel.

    Local statistics are computed in float32 on values centred on ``data_range / 2``
    (variances do not change, and the centring keeps the cancellation in
    ``E[x^2] - E[x]^2`` small), per-scale means and products in float64; results agree
    with ``pytorch_msssim`` in float64 to within 2e-6 (``tests/test_metrics.py``).

    Raises:
        ValueError: a side is under :data:`MS_SSIM_MIN_SIDE` (161) pixels.
    """

    def __init__(self, reference: np.ndarray, data_range: float = 255.0) -> None:
        self.shape = reference.shape
        if min(reference.shape[:2]) < MS_SSIM_MIN_SIDE:
            raise ValueError(f"MS-SSIM needs images of at least {MS_SSIM_MIN_SIDE}x{MS_SSIM_MIN_SIDE} pixels")
        self.offset = data_range / 2
        self.c1 = (MS_SSIM_K[0] * data_range) ** 2
        self.c2 = (MS_SSIM_K[1] * data_range) ** 2
        self.window = _gaussian_window(MS_SSIM_WINDOW, MS_SSIM_SIGMA)
        self.levels: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        """Per scale: centred reference, its local mean (centred) and local variance."""
        x = _planes(reference)
        with torch.no_grad(), torch_threads(1):
            for level in range(len(MS_SSIM_WEIGHTS)):
                xc = x - self.offset
                mu_x, xx = _blur(torch.cat([xc, xc * xc]), self.window).split(xc.shape[0])
                self.levels.append((xc, mu_x, xx.sub_(mu_x.square())))
                if level < len(MS_SSIM_WEIGHTS) - 1:
                    x = _downsample(x)

    def _terms(self, level: int, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-channel mean SSIM and mean contrast-structure term at one scale."""
        xc, mu_x, var_x = self.levels[level]
        channels = y.shape[0]
        moments = torch.empty((3 * channels, *y.shape[1:]), dtype=torch.float32)
        yc = torch.sub(y, self.offset, out=moments[:channels])
        torch.mul(yc, yc, out=moments[channels : 2 * channels])
        torch.mul(xc, yc, out=moments[2 * channels :])
        mu_y, yy, xy = _blur(moments, self.window).split(channels)
        # contrast-structure: (2 cov + c2) / (var_x + var_y + c2)
        cs_map = xy.sub_(mu_x * mu_y).mul_(2).add_(self.c2)
        cs_map.div_(yy.sub_(mu_y.square()).add_(var_x).add_(self.c2))
        # luminance: (2 mu_x mu_y + c1) / (mu_x^2 + mu_y^2 + c1) on the uncentred means
        mu_xu = mu_x + self.offset
        mu_y.add_(self.offset)
        luminance = (mu_xu * mu_y).mul_(2).add_(self.c1).div_(mu_xu.square_().add_(mu_y.square_()).add_(self.c1))
        ssim_map = luminance.mul_(cs_map)
        return ssim_map.mean(dim=(1, 2), dtype=torch.float64), cs_map.mean(dim=(1, 2), dtype=torch.float64)

    def per_channel(self, test: np.ndarray) -> np.ndarray:
        """MS-SSIM of each channel of ``test`` against the reference, in ``[0, 1]`` (1 = identical).

        Raises:
            ValueError: ``test`` has another shape than the reference.
        """
        if test.shape != self.shape:
            raise ValueError(f"shape mismatch: {self.shape} vs {test.shape}")
        y = _planes(test)
        weights = torch.tensor(MS_SSIM_WEIGHTS, dtype=torch.float64)
        terms = []
        with torch.no_grad(), torch_threads(1):
            for level in range(len(MS_SSIM_WEIGHTS)):
                ssim, cs = self._terms(level, y)
                if level < len(MS_SSIM_WEIGHTS) - 1:
                    terms.append(torch.relu(cs))
                    y = _downsample(y)
            terms.append(torch.relu(ssim))
            values = torch.prod(torch.stack(terms) ** weights.view(-1, 1), dim=0)
        return values.numpy()

    def __call__(self, test: np.ndarray) -> float:
        """MS-SSIM of ``test`` against the reference: the mean over channels of :meth:`per_channel`."""
        return float(np.mean(self.per_channel(test)))


def ms_ssim_per_channel(reference: np.ndarray, test: np.ndarray, data_range: float = 255.0) -> np.ndarray:
    """MS-SSIM of each channel of two ``(H, W, C)`` images (see :class:`MsSsim` for the exact definition).

    Raises:
        ValueError: shapes differ, or a side is under :data:`MS_SSIM_MIN_SIDE` (161) pixels.
    """
    if reference.shape != test.shape:
        raise ValueError(f"shape mismatch: {reference.shape} vs {test.shape}")
    return MsSsim(reference, data_range).per_channel(test)


def ms_ssim(reference: np.ndarray, test: np.ndarray, data_range: float = 255.0) -> float:
    """MS-SSIM of two 8-bit ``(H, W, C)`` images: the mean over channels of :func:`ms_ssim_per_channel`.

    For RGB this is CompressAI's ``ms-ssim`` (computed on the R, G and B planes of the
    0-255 image and averaged), not MS-SSIM of luma. To score many reconstructions of one
    image, build an :class:`MsSsim` once and call it.
    """
    return float(np.mean(ms_ssim_per_channel(reference, test, data_range)))


def ms_ssim_db(value: float) -> float:
    """MS-SSIM on a decibel scale, ``-10 log10(1 - value)`` in dB (``inf`` for 1)."""
    return float("inf") if value >= 1.0 else float(-10.0 * np.log10(1.0 - value))


# -- Bjontegaard delta ------------------------------------------------------------------

BD_METHODS = ("cubic", "pchip")
"""Curve fits for :func:`bd_rate` / :func:`bd_psnr`: ``cubic`` (default) or ``pchip``."""


def _curve(rate: Sequence[float], quality: Sequence[float], name: str) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(rate, dtype=np.float64)
    q = np.asarray(quality, dtype=np.float64)
    if r.ndim != 1 or r.shape != q.shape:
        raise ValueError(f"{name} curve: rate and quality must be 1-D and of equal length")
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(q)) and np.all(r > 0)):
        raise ValueError(f"{name} curve: rates must be positive and all values finite")
    return np.log(r), q


def _pchip_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Derivatives at the knots of the shape-preserving cubic (Fritsch-Carlson, as SciPy's ``PchipInterpolator``)."""
    h = np.diff(x)
    delta = np.diff(y) / h
    if len(x) == 2:
        return np.full(2, delta[0])
    slopes = np.zeros_like(y)
    w1, w2 = 2 * h[1:] + h[:-1], h[1:] + 2 * h[:-1]
    same_sign = delta[:-1] * delta[1:] > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        harmonic = (w1 / delta[:-1] + w2 / delta[1:]) / (w1 + w2)
    slopes[1:-1] = np.where(same_sign, 1.0 / np.where(same_sign, harmonic, 1.0), 0.0)

    def edge(h0: float, h1: float, m0: float, m1: float) -> float:
        d = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
        if np.sign(d) != np.sign(m0):
            return 0.0
        if np.sign(m0) != np.sign(m1) and abs(d) > abs(3 * m0):
            return 3 * m0
        return d

    slopes[0] = edge(h[0], h[1], delta[0], delta[1])
    slopes[-1] = edge(h[-1], h[-2], delta[-1], delta[-2])
    return slopes


def _fit(x: np.ndarray, y: np.ndarray, method: str, name: str) -> tuple[Callable[[np.ndarray], np.ndarray], np.ndarray]:
    """A fitted function ``y(x)`` and the knots where it changes polynomial piece."""
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    unique, inverse = np.unique(x, return_inverse=True)
    if len(unique) < len(x):  # equal x (e.g. two settings giving one rate): average their y
        y = np.bincount(inverse, weights=y) / np.bincount(inverse)
        x = unique
    if method == "cubic":
        if len(x) < 4:
            raise ValueError(f"{name} curve has {len(x)} points; a cubic fit needs at least 4")
        coefficients = np.polyfit(x, y, 3)
        return (lambda t: np.polyval(coefficients, t)), np.empty(0)
    if method == "pchip":
        if len(x) < 2:
            raise ValueError(f"{name} curve has {len(x)} point; pchip needs at least 2")
        slopes = _pchip_slopes(x, y)

        def hermite(t: np.ndarray) -> np.ndarray:
            i = np.clip(np.searchsorted(x, t, side="right") - 1, 0, len(x) - 2)
            h = x[i + 1] - x[i]
            s = (t - x[i]) / h
            return (
                (2 * s**3 - 3 * s**2 + 1) * y[i]
                + (s**3 - 2 * s**2 + s) * h * slopes[i]
                + (-2 * s**3 + 3 * s**2) * y[i + 1]
                + (s**3 - s**2) * h * slopes[i + 1]
            )

        return hermite, x
    raise ValueError(f"unknown BD method {method!r} (choose from: {', '.join(BD_METHODS)})")


def _mean_difference(
    x1: np.ndarray, y1: np.ndarray, x2: np.ndarray, y2: np.ndarray, method: str
) -> float:
    """Mean of ``f2(x) - f1(x)`` over the common range of ``x``, for fits ``f1``, ``f2`` of the two curves.

    Each fit is a cubic on every piece between knots, so Simpson's rule on each piece
    integrates it exactly.
    """
    f1, knots1 = _fit(x1, y1, method, "anchor")
    f2, knots2 = _fit(x2, y2, method, "test")
    low, high = max(x1.min(), x2.min()), min(x1.max(), x2.max())
    if not high > low:
        raise ValueError("the two curves do not overlap")
    knots = np.concatenate([[low, high], knots1, knots2])
    edges = np.unique(knots[(knots >= low) & (knots <= high)])
    a, b = edges[:-1], edges[1:]

    def integral(f: Callable[[np.ndarray], np.ndarray]) -> float:
        return float(np.sum((b - a) / 6 * (f(a) + 4 * f((a + b) / 2) + f(b))))

    return (integral(f2) - integral(f1)) / (high - low)


def bd_rate(
    anchor_rate: Sequence[float],
    anchor_quality: Sequence[float],
    test_rate: Sequence[float],
    test_quality: Sequence[float],
    method: str = "cubic",
) -> float:
    """Bjontegaard delta rate in percent: the mean rate change of ``test`` against ``anchor`` at equal quality.

    Negative means ``test`` needs fewer bits. Rates in bpp (any unit, the same for both),
    quality in dB (PSNR or MS-SSIM dB). Natural-log rate is fitted as a function of quality
    and the mean log-rate difference ``D`` over the overlapping quality range gives
    ``(exp(D) - 1) * 100``.

    ``method="cubic"`` (default) is VCEG-M33: a least-squares cubic polynomial per curve,
    integrated exactly, as in the reference ``bdrate`` scripts and most papers.
    ``method="pchip"`` uses piecewise cubic Hermite interpolation through every point
    (as the JVET/VTM common-test-condition sheets do), integrated exactly.

    Raises:
        ValueError: too few points (4 for cubic, 2 for pchip), non-positive rates, or no overlap.
    """
    r1, q1 = _curve(anchor_rate, anchor_quality, "anchor")
    r2, q2 = _curve(test_rate, test_quality, "test")
    return float((np.exp(_mean_difference(q1, r1, q2, r2, method)) - 1.0) * 100.0)


def bd_psnr(
    anchor_rate: Sequence[float],
    anchor_quality: Sequence[float],
    test_rate: Sequence[float],
    test_quality: Sequence[float],
    method: str = "cubic",
) -> float:
    """Bjontegaard delta quality in dB: the mean quality gain of ``test`` over ``anchor`` at equal rate.

    Quality (dB) is fitted as a function of natural-log rate and the mean difference over
    the overlapping log-rate range is returned. ``method`` as for :func:`bd_rate`.

    Raises:
        ValueError: too few points, non-positive rates, or no overlap.
    """
    r1, q1 = _curve(anchor_rate, anchor_quality, "anchor")
    r2, q2 = _curve(test_rate, test_quality, "test")
    return _mean_difference(r1, q1, r2, q2, method)
