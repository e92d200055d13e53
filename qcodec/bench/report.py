"""What a finished benchmark leaves in ``--out``, and its machine-readable summary.

``--out DIR`` receives:

- ``<codec>.json``: each measured curve in CompressAI's results format, with per-image rows;
- ``bd.json``: the BD-rate / BD-PSNR table against the anchor (if there is one), i.e. the
  ``bd`` part of :func:`summary`;
- ``rd.png``: the RD plot (PSNR and MS-SSIM dB vs bpp), published curves overlaid
  (skipped, with a note, when matplotlib is not installed).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from qcodec.bench.bd import BDRow, anchor_problem, bd_table, find_curve
from qcodec.bench.plot import plot_available, plot_rd
from qcodec.bench.results import Curve, strict_json, value_at, write_curve
from qcodec.data.files import make_folder, write_bytes_atomic

DEFAULT_ANCHOR = "jpeg2000"


@dataclass
class Analysis:
    """What is derived from the curves once a run is done.

    Attributes:
        curves: measured curves, then published ones (``--reference``).
        anchor: the BD anchor curve, or ``None`` (no BD table).
        bd_rows: every other curve against the anchor.
        at: ``{bpp: {curve label: (PSNR dB, MS-SSIM)}}`` read off the curves (``--at``).
        notes: why something is missing.
    """

    curves: list[Curve]
    anchor: Curve | None
    bd_rows: list[BDRow]
    at: dict[float, dict[str, tuple[float | None, float | None]]]
    notes: list[str]


def analyse(
    measured: Sequence[Curve], references: Sequence[Curve], anchor: str | None, method: str, at: Sequence[float]
) -> Analysis:
    """BD table against ``anchor`` (default: measured ``jpeg2000`` when it ran) and values at ``at`` bpp.

    Raises:
        InvalidInputError: an explicit ``anchor`` that is not among the curves.
    """
    curves = [*measured, *references]
    notes: list[str] = []
    if anchor is not None:
        anchor_curve: Curve | None = find_curve(curves, anchor)
    else:
        anchor_curve = next((c for c in measured if c.name == DEFAULT_ANCHOR), None)
        if anchor_curve is None:
            notes.append(f"no BD table: the default anchor {DEFAULT_ANCHOR} was not run (choose one with --anchor)")
    problem = anchor_problem(anchor_curve, method) if anchor_curve else None
    if anchor_curve and problem:
        notes.append(f"no Bjontegaard deltas against {anchor_curve.label}: {problem}")
    rows = bd_table(curves, anchor_curve, method) if anchor_curve and not problem else []
    values = {rate: {c.label: value_at(c, rate) for c in curves} for rate in at}
    return Analysis(curves, anchor_curve, rows, values, notes)


def summary(dataset: str, images: Sequence[str], measured: Sequence[Curve], analysis: Analysis, method: str) -> dict[str, Any]:
    """Everything ``qcodec bench --json`` prints: curves (without per-image rows), BD table, values at rates, notes."""
    return strict_json(
        {
            "dataset": dataset,
            "images": list(images),
            "codecs": {c.name: {k: v for k, v in c.to_compressai().items() if k != "per_image"} for c in measured},
            "bd": {
                "anchor": analysis.anchor.label if analysis.anchor else None,
                "method": method,
                "rows": [asdict(r) for r in analysis.bd_rows],
            },
            "at": {
                str(rate): {label: {"psnr": p, "ms-ssim": m} for label, (p, m) in values.items()}
                for rate, values in analysis.at.items()
            },
            "notes": list(analysis.notes),
        }
    )


def write_outputs(
    out_dir: Path,
    curves: Sequence[Curve],
    references: Sequence[Curve],
    bd: dict[str, Any] | None,
    title: str,
) -> tuple[list[Path], list[str]]:
    """Write the files listed in the module docstring; returns the paths written and notes.

    Raises:
        InvalidInputError: ``out_dir`` cannot be created.
    """
    make_folder(out_dir)
    written: list[Path] = []
    notes: list[str] = []
    for curve in curves:
        path = out_dir / f"{curve.name}.json"
        write_curve(curve, path)
        written.append(path)
    if bd is not None:
        path = out_dir / "bd.json"
        write_bytes_atomic(path, (json.dumps(strict_json(bd), indent=2) + "\n").encode())
        written.append(path)
    if plot_available():
        path = out_dir / "rd.png"
        plot_rd([*curves, *references], path, title)
        written.append(path)
    else:
        notes.append("no RD plot: matplotlib is not installed (pip install matplotlib)")
    return written, notes
