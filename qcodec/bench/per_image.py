"""Image-by-image comparison with a published codec's per-image results (``--per-image-reference``).

A mean curve cannot compare codecs on a subset of a dataset, or at each image's own rate; a
per-image curve can. The reference file is a TSV with a header naming at least ``image``,
``bpp`` and ``psnr_db`` (Cool-chic's ``results/.../image-kodak.tsv`` layout, for example
``../shared/reference/kodak/coolchic-5.0-per-image.tsv``), several rate points per image.

For every measured row, the reference's PSNR at the row's own bpp is read off that image's
curve, linearly in log-rate between its two neighbouring points (never extrapolated: a rate
outside the curve's range is reported as outside). The gap is ours minus the reference's,
in dB, averaged over the images per rate point. With two or more rate points per image the
per-image BD-rate against the reference curve (:func:`qcodec.metrics.bd_rate`, pchip, over
the overlapping PSNR range) is averaged over the images too.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qcodec.bench.results import ImageResult
from qcodec.errors import InvalidInputError
from qcodec.metrics import bd_rate


@dataclass(frozen=True)
class PerImageReference:
    """Published per-image curves: ``name`` and ``{image: [(bpp, psnr), ...]}`` sorted by bpp."""

    name: str
    curves: dict[str, list[tuple[float, float]]]

    def psnr_at(self, image: str, bpp: float) -> float | None:
        """The reference PSNR of ``image`` at ``bpp`` (log-rate interpolation); ``None`` outside its curve or for an unknown image."""
        points = self.curves.get(image)
        if not points or not points[0][0] <= bpp <= points[-1][0]:
            return None
        rates = np.log([p[0] for p in points])
        return float(np.interp(math.log(bpp), rates, [p[1] for p in points]))


def read_per_image_reference(path: Path) -> PerImageReference:
    """Parse a per-image results TSV (see the module docstring); its name is the file's stem.

    Raises:
        InvalidInputError: missing file, missing columns, or values that are not positive numbers.
    """
    try:
        text = path.read_text()
    except OSError as exc:
        raise InvalidInputError(f"--per-image-reference: cannot read {path}: {exc.strerror}") from None
    reader = csv.DictReader(text.splitlines(), delimiter="\t")
    needed = {"image", "bpp", "psnr_db"}
    if not needed <= set(reader.fieldnames or ()):
        raise InvalidInputError(f"--per-image-reference: {path} needs the columns {', '.join(sorted(needed))}")
    curves: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for line, row in enumerate(reader, start=2):
        try:
            bpp, value = float(row["bpp"]), float(row["psnr_db"])
        except (TypeError, ValueError):
            raise InvalidInputError(f"--per-image-reference: {path} line {line} is not a number") from None
        if not (bpp > 0 and math.isfinite(value)):
            raise InvalidInputError(f"--per-image-reference: {path} line {line} has a bad rate or PSNR")
        curves[row["image"]].append((bpp, value))
    if not curves:
        raise InvalidInputError(f"--per-image-reference: {path} holds no results")
    return PerImageReference(path.stem, {image: sorted(points) for image, points in curves.items()})


@dataclass
class Gap:
    """One codec's gap to the reference.

    Attributes:
        codec, setting: whose rows (``setting`` ``"BD"`` for the per-image BD-rate).
        mean: mean over ``images`` of ours minus the reference (dB), or of the BD-rate (%).
        images: the per-image values.
        outside: images whose rate lies outside their reference curve (or that it lacks).
    """

    codec: str
    setting: str
    mean: float | None
    images: dict[str, float] = field(default_factory=dict)
    outside: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"codec": self.codec, "setting": self.setting, "mean": self.mean, "images": self.images, "outside": self.outside}


def psnr_gaps(rows: Sequence[ImageResult], reference: PerImageReference) -> list[Gap]:
    """For each codec and rate point of ``rows``: ours minus the reference at each image's own bpp."""
    gaps: dict[tuple[str, str], Gap] = {}
    for row in rows:
        gap = gaps.setdefault((row.codec, row.setting), Gap(row.codec, row.setting, None))
        theirs = reference.psnr_at(row.image, row.bpp)
        if theirs is None or not math.isfinite(row.psnr):
            gap.outside.append(row.image)
        else:
            gap.images[row.image] = row.psnr - theirs
    for gap in gaps.values():
        gap.mean = float(np.mean(list(gap.images.values()))) if gap.images else None
    return list(gaps.values())


def bd_rate_gaps(rows: Sequence[ImageResult], reference: PerImageReference) -> list[Gap]:
    """For each codec with two or more rate points on an image: the mean per-image BD-rate (%) against the reference."""
    by_codec: dict[str, dict[str, list[ImageResult]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        by_codec[row.codec][row.image].append(row)
    gaps = []
    for codec, images in by_codec.items():
        gap = Gap(codec, "BD", None)
        for image, mine in images.items():
            points = reference.curves.get(image)
            if len(mine) < 2 or not points:
                continue
            mine = sorted(mine, key=lambda r: r.bpp)
            try:
                value = bd_rate([p[0] for p in points], [p[1] for p in points], [r.bpp for r in mine], [r.psnr for r in mine], method="pchip")
            except ValueError:
                gap.outside.append(image)
                continue
            gap.images[image] = value
        if gap.images or gap.outside:
            gap.mean = float(np.mean(list(gap.images.values()))) if gap.images else None
            gaps.append(gap)
    return gaps
