"""Compiled (numba) loops of the grid codec's latent coding: the fixed-point context model at one
position, and a plane's coding rows (encoder) or its decoding in raster order (decoder).

Both loops evaluate the context model through the one function :func:`_row_at`, so encoder and
decoder compute the same table row from the same decoded values by construction. All
arithmetic is on ``int64``; the fixed-point conventions are those of
:class:`qcodec.codecs.grid.latent_coding.FixedPointContext`:

- first layer: ``bias + sum(spatial * neighbour) + floor(sum(coarse * context) / 2**COARSE_BITS)``,
  in units of ``2**-FRACTION_BITS`` (the coarse context in units of ``2**-COARSE_BITS``),
  clamped to ``[0, ACTIVATION_LIMIT]``;
- each hidden layer: ``floor((bias + sum(weight * h)) / 2**FRACTION_BITS)``, clamped the same;
- output: ``bias + sum(weight * h)`` in units of ``2**-(2 FRACTION_BITS)``, turned into a
  location in ``1/MU_STEPS`` and a log-scale bin, then a table row of
  :mod:`qcodec.codecs.grid.laplace` and a base (:func:`_row_at`; ``docs/bitstream.md``, "Tables").

Every sum stays far below ``2**63`` for weights up to ``2**20`` and hidden widths up to 64.

numba checks only this file for changes: after editing :mod:`qcodec.coding.rans` or the
constants of :mod:`qcodec.codecs.grid.laplace`, delete this folder's ``__pycache__``.
"""

from __future__ import annotations

import numba
import numpy as np

from qcodec.codecs.grid.laplace import LOG_SCALE_MIN, MU_STEPS, RESIDUAL_MAX, SCALES, SCALES_PER_UNIT, VALUE_MAX
from qcodec.coding import rans

FRACTION_BITS = 8
"""Fixed-point weights and activations are integers in units of ``2**-FRACTION_BITS``."""

COARSE_BITS = 14
"""The coarse context (bicubic upsampling of integers) is exact in units of ``2**-COARSE_BITS``."""

ACTIVATION_LIMIT = 1 << 24

_OUT_BITS = 2 * FRACTION_BITS
_MU_SHIFT = _OUT_BITS - (MU_STEPS.bit_length() - 1)
_SCALE_SHIFT = _OUT_BITS - (SCALES_PER_UNIT.bit_length() - 1)
_SCALE_ORIGIN = round(LOG_SCALE_MIN * (1 << _OUT_BITS))
_MU_LIMIT = VALUE_MAX * MU_STEPS
_MU_BITS = MU_STEPS.bit_length() - 1
_SYMBOLS = 2 * RESIDUAL_MAX + 1
assert MU_STEPS == 1 << _MU_BITS and SCALES_PER_UNIT == 1 << (SCALES_PER_UNIT.bit_length() - 1)
assert _SCALE_ORIGIN == LOG_SCALE_MIN * (1 << _OUT_BITS)


@numba.njit(cache=True, nogil=True)
def _row_at(
    plane: np.ndarray,
    coarse: np.ndarray,
    r: int,
    c: int,
    causal: np.ndarray,
    around: np.ndarray,
    spatial: np.ndarray,
    coarse_w: np.ndarray,
    bias: np.ndarray,
    mlp_w: np.ndarray,
    mlp_b: np.ndarray,
    out_w: np.ndarray,
    out_b: np.ndarray,
    h1: np.ndarray,
    h2: np.ndarray,
) -> tuple[int, int]:
    """``(row, base)`` of the latent at ``(r, c)`` of ``plane`` from the values before it in raster order.

    ``plane`` and ``coarse`` (the coarse context, units of ``2**-COARSE_BITS``) are ``int64 (h, w)``;
    ``causal (24, 2)`` and ``around (9, 2)`` the offsets; the weights are those of
    :attr:`qcodec.codecs.grid.latent_coding.FixedPointContext.arrays`; ``h1`` and ``h2`` are
    scratch ``int64 (hidden,)`` arrays.
    """
    height, width = plane.shape
    hidden = bias.shape[0]
    for j in range(hidden):
        h2[j] = 0
    for t in range(around.shape[0]):
        rr = r + around[t, 0]
        cc = c + around[t, 1]
        if 0 <= rr < height and 0 <= cc < width:
            v = coarse[rr, cc]
            if v != 0:
                for j in range(hidden):
                    h2[j] += coarse_w[t, j] * v
    for j in range(hidden):
        h1[j] = bias[j] + (h2[j] >> COARSE_BITS)
    for t in range(causal.shape[0]):
        rr = r + causal[t, 0]
        cc = c + causal[t, 1]
        if rr >= 0 and 0 <= cc < width:
            v = plane[rr, cc]
            if v != 0:
                for j in range(hidden):
                    h1[j] += spatial[t, j] * v
    for j in range(hidden):
        h1[j] = min(max(h1[j], 0), ACTIVATION_LIMIT)
    for layer in range(mlp_w.shape[0]):
        for j in range(hidden):
            s = mlp_b[layer, j]
            for i in range(hidden):
                s += mlp_w[layer, j, i] * h1[i]
            h2[j] = min(max(s >> FRACTION_BITS, 0), ACTIVATION_LIMIT)
        for j in range(hidden):
            h1[j] = h2[j]
    mu = out_b[0]
    log_scale = out_b[1]
    for i in range(hidden):
        mu += out_w[0, i] * h1[i]
        log_scale += out_w[1, i] * h1[i]
    mu_steps = min(max((mu + (1 << (_MU_SHIFT - 1))) >> _MU_SHIFT, -_MU_LIMIT), _MU_LIMIT)
    scale_bin = min(max((log_scale - _SCALE_ORIGIN) >> _SCALE_SHIFT, 0), SCALES - 1)
    base = mu_steps >> _MU_BITS
    return (mu_steps - (base << _MU_BITS)) * SCALES + scale_bin, base


@numba.njit(cache=True, nogil=True)
def plane_rows(
    plane: np.ndarray,
    coarse: np.ndarray,
    causal: np.ndarray,
    around: np.ndarray,
    spatial: np.ndarray,
    coarse_w: np.ndarray,
    bias: np.ndarray,
    mlp_w: np.ndarray,
    mlp_b: np.ndarray,
    out_w: np.ndarray,
    out_b: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Table rows and bases ``int64 (h * w,)`` (row-major) of a known integer ``plane (h, w)``."""
    height, width = plane.shape
    rows = np.empty(height * width, dtype=np.int64)
    bases = np.empty(height * width, dtype=np.int64)
    h1 = np.empty(bias.shape[0], dtype=np.int64)
    h2 = np.empty(bias.shape[0], dtype=np.int64)
    for r in range(height):
        for c in range(width):
            row, base = _row_at(plane, coarse, r, c, causal, around, spatial, coarse_w, bias, mlp_w, mlp_b, out_w, out_b, h1, h2)
            rows[r * width + c] = row
            bases[r * width + c] = base
    return rows, bases


@numba.njit(cache=True, nogil=True)
def decode_plane(
    words: np.ndarray,
    decoder: np.ndarray,
    cdf: np.ndarray,
    coarse: np.ndarray,
    causal: np.ndarray,
    around: np.ndarray,
    spatial: np.ndarray,
    coarse_w: np.ndarray,
    bias: np.ndarray,
    mlp_w: np.ndarray,
    mlp_b: np.ndarray,
    out_w: np.ndarray,
    out_b: np.ndarray,
) -> tuple[np.ndarray, bool]:
    """Decode one plane of ``coarse``'s shape in raster order from rANS ``decoder`` over ``words`` (updated in place).

    ``cdf`` is ``int64 (rows, symbols + 1)``, the cumulative frequencies of every table row.
    Returns ``(plane, ok)``; ``ok`` is False if a value fell outside ``[-VALUE_MAX, VALUE_MAX]``
    or the state could not be refilled (:func:`~qcodec.coding.rans.exhausted`); the plane is
    then incomplete.
    """
    height, width = coarse.shape
    plane = np.zeros((height, width), dtype=np.int64)
    h1 = np.empty(bias.shape[0], dtype=np.int64)
    h2 = np.empty(bias.shape[0], dtype=np.int64)
    for r in range(height):
        for c in range(width):
            row, base = _row_at(plane, coarse, r, c, causal, around, spatial, coarse_w, bias, mlp_w, mlp_b, out_w, out_b, h1, h2)
            target = rans.slot(decoder)
            low, high = 0, _SYMBOLS  # cdf[row, low] <= target < cdf[row, high]
            while high - low > 1:
                middle = (low + high) >> 1
                if cdf[row, middle] <= target:
                    low = middle
                else:
                    high = middle
            start = cdf[row, low]
            rans.pop(decoder, words, start, cdf[row, low + 1] - start)
            value = low - RESIDUAL_MAX + base
            if value < -VALUE_MAX or value > VALUE_MAX or rans.exhausted(decoder):
                return plane, False
            plane[r, c] = value
    return plane, True
