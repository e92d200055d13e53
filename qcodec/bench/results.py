"""Benchmark results: per-image rows, per-codec curves, and CompressAI's JSON results format.

A curve file looks like CompressAI's (``compressai.utils.bench`` / ``eval_model``), so
CompressAI's and our plotting tools read each other's files::

    {"name": "jpeg", "description": "...",
     "results": {"bpp": [...], "psnr": [...], "ms-ssim": [...],
                 "encoding_time": [...], "decoding_time": [...]},
     "settings": ["q=5", ...],          # qcodec addition: the rate point of each entry
     "per_image": [{...}, ...]}         # qcodec addition: every image x rate point row

Each entry of ``results`` is the mean over the images of the per-image values at one rate
point, as CompressAI averages: bpp, PSNR (dB), MS-SSIM (linear, 0-1) and times (s).
Non-finite values (PSNR of an exact reconstruction, MS-SSIM of images too small for it)
are written as ``null``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qcodec.data.files import write_bytes_atomic
from qcodec.errors import InvalidInputError


@dataclass
class ImageResult:
    """One image coded at one rate point.

    Attributes:
        codec, setting, image: which codec, rate-point label and image (file stem).
        bytes: size of the complete file in bytes, headers included.
        bpp: ``8 * bytes / (width * height)``.
        psnr: RGB (or grey) PSNR in dB on the 8-bit values.
        ms_ssim: MS-SSIM (0-1), mean over channels; ``None`` if the image is under 161 px a side.
        encoding_time, decoding_time: seconds, wall clock, of one encode and one decode.
        options: the rate point's options; details: what the codec reports (chosen quality, ...).
    """

    codec: str
    setting: str
    image: str
    width: int
    height: int
    channels: int
    bytes: int
    bpp: float
    psnr: float
    ms_ssim: float | None
    encoding_time: float
    decoding_time: float
    options: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return strict_json(asdict(self))

    @classmethod
    def from_json(cls, row: Mapping[str, Any]) -> ImageResult:
        values = dict(row)
        values["psnr"] = math.inf if values.get("psnr") is None else values["psnr"]
        return cls(**values)


@dataclass
class Curve:
    """A rate-distortion curve: one entry per rate point.

    ``ms_ssim`` entries are linear (0-1); ``None`` where unknown. ``published`` curves come
    from ``--reference`` files and are labelled as such.
    """

    name: str
    description: str
    bpp: list[float]
    psnr: list[float]
    ms_ssim: list[float | None] | None = None
    encoding_time: list[float] | None = None
    decoding_time: list[float] | None = None
    settings: list[str] | None = None
    per_image: list[ImageResult] = field(default_factory=list)
    published: bool = False

    @property
    def label(self) -> str:
        return f"{self.name} (published)" if self.published else self.name

    def to_compressai(self) -> dict[str, Any]:
        """The curve in CompressAI's results format (plus ``settings`` and ``per_image``)."""
        results: dict[str, Any] = {"bpp": self.bpp, "psnr": self.psnr}
        for key, values in (
            ("ms-ssim", self.ms_ssim),
            ("encoding_time", self.encoding_time),
            ("decoding_time", self.decoding_time),
        ):
            if values is not None:
                results[key] = values
        document: dict[str, Any] = {"name": self.name, "description": self.description, "results": results}
        if self.settings is not None:
            document["settings"] = self.settings
        if self.per_image:
            document["per_image"] = [row.to_json() for row in self.per_image]
        return strict_json(document)

    @classmethod
    def from_compressai(cls, document: Mapping[str, Any], published: bool = False, source: str = "curve") -> Curve:
        """Read a CompressAI-format results document.

        Raises:
            InvalidInputError: ``results.bpp`` / ``results.psnr`` missing or of unequal length.
        """
        try:
            results = document["results"]
            bpp = [float(v) for v in results["bpp"]]
            psnr = [math.inf if v is None else float(v) for v in results["psnr"]]
        except (KeyError, TypeError, ValueError):
            raise InvalidInputError(f"{source} is not in CompressAI's results format (results.bpp, results.psnr)") from None
        if len(bpp) != len(psnr) or not bpp:
            raise InvalidInputError(f"{source}: results.bpp and results.psnr must be non-empty and of equal length")

        def optional(key: str) -> list[Any] | None:
            values = results.get(key)
            return list(values) if isinstance(values, list) and len(values) == len(bpp) else None

        return cls(
            name=str(document.get("name", source)),
            description=str(document.get("description", "")),
            bpp=bpp,
            psnr=psnr,
            ms_ssim=optional("ms-ssim"),
            encoding_time=optional("encoding_time"),
            decoding_time=optional("decoding_time"),
            settings=document.get("settings") if isinstance(document.get("settings"), list) else None,
            per_image=[ImageResult.from_json(r) for r in document.get("per_image", [])],
            published=published,
        )


def strict_json(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``None`` (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    return value


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(present)) if present else None


def aggregate(name: str, description: str, settings: Sequence[str], rows: Sequence[ImageResult]) -> Curve:
    """The curve of one codec: per rate point (in ``settings`` order), the mean of its per-image rows.

    Rate points without rows are left out.
    """
    points = [(label, [r for r in rows if r.setting == label]) for label in settings]
    points = [(label, group) for label, group in points if group]
    return Curve(
        name=name,
        description=description,
        settings=[label for label, _ in points],
        bpp=[float(np.mean([r.bpp for r in group])) for _, group in points],
        psnr=[float(np.mean([r.psnr for r in group])) for _, group in points],
        ms_ssim=[_mean(r.ms_ssim for r in group) for _, group in points],
        encoding_time=[float(np.mean([r.encoding_time for r in group])) for _, group in points],
        decoding_time=[float(np.mean([r.decoding_time for r in group])) for _, group in points],
        per_image=list(rows),
    )


def write_curve(curve: Curve, path: Path) -> None:
    """Write ``curve`` as an indented CompressAI-format JSON file (atomically)."""
    write_bytes_atomic(path, (json.dumps(curve.to_compressai(), indent=2) + "\n").encode())


def read_curve(path: Path, published: bool = False) -> Curve:
    """Read a CompressAI-format JSON file.

    Raises:
        InvalidInputError: unreadable, not JSON, or not in the results format.
    """
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"cannot read results file {path} ({exc})") from None
    if not isinstance(document, dict):
        raise InvalidInputError(f"{path} is not in CompressAI's results format")
    return Curve.from_compressai(document, published=published, source=str(path))


def read_references(folder: Path) -> list[Curve]:
    """Every ``*.json`` curve in ``folder``, sorted by file name, marked as published.

    Raises:
        InvalidInputError: the folder is missing or empty, or a file is not a results file.
    """
    if not folder.is_dir():
        raise InvalidInputError(f"--reference: no such folder: {folder}")
    files = sorted(folder.glob("*.json"))
    if not files:
        raise InvalidInputError(f"--reference: no .json result files in {folder}")
    return [read_curve(path, published=True) for path in files]


def value_at(curve: Curve, bpp: float) -> tuple[float | None, float | None]:
    """PSNR (dB) and MS-SSIM (linear) of ``curve`` at ``bpp``, read off the curve.

    Interpolated linearly in log-rate between the two rate points around ``bpp`` (the mean
    curve, as a plot shows it; not a per-image search, which ``--bpp`` does). ``None``
    outside the curve's rate range, or where MS-SSIM is unknown.
    """
    order = np.argsort(curve.bpp)
    rates = np.log(np.asarray(curve.bpp, dtype=np.float64)[order])
    if not (rates[0] <= np.log(bpp) <= rates[-1]):
        return None, None
    psnr = float(np.interp(np.log(bpp), rates, np.asarray(curve.psnr, dtype=np.float64)[order]))
    structural = None
    if curve.ms_ssim is not None and all(v is not None for v in curve.ms_ssim):
        values = np.asarray(curve.ms_ssim, dtype=np.float64)[order]
        structural = float(np.interp(np.log(bpp), rates, values))
    return psnr, structural
