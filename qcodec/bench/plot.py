"""Rate-distortion plot: PSNR vs bpp and MS-SSIM (dB) vs bpp, measured and published curves together.

Uses matplotlib (optional: :func:`plot_available` says whether it is installed) through
its object API with the Agg canvas, so it never opens a window or touches pyplot state.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from qcodec.bench.results import Curve
from qcodec.data.files import write_bytes_atomic
from qcodec.metrics import ms_ssim_db


def plot_available() -> bool:
    """Whether matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _sorted(xs: Sequence[float], ys: Sequence[float | None]) -> tuple[list[float], list[float]]:
    pairs = sorted((x, y) for x, y in zip(xs, ys) if y is not None)
    return [x for x, _ in pairs], [y for _, y in pairs]


def plot_rd(curves: Sequence[Curve], path: Path, title: str, max_bpp: float | None = None) -> None:
    """Write a two-panel RD plot PNG of ``curves`` to ``path``.

    Measured curves are solid with markers; published ones (``--reference``) are dashed
    and labelled "(published)". The bpp axis is cut at ``max_bpp`` (default: 1.2 times the
    largest measured rate, so distant published points do not squash the plot).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    measured = [c for c in curves if not c.published]
    if max_bpp is None:
        rates = [b for c in (measured or curves) for b in c.bpp]
        max_bpp = 1.2 * max(rates) if rates else None
    figure = Figure(figsize=(13, 5.5), layout="constrained")
    FigureCanvasAgg(figure)
    psnr_axis, msssim_axis = figure.subplots(1, 2)
    colours = iter(f"C{i}" for i in range(100))
    for curve in curves:
        style = {"linestyle": "--", "marker": None, "alpha": 0.8} if curve.published else {"marker": "o", "markersize": 4}
        colour = next(colours)
        psnr_axis.plot(*_sorted(curve.bpp, curve.psnr), color=colour, label=curve.label, **style)
        if curve.ms_ssim is not None:
            decibels = [ms_ssim_db(v) if v is not None else None for v in curve.ms_ssim]
            xs, ys = _sorted(curve.bpp, decibels)
            if xs:
                msssim_axis.plot(xs, ys, color=colour, label=curve.label, **style)
    for axis, ylabel in ((psnr_axis, "PSNR (RGB) [dB]"), (msssim_axis, "MS-SSIM [dB]  (-10 log10(1 - MS-SSIM))")):
        axis.set_xlabel("Rate [bpp]")
        axis.set_ylabel(ylabel)
        axis.grid(True, alpha=0.3)
        if max_bpp:
            axis.set_xlim(0, max_bpp)
        if axis.get_lines():
            axis.legend(fontsize="small")
        else:
            axis.text(0.5, 0.5, "no data (MS-SSIM needs images of 161 px a side or more)", ha="center",
                      va="center", transform=axis.transAxes, fontsize="small")
    psnr_axis.set_title(f"{title}: PSNR")
    msssim_axis.set_title(f"{title}: MS-SSIM")
    _autoscale_y(psnr_axis, max_bpp)
    _autoscale_y(msssim_axis, max_bpp)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
    write_bytes_atomic(path, buffer.getvalue())


def _autoscale_y(axis, max_bpp: float | None) -> None:  # noqa: ANN001 - a matplotlib Axes
    """Fit the y range to the data inside the visible bpp range."""
    values = []
    for line in axis.get_lines():
        for x, y in zip(line.get_xdata(), line.get_ydata()):
            if max_bpp is None or x <= max_bpp:
                values.append(y)
    if values:
        low, high = min(values), max(values)
        margin = 0.05 * (high - low or 1.0)
        axis.set_ylim(low - margin, high + margin)
