"""Bjontegaard deltas of every curve against one anchor curve (see :func:`qcodec.metrics.bd_rate`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from qcodec.bench.results import Curve
from qcodec.errors import InvalidInputError
from qcodec.metrics import bd_psnr, bd_rate, ms_ssim_db


@dataclass
class BDRow:
    """One curve against the anchor.

    Attributes:
        label: the curve's label (``name`` or ``name (published)``).
        bd_rate: BD-rate in % on PSNR (negative: fewer bits than the anchor for equal PSNR).
        bd_psnr: BD-PSNR in dB (positive: higher PSNR than the anchor at equal rate).
        bd_rate_ms_ssim: BD-rate in % on MS-SSIM in dB.
        note: why a value is missing (``None`` when all are there).
    """

    label: str
    bd_rate: float | None
    bd_psnr: float | None
    bd_rate_ms_ssim: float | None
    note: str | None = None


def find_curve(curves: Sequence[Curve], name: str) -> Curve:
    """The curve called ``name`` (case-insensitive): a run codec first, else a published one.

    Raises:
        InvalidInputError: no curve has that name.
    """
    wanted = name.lower()
    for published in (False, True):
        for curve in curves:
            if curve.published == published and curve.name.lower() == wanted:
                return curve
    raise InvalidInputError(f"anchor {name!r} is not among the curves ({', '.join(c.label for c in curves)})")


def _points(curve: Curve, use_ms_ssim: bool) -> tuple[list[float], list[float]]:
    rates, qualities = [], []
    for i, rate in enumerate(curve.bpp):
        quality = curve.psnr[i]
        if use_ms_ssim:
            value = curve.ms_ssim[i] if curve.ms_ssim is not None else None
            quality = ms_ssim_db(value) if value is not None else math.nan
        if rate > 0 and math.isfinite(quality):
            rates.append(rate)
            qualities.append(quality)
    return rates, qualities


def _delta(
    function: Callable[..., float], anchor: Curve, curve: Curve, use_ms_ssim: bool, method: str, notes: list[str]
) -> float | None:
    """``function`` (bd_rate or bd_psnr) of ``curve`` against ``anchor``; ``None`` plus a note when undefined."""
    anchor_points = _points(anchor, use_ms_ssim)
    test_points = _points(curve, use_ms_ssim)
    if use_ms_ssim and (not anchor_points[0] or not test_points[0]):
        return None
    try:
        return function(*anchor_points, *test_points, method=method)
    except ValueError as exc:
        if str(exc) not in notes:
            notes.append(str(exc))
        return None


def anchor_problem(anchor: Curve, method: str) -> str | None:
    """Why no Bjontegaard delta can be taken against ``anchor`` with ``method`` (too few points
    for the fit), or ``None`` when it can: the anchor measured against itself."""
    notes: list[str] = []
    _delta(bd_rate, anchor, anchor, False, method, notes)
    return notes[0] if notes else None


def bd_table(curves: Sequence[Curve], anchor: Curve, method: str = "cubic") -> list[BDRow]:
    """BD-rate (PSNR), BD-PSNR and BD-rate (MS-SSIM dB) of every curve but the anchor against it.

    A value that cannot be computed (too few points, no overlap, no MS-SSIM) is ``None``
    and the row's note says why.
    """
    rows = []
    for curve in curves:
        if curve is anchor:
            continue
        notes: list[str] = []
        rows.append(
            BDRow(
                label=curve.label,
                bd_rate=_delta(bd_rate, anchor, curve, False, method, notes),
                bd_psnr=_delta(bd_psnr, anchor, curve, False, method, notes),
                bd_rate_ms_ssim=_delta(bd_rate, anchor, curve, True, method, notes),
                note="; ".join(notes) or None,
            )
        )
    return rows
