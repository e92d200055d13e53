"""The interface every codec implements, and the records it returns."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from qcodec.bitstream import Container, pack
from qcodec.data.image_io import Image
from qcodec.errors import InvalidInputError
from qcodec.fit import FitProgress

ProgressCallback = Callable[[FitProgress], None]

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
    def describe(self, container: Container) -> dict[str, Any]:
        """Model facts from a parsed stream (architecture, parameter count) for ``qcodec info``."""
