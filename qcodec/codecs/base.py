"""The interface every codec implements, and the records it returns."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from qcodec.codecs.budget import DecodeCost
from qcodec.coding.bitstream import Container, pack
from qcodec.data.image_io import Image
from qcodec.errors import InvalidInputError


@dataclass(frozen=True)
class FitProgress:
    """What a codec's fitting loop reports after each step (for progress bars).

    ``phase`` is ``"fit"`` or ``"qat"``; ``psnr`` is the mini-batch PSNR in dB for values in ``[0, 1]``.
    """

    phase: str
    step: int
    total: int
    loss: float
    psnr: float


ProgressCallback = Callable[[FitProgress], None]


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when available; asking for an absent CUDA device is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise InvalidInputError("--device cuda asked for, but no CUDA device is available")
        return torch.device("cuda")
    raise InvalidInputError(f"unknown device {name!r} (choose auto, cpu or cuda)")


def image_tensor(image: Image) -> torch.Tensor:
    """``image`` as float32 ``(1, C, H, W)`` in ``[0, 1]``."""
    return torch.from_numpy(np.array(image.pixels)).permute(2, 0, 1)[None].float() / 255.0


def tensor_pixels(values: torch.Tensor) -> np.ndarray:
    """``(C, H, W)`` values in about ``[0, 1]`` as ``uint8 (H, W, C)``: clamped, times 255, rounded half to even."""
    return torch.round(values.clamp(0.0, 1.0) * 255.0).to(torch.uint8).permute(1, 2, 0).numpy()


FLAG_NAMES = {"lmbda": "--lambda"}
"""Option keys whose command-line flag is not ``--`` plus the key with dashes."""


def flag_name(option: str) -> str:
    """The command-line flag of option ``option`` (``batch_size`` -> ``--batch-size``)."""
    return FLAG_NAMES.get(option, "--" + option.replace("_", "-"))


def check_number(options: Mapping[str, Any], name: str, minimum: float, integer: bool) -> None:
    """Refuse ``options[name]`` (when given) if it is not an integer (``integer``) or is below ``minimum`` or not finite."""
    value = options.get(name)
    if value is None:
        return
    if integer and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidInputError(f"{flag_name(name)} must be an integer, got {value!r}")
    if not (value >= minimum and np.isfinite(value)):
        raise InvalidInputError(f"{flag_name(name)} must be at least {minimum}, got {value}")


EFFORT_FACTORS = {1: 0.25, 2: 0.5, 3: 1.0, 4: 2.5, 5: 6.25}
"""``--effort`` levels of the fitting codecs and the factor each applies to a codec's default
steps (as ``cjxl --effort`` or x265's presets trade time for quality): each level takes 2 to
2.5 times the time of the one below. 3 is the default; the grid codec's 400 default steps make
level 5 the 2,500 steps of its Kodak benches."""

DEFAULT_EFFORT = 3


def effort_text(default_steps: int | None = None) -> str:
    """:data:`EFFORT_FACTORS` in words for help texts: the factors, or the steps of each level
    for a codec of ``default_steps``.

    >>> effort_text(), effort_text(400)
    ('scaling the default fitting steps by 0.25, 0.5, 1, 2.5 or 6.25', '100, 200, 400, 1,000 or 2,500 fitting steps')
    """
    if default_steps is None:
        values = [f"{factor:g}" for factor in EFFORT_FACTORS.values()]
        return f"scaling the default fitting steps by {', '.join(values[:-1])} or {values[-1]}"
    values = [f"{max(1, round(default_steps * factor)):,}" for factor in EFFORT_FACTORS.values()]
    return f"{', '.join(values[:-1])} or {values[-1]} fitting steps"


def check_effort_or_steps(effort: int | None, steps: int | None) -> None:
    """Refuse ``--effort`` and ``--steps`` given together: each sets the fitting steps."""
    if effort is not None and steps is not None:
        raise InvalidInputError("give either --effort or --steps, not both")


def fitting_steps(options: Mapping[str, Any], default: int) -> int:
    """Fitting steps from ``options``: ``steps`` when given, else ``default`` scaled by ``effort``.

    Refuses both at once, and an effort that is not a level of :data:`EFFORT_FACTORS`.
    """
    check_number(options, "steps", 1, integer=True)
    effort = options.get("effort")
    check_effort_or_steps(effort, options.get("steps"))
    if options.get("steps") is not None:
        return int(options["steps"])
    effort = DEFAULT_EFFORT if effort is None else effort
    if effort not in EFFORT_FACTORS:
        raise InvalidInputError(f"--effort must be one of {', '.join(map(str, EFFORT_FACTORS))}, got {effort!r}")
    return max(1, round(default * EFFORT_FACTORS[effort]))


@dataclass
class EncodeResult:
    """What :meth:`Codec.encode` returns.

    Attributes:
        data: the complete ``.qic`` stream.
        reconstruction: ``uint8 (H, W, C)``: exactly what decoding ``data`` gives.
        details: model-specific facts for reports (architecture, steps, timings in s).
    """

    data: bytes
    reconstruction: np.ndarray
    details: dict[str, Any] = field(default_factory=dict)


class Codec(ABC):
    """An image codec: image -> ``.qic`` bytes -> image.

    Subclasses set :attr:`name` (the ``--model`` value), :attr:`codec_id` (the byte in the
    stream header) and :attr:`description`, and list the encode options they accept in
    :attr:`options` (name -> one-line help), so the CLI can reject options that do not apply.
    """

    name: str
    codec_id: int
    description: str
    options: Mapping[str, str] = {}

    @abstractmethod
    def encode(self, image: Image, options: Mapping[str, Any], progress: ProgressCallback | None = None) -> EncodeResult:
        """Compress ``image`` under ``options`` (a subset of :attr:`options`' keys)."""

    @abstractmethod
    def decode(self, container: Container) -> np.ndarray:
        """Reconstruct the ``uint8 (H, W, C)`` image from a parsed stream."""

    def pack(self, image: Image, sections: dict[int, bytes]) -> bytes:
        """A complete ``.qic`` stream of this codec for ``image`` with ``sections`` (tag -> payload)."""
        return pack(Container(self.codec_id, image.width, image.height, image.channels, sections=sections))

    def check_options(self, options: Mapping[str, Any]) -> None:
        """Refuse options this codec does not take (:class:`~qcodec.errors.InvalidInputError` naming the flags)."""
        unknown = set(options) - set(self.options)
        if unknown:
            flags = ", ".join(flag_name(k) for k in sorted(unknown))
            raise InvalidInputError(f"option {flags} does not apply to model {self.name}")

    def fingerprint(self) -> str:
        """What besides qcodec's version fixes this codec's output (e.g. bundled model checksums); for caches."""
        return ""

    def quality_levels(self) -> list[int]:
        """Discrete ``quality`` settings a benchmark sweeps, for codecs whose rate knob is one (else empty)."""
        return []

    @abstractmethod
    def decode_cost(self, container: Container) -> DecodeCost:
        """Work and peak memory of decoding ``container``, from its header and model section alone.

        Builds no tensor whose size the stream controls; callers check the result against
        :class:`~qcodec.codecs.budget.DecodeLimits` before :meth:`decode`.

        Raises:
            BitstreamError: the model section cannot be read.
        """

    @abstractmethod
    def stream_cost(self, image: Image, options: Mapping[str, Any]) -> DecodeCost:
        """:meth:`decode_cost` of the stream ``encode(image, options)`` would write, known before fitting.

        Raises:
            InvalidInputError: ``options`` are invalid (as :meth:`encode` would say).
        """

    @abstractmethod
    def describe(self, container: Container) -> dict[str, Any]:
        """Model facts from a parsed stream (architecture, parameter count) for ``qcodec info``."""
