"""Entropy coding under a fixed table of quantized Laplace distributions, identical on every machine.

A context model predicts, per symbol, a Laplace location ``mu`` and log-scale; the grid codec
quantizes both to a *row* of a fixed table before coding, so the coding
model never depends on floating-point details:

- location: ``mu`` rounded to ``1/MU_STEPS``, split into an integer ``base`` and a fraction
  ``f / MU_STEPS``; the coded symbol is ``value - base`` (a residual);
- scale: ``ln b`` quantized to ``SCALES`` bins of width ``1/SCALES_PER_UNIT`` from
  ``LOG_SCALE_MIN``; bin ``s`` stands for ``b_s = exp(LOG_SCALE_MIN + (s + 0.5) / SCALES_PER_UNIT)``.

Row ``f * SCALES + s`` is the Laplace ``(f / MU_STEPS, b_s)`` over residuals
``-RESIDUAL_MAX .. RESIDUAL_MAX``, discretised to unit bins and quantized to integer
frequencies summing to ``2**PRECISION`` with every residual at least 1. The tables are
computed with Python's :mod:`decimal` (software arithmetic, the same on every platform) and
Python integers only, so encoder and decoder build bit-identical coding models.

The coder (:mod:`qcodec.codecs.grid.latent_coding`) maps a context model's output to a row
and a base as :mod:`qcodec.codecs.grid.latent_kernels` defines it, and codes the residual
under that row's frequencies (:func:`cdf_table`).
"""

from __future__ import annotations

from decimal import Context, Decimal
from functools import lru_cache

import numpy as np

from qcodec.coding.rans import PRECISION

MU_STEPS = 8
"""Location resolution: ``mu`` is rounded to multiples of ``1/MU_STEPS``."""

SCALES_PER_UNIT = 8
"""Log-scale bins per unit of natural log (adjacent scales differ by a factor ``e**(1/8)``)."""

SCALES = 64
"""Number of scale bins."""

LOG_SCALE_MIN = -3.5
"""``ln b`` at the lower edge of scale bin 0 (``b`` from 0.031 to 90)."""

VALUE_MAX = 127
"""Coded values lie in ``[-VALUE_MAX, VALUE_MAX]``; locations are clamped to that range too."""

RESIDUAL_MAX = 2 * VALUE_MAX
"""Residuals ``value - base`` lie in ``[-RESIDUAL_MAX, RESIDUAL_MAX]``."""


ROWS = MU_STEPS * SCALES

_DECIMAL = Context(prec=40)


def scale_of_bin(s: int) -> float:
    """The Laplace scale ``b_s`` that bin ``s`` stands for."""
    return float(_bin_scale(s))


def _bin_scale(s: int) -> Decimal:
    centre = _DECIMAL.divide(_DECIMAL.add(Decimal(s), Decimal("0.5")), SCALES_PER_UNIT)
    return _DECIMAL.exp(_DECIMAL.add(Decimal(LOG_SCALE_MIN), centre))


TAIL_BITS = 96
"""Fixed-point resolution of the CDF while a row is built."""


def _fixed(value: Decimal) -> int:
    """``value`` in units of ``2**-TAIL_BITS``, truncated."""
    return int(_DECIMAL.multiply(value, Decimal(1 << TAIL_BITS)))


@lru_cache(maxsize=ROWS)
def row_frequencies(row: int) -> np.ndarray:
    """Integer frequencies of table row ``row`` over residuals ``-RESIDUAL_MAX .. RESIDUAL_MAX``.

    Returns ``int64 (2 * RESIDUAL_MAX + 1,)``, each at least 1, summing to ``2**PRECISION``.
    """
    if not 0 <= row < ROWS:
        raise ValueError(f"table row {row} out of range")
    f, s = divmod(row, SCALES)
    mu = _DECIMAL.divide(Decimal(f), MU_STEPS)
    scale = _bin_scale(s)
    # Tails 0.5 exp(-|t|) of the CDF at the bin edges r - 1/2 (t = (edge - mu) / b), as integers
    # in units of 2**-TAIL_BITS. Successive edges are 1/b apart, so going away from mu each
    # tail is the previous one times q = exp(-1/b), an integer product and shift.
    one = 1 << TAIL_BITS
    q = _fixed(_DECIMAL.exp(_DECIMAL.divide(Decimal(-1), scale)))
    first_up = next(r for r in range(-RESIDUAL_MAX, RESIDUAL_MAX + 2) if _DECIMAL.subtract(r, Decimal("0.5")) >= mu)
    cdf = [0] * (2 * RESIDUAL_MAX + 2)
    tail = _fixed(_DECIMAL.multiply(Decimal("0.5"), _DECIMAL.exp(_DECIMAL.divide(_DECIMAL.subtract(mu, _DECIMAL.subtract(first_up, Decimal("0.5"))), scale))))
    for r in range(first_up, RESIDUAL_MAX + 2):  # at or above mu: CDF = 1 - tail
        cdf[r + RESIDUAL_MAX] = one - tail
        tail = (tail * q) >> TAIL_BITS
    tail = _fixed(_DECIMAL.multiply(Decimal("0.5"), _DECIMAL.exp(_DECIMAL.divide(_DECIMAL.subtract(_DECIMAL.subtract(first_up, Decimal("1.5")), mu), scale))))
    for r in range(first_up - 1, -RESIDUAL_MAX - 1, -1):  # below mu: CDF = tail
        cdf[r + RESIDUAL_MAX] = tail
        tail = (tail * q) >> TAIL_BITS
    masses = [hi - lo for lo, hi in zip(cdf, cdf[1:])]
    total = 1 << PRECISION
    spare = total - len(masses)
    mass_sum = sum(masses)
    freqs = [1 + m * spare // mass_sum for m in masses]
    freqs[max(range(len(masses)), key=masses.__getitem__)] += total - sum(freqs)
    return np.array(freqs, dtype=np.int64)


@lru_cache(maxsize=1)
def cdf_table() -> np.ndarray:
    """Cumulative frequencies of every row: ``int64 (ROWS, 2 * RESIDUAL_MAX + 2)``, row ``r`` from 0 to ``2**PRECISION``.

    Residual ``t`` of row ``r`` occupies ``[cdf[r, t + RESIDUAL_MAX], cdf[r, t + RESIDUAL_MAX + 1])``.
    """
    table = np.zeros((ROWS, 2 * RESIDUAL_MAX + 2), dtype=np.int64)
    for row in range(ROWS):
        np.cumsum(row_frequencies(row), out=table[row, 1:])
    table.flags.writeable = False
    return table
