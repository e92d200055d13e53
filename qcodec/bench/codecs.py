"""What the benchmark runs: one :class:`BenchCodec` per ``--codecs`` name, and its rate points.

Classical codecs go through Pillow, configured as their users would configure them:

==========  ==============================================================================
``jpeg``    libjpeg(-turbo) baseline, 4:2:0 chroma (Pillow's default), quality 1-100
``jpeg2000`` OpenJPEG, JP2 file, 9/7 irreversible wavelet + colour transform (``irreversible=True,
            mct=1``; Pillow's defaults, 5/3 without MCT, lose 1-6 dB), rate set directly with
            ``quality_mode="rates"`` (the target in bpp, hit within about 2 %)
``webp``    libwebp lossy, Pillow's defaults (method 4, 4:2:0), quality 0-100 (float)
``avif``    libavif/AOM, Pillow's defaults (speed 6, 4:2:0), quality 0-100
==========  ==============================================================================

A codec the local Pillow was built without is reported by :meth:`BenchCodec.unavailable`
and skipped. Every qcodec model in :mod:`qcodec.codecs.registry` is benchmarked through
:mod:`qcodec.api` by :class:`~qcodec.bench.models.QcodecModel`.

Rate points are :class:`RatePoint` objects: a label for tables and the JSON-able options
one run needs. Their options, the codec's :meth:`~BenchCodec.version` and the image's
content hash key the result cache, so they must say everything that changes the output.
"""

from __future__ import annotations

import io
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import PIL
import PIL.features
import PIL.Image

from qcodec.data.image_io import Image
from qcodec.errors import InvalidInputError
from qcodec.metrics import bits_per_pixel


@dataclass(frozen=True)
class RatePoint:
    """One point of a rate sweep.

    Attributes:
        label: what tables show (``q=10``, ``0.30 bpp``, ``tiny``); unique within a codec's sweep.
        options: JSON-able settings of one run (``{"quality": 10}``, ``{"bpp": 0.3}``,
            ``{"preset": "tiny", "steps": 200}``).
    """

    label: str
    options: Mapping[str, Any]


@dataclass(frozen=True)
class SweepConfig:
    """Rate-point choices from the command line.

    Attributes:
        targets: target rates in bpp (``--bpp``); ``None`` runs each codec's own sweep.
        presets: INR size presets to run (``--presets``); ``None`` runs all of a model's presets.
        steps: INR and grid fitting steps (``--steps``); 0 leaves each model's own default.
        qat_steps: INR quantization-aware fine-tuning steps; ``None`` uses ``steps // 10``.
        qualities: quality levels to run for models that have them (``--qualities``); ``None`` runs all.
        device: where qcodec models fit (``--device``); ``None`` leaves it to the model (and out of the cache key).
        effort: fitting effort of the models that take one (``--effort``, 1-5); with ``steps`` 0.
    """

    targets: tuple[float, ...] | None = None
    presets: tuple[str, ...] | None = None
    steps: int = 200
    qat_steps: int | None = None
    qualities: tuple[int, ...] | None = None
    device: str | None = None
    effort: int | None = None


@dataclass
class Coded:
    """One image through one codec: the file, what decoding it gives, and the timings in seconds."""

    data: bytes
    reconstruction: np.ndarray
    encode_seconds: float
    decode_seconds: float
    details: dict[str, Any] = field(default_factory=dict)


class BenchCodec(ABC):
    """A codec as the benchmark sees it: rate points in, file bytes and reconstruction out."""

    name: str
    description: str

    @abstractmethod
    def version(self) -> str:
        """Library versions that determine the output (part of the cache key and the JSON description)."""

    def unavailable(self) -> str | None:
        """Why this codec cannot run here, or ``None`` when it can."""
        return None

    @abstractmethod
    def rate_points(self, config: SweepConfig) -> list[RatePoint]:
        """The rate points to run under ``config`` (may be empty; see :meth:`skip_reason`)."""

    def skip_reason(self, config: SweepConfig) -> str | None:
        """Why :meth:`rate_points` is empty under ``config``, if it is."""
        return None

    @abstractmethod
    def run(self, image: Image, options: Mapping[str, Any]) -> Coded:
        """Encode ``image`` at one rate point's ``options`` and decode the result."""

    @abstractmethod
    def decode(self, data: bytes, channels: int) -> np.ndarray:
        """Decode a file this codec wrote to ``uint8 (H, W, channels)`` (galleries decode cached files)."""


def _label(options: Mapping[str, Any]) -> str:
    if "bpp" in options:
        return f"{options['bpp']:.3g} bpp"
    return f"q={options['quality']:g}"


class PillowCodec(BenchCodec):
    """A classical codec written and read by Pillow; ``quality`` is its rate knob.

    ``--bpp`` targets are met per image by bisection on quality: the quality whose file
    size is closest to the target is used (integer qualities cannot always hit it exactly;
    the achieved bpp is what is reported).
    """

    format: str
    feature: str
    library: str
    qualities: tuple[float, ...]
    quality_range: tuple[float, float]
    integer_quality: bool = True
    search_tolerance: float = 0.005
    """Relative rate error at which a float-quality search stops."""
    max_search_steps: int = 14

    def version(self) -> str:
        return f"Pillow {PIL.__version__}, {self.library} {PIL.features.version(self.feature)}"

    def unavailable(self) -> str | None:
        if PIL.features.check(self.feature):
            return None
        return f"this Pillow ({PIL.__version__}) was built without {self.library} support"

    def rate_points(self, config: SweepConfig) -> list[RatePoint]:
        if config.targets is not None:
            return [RatePoint(_label({"bpp": t}), {"bpp": t}) for t in config.targets]
        return [RatePoint(_label({"quality": q}), {"quality": q}) for q in self.qualities]

    def save_options(self, quality: float, channels: int) -> dict[str, Any]:
        """Pillow ``save`` keyword arguments at ``quality``."""
        return {"quality": int(quality) if self.integer_quality else float(quality)}

    def encode(self, pixels: np.ndarray, quality: float) -> bytes:
        """The complete file for ``uint8 (H, W, C)`` pixels at ``quality``."""
        plane = pixels[:, :, 0] if pixels.shape[2] == 1 else pixels
        buffer = io.BytesIO()
        PIL.Image.fromarray(np.ascontiguousarray(plane)).save(
            buffer, format=self.format, **self.save_options(quality, pixels.shape[2])
        )
        return buffer.getvalue()

    def decode(self, data: bytes, channels: int) -> np.ndarray:
        """Decode a file to ``uint8 (H, W, channels)``; colour output of a grey input is converted to L."""
        with PIL.Image.open(io.BytesIO(data)) as img:
            pixels = np.asarray(img.convert("L" if channels == 1 else "RGB"), dtype=np.uint8)
        return pixels[:, :, None] if pixels.ndim == 2 else pixels

    def quality_for_bpp(self, image: Image, target: float) -> float:
        """The quality whose file for ``image`` is closest to ``target`` bpp (bisection, encoding only)."""
        seen: dict[float, float] = {}

        def rate(quality: float) -> float:
            if quality not in seen:
                seen[quality] = bits_per_pixel(len(self.encode(image.pixels, quality)), image.num_pixels)
            return seen[quality]

        low, high = self.quality_range
        if rate(high) > target and rate(low) < target:
            for _ in range(self.max_search_steps):
                if self.integer_quality and high - low <= 1:
                    break
                middle = (low + high) // 2 if self.integer_quality else (low + high) / 2
                if rate(middle) >= target:
                    high = middle
                else:
                    low = middle
                if not self.integer_quality and abs(seen[middle] / target - 1) < self.search_tolerance:
                    break
        return min(seen, key=lambda q: (abs(seen[q] - target), q))

    def largest_quality_within(self, image: Image, max_bytes: int) -> float:
        """The highest integer quality whose file for ``image`` has at most ``max_bytes`` bytes
        (bisection, encoding only); the lowest quality when even that file is larger."""
        low, high = (int(q) for q in self.quality_range)
        if len(self.encode(image.pixels, high)) <= max_bytes:
            return high
        while high - low > 1:  # invariant: quality `high` is too large; `low` fits or is the lowest
            middle = (low + high) // 2
            if len(self.encode(image.pixels, middle)) <= max_bytes:
                low = middle
            else:
                high = middle
        return low

    def run(self, image: Image, options: Mapping[str, Any]) -> Coded:
        if "quality" in options:
            quality = options["quality"]
        elif "bpp" in options:
            quality = self.quality_for_bpp(image, float(options["bpp"]))
        else:
            raise InvalidInputError(f"{self.name}: a rate point needs a quality or a bpp target")
        return self._timed(image, quality, {"quality": quality})

    def _timed(self, image: Image, quality: float, details: dict[str, Any]) -> Coded:
        start = time.perf_counter()
        data = self.encode(image.pixels, quality)
        middle = time.perf_counter()
        reconstruction = self.decode(data, image.channels)
        end = time.perf_counter()
        return Coded(data, reconstruction, middle - start, end - middle, details)


class JpegCodec(PillowCodec):
    name = "jpeg"
    description = "JPEG (Pillow, libjpeg-turbo), 4:2:0 chroma"
    format = "JPEG"
    feature = "jpg"
    library = "libjpeg"
    qualities = (5, 8, 10, 15, 20, 30, 40, 50, 75, 90)
    quality_range = (1, 100)


class WebpCodec(PillowCodec):
    name = "webp"
    description = "WebP lossy (Pillow, libwebp), method 4, 4:2:0 chroma"
    format = "WEBP"
    feature = "webp"
    library = "libwebp"
    qualities = (0, 5, 10, 20, 35, 50, 70, 90)
    quality_range = (0.0, 100.0)
    integer_quality = False


class AvifCodec(PillowCodec):
    name = "avif"
    description = "AVIF (Pillow, libavif), speed 6, 4:2:0 chroma"
    format = "AVIF"
    feature = "avif"
    library = "libavif"
    qualities = (10, 20, 30, 40, 50, 60, 70, 80)
    quality_range = (0, 100)


class Jpeg2000Codec(PillowCodec):
    """JPEG 2000: the target rate is given to OpenJPEG directly (no search).

    OpenJPEG's ``rates`` are compression ratios against the raw 8-bit samples, so a
    target of ``b`` bpp is the ratio ``8 * channels / b``.
    """

    name = "jpeg2000"
    description = "JPEG 2000 (Pillow, OpenJPEG), JP2, 9/7 wavelet + colour transform, rate-controlled"
    format = "JPEG2000"
    feature = "jpg_2000"
    library = "OpenJPEG"
    rates = (0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5)
    """Default sweep in bpp."""

    def rate_points(self, config: SweepConfig) -> list[RatePoint]:
        targets = self.rates if config.targets is None else config.targets
        return [RatePoint(_label({"bpp": t}), {"bpp": t}) for t in targets]

    def save_options(self, quality: float, channels: int) -> dict[str, Any]:
        return {
            "quality_mode": "rates",
            "quality_layers": [8.0 * channels / quality],
            "irreversible": True,
            "mct": 1 if channels == 3 else 0,
        }

    def run(self, image: Image, options: Mapping[str, Any]) -> Coded:
        if "bpp" not in options:
            raise InvalidInputError(f"{self.name}: a rate point needs a bpp target")
        target = float(options["bpp"])
        if not math.isfinite(target) or target <= 0:
            raise InvalidInputError(f"{self.name}: target rate must be positive, got {target}")
        return self._timed(image, target, {"target_bpp": target})


CLASSICAL: dict[str, Callable[[], PillowCodec]] = {
    "jpeg": JpegCodec,
    "jpeg2000": Jpeg2000Codec,
    "webp": WebpCodec,
    "avif": AvifCodec,
}
"""The classical codecs by ``--codecs`` name, in table order."""
