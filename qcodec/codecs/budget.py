"""What decoding a stream will cost, checked before anything is built (decoder conformance).

Every codec computes, from the header and its model section alone, the work (real
multiply-accumulates, MAC) and the peak memory that decoding the stream asks for
(:meth:`qcodec.codecs.base.Codec.decode_cost`). :func:`check_decode_cost` refuses a stream over
the limits with a :class:`~qcodec.errors.DecodeLimitError` that names the cost and how to raise
the limit, the way Pillow refuses decompression bombs by ``MAX_IMAGE_PIXELS``. The encoder
checks the stream it is about to write against the same limits
(:meth:`~qcodec.codecs.base.Codec.stream_cost`), so it never writes what the default decoder
refuses unless told to.

Limits come from, in order: the caller (``--max-decode-gmac``, ``--max-decode-mib``), the
environment (:data:`GMAC_ENV`, :data:`MIB_ENV`), the defaults. ``docs/bitstream.md`` states
the rule and how the defaults were measured.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass

from qcodec.errors import DecodeLimitError, InvalidInputError

DEFAULT_MAX_GMAC = 150.0
"""Default work limit in GMAC: about a minute of decoding here for the codecs that do the
least per second (the quantum simulator and the grid codec's integer context model, about
2.5 GMAC/s on this 2-core CPU; dense networks run 10-20 times faster)."""

DEFAULT_MAX_MIB = 8192.0
"""Default peak-memory limit of one decode, MiB (the largest streams the encoders write need
about 3.5 GiB: a grid stream of 8 Mi pixels)."""

GMAC_ENV = "QCODEC_MAX_DECODE_GMAC"
MIB_ENV = "QCODEC_MAX_DECODE_MIB"


@dataclass(frozen=True)
class DecodeCost:
    """The cost of decoding one stream.

    Attributes:
        macs: real multiply-accumulates of the whole decode (a complex one counts 4).
        peak_bytes: an upper estimate of the memory the decode holds at its peak, bytes.
    """

    macs: float
    peak_bytes: float

    @property
    def gmac(self) -> float:
        return self.macs / 1e9

    @property
    def mib(self) -> float:
        return self.peak_bytes / 2**20

    @staticmethod
    def worst(costs: Iterable[DecodeCost]) -> DecodeCost:
        """The largest work and the largest memory of ``costs`` (whichever of several streams is written)."""
        costs = list(costs)
        return DecodeCost(max(c.macs for c in costs), max(c.peak_bytes for c in costs))


def _positive(value: float | str, name: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise InvalidInputError(f"{name} must be a number, got {value!r}") from None
    if not (number > 0 and math.isfinite(number)):
        raise InvalidInputError(f"{name} must be positive, got {value}")
    return number


@dataclass(frozen=True)
class DecodeLimits:
    """The most a decode may cost: ``max_gmac`` GMAC of work and ``max_mib`` MiB of memory."""

    max_gmac: float = DEFAULT_MAX_GMAC
    max_mib: float = DEFAULT_MAX_MIB

    @classmethod
    def resolve(cls, max_gmac: float | None = None, max_mib: float | None = None) -> DecodeLimits:
        """Limits from explicit values, else the environment (:data:`GMAC_ENV`, :data:`MIB_ENV`), else the defaults.

        Raises:
            InvalidInputError: a limit that is not a positive number.
        """
        gmac = max_gmac if max_gmac is not None else os.environ.get(GMAC_ENV) or DEFAULT_MAX_GMAC
        mib = max_mib if max_mib is not None else os.environ.get(MIB_ENV) or DEFAULT_MAX_MIB
        return cls(_positive(gmac, f"--max-decode-gmac ({GMAC_ENV})"), _positive(mib, f"--max-decode-mib ({MIB_ENV})"))


def _over(cost: DecodeCost, limits: DecodeLimits) -> list[str]:
    problems = []
    if cost.gmac > limits.max_gmac:
        problems.append(f"{cost.gmac:,.1f} GMAC of work (limit {limits.max_gmac:g}; --max-decode-gmac or {GMAC_ENV})")
    if cost.mib > limits.max_mib:
        problems.append(f"about {cost.mib:,.0f} MiB of memory (limit {limits.max_mib:g}; --max-decode-mib or {MIB_ENV})")
    return problems


def check_decode_cost(cost: DecodeCost, limits: DecodeLimits) -> None:
    """Refuse to decode a stream whose ``cost`` exceeds ``limits``.

    Raises:
        DecodeLimitError: one line naming the cost, the limit and how to raise it.
    """
    problems = _over(cost, limits)
    if problems:
        raise DecodeLimitError(f"refusing to decode: the stream asks for {' and '.join(problems)}")


def check_stream_cost(cost: DecodeCost, limits: DecodeLimits) -> None:
    """Refuse to write a stream that decoders with ``limits`` would refuse.

    Raises:
        DecodeLimitError: one line naming the cost and the flags that allow it.
    """
    problems = _over(cost, limits)
    if problems:
        raise DecodeLimitError(
            f"this stream would need {' and '.join(problems)} to decode; raise the limit to encode it anyway "
            "(its decoders must raise theirs too), or choose a smaller model or image"
        )

