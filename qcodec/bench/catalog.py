"""Benchmark codecs by name: the classical ones and every registered qcodec model."""

from __future__ import annotations

from qcodec.bench.codecs import CLASSICAL, BenchCodec
from qcodec.bench.models import QcodecModel
from qcodec.codecs import codec_names
from qcodec.codecs.inr.coords import TileGrid
from qcodec.errors import InvalidInputError

DEFAULT_CODECS = tuple(CLASSICAL)
"""What ``qcodec bench`` runs without ``--codecs``: the classical codecs (qcodec models take
minutes per image, so they are asked for by name, or with ``all``)."""


def bench_codec_names() -> list[str]:
    """Every benchmark codec name: classical first, then qcodec models in registration order."""
    return list(CLASSICAL) + [name for name in codec_names() if name not in CLASSICAL]


VARIANTS = {"quantum": {"quantum_synthesis": True}}
"""Named variants ``MODEL:NAME`` of qcodec models: the options they fix (``grid:quantum`` is
the grid codec with ``--quantum-synthesis``)."""


def get_bench_codec(name: str) -> BenchCodec:
    """The benchmark codec called ``name``: a classical codec, a qcodec model, a named variant
    ``MODEL:NAME`` (:data:`VARIANTS`) or a tiled model ``MODEL:ROWSxCOLS`` (``coin:4x6``: COIN
    with one network per tile of a 4x6 grid).

    Raises:
        InvalidInputError: no such codec (the message lists the valid names), or a model that
            takes no tiles or lacks the variant's options.
    """
    if name in CLASSICAL:
        return CLASSICAL[name]()
    model, _, suffix = name.partition(":")
    if model in codec_names():
        fixed = VARIANTS.get(suffix, {"tiles": suffix} if suffix else {})
        codec = QcodecModel(model, fixed, suffix)
        if any(option not in codec.codec.options for option in fixed):
            what = f"{suffix} variant" if suffix in VARIANTS else "tiles"
            raise InvalidInputError(f"model {model} has no {what} ({name!r})")
        if "tiles" in fixed:
            TileGrid.parse(suffix)
        return codec
    raise InvalidInputError(f"unknown codec {name!r} (choose from: {', '.join(bench_codec_names())}, or all)")


def parse_codecs(text: str | None) -> list[str]:
    """Codec names from a ``--codecs`` value (comma-separated; ``all`` means every codec).

    Raises:
        InvalidInputError: an unknown or repeated name, or an empty list.
    """
    if text is None:
        return list(DEFAULT_CODECS)
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    if not names:
        raise InvalidInputError("--codecs is empty")
    if "all" in names:
        return bench_codec_names()
    for name in names:
        get_bench_codec(name)
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise InvalidInputError(f"codec {duplicate!r} is listed twice in --codecs")
    return names


def parse_rates(text: str | None, flag: str = "--bpp") -> tuple[float, ...] | None:
    """Rates in bpp from a ``--bpp`` (or ``flag``) value (``"0.1,0.2,0.3"``); ``None`` when not given.

    Raises:
        InvalidInputError: not positive numbers.
    """
    if text is None:
        return None
    try:
        rates = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise InvalidInputError(f"{flag} must be numbers like 0.1,0.2,0.3, got {text!r}") from None
    if not all(0 < r < 64 for r in rates):
        raise InvalidInputError(f"{flag} rates must be between 0 and 64 bpp, got {text!r}")
    if len(set(rates)) != len(rates):
        raise InvalidInputError(f"{flag} lists a rate twice: {text!r}")
    return rates


def parse_levels(text: str | None) -> tuple[int, ...] | None:
    """Comma-separated quality levels (``--qualities 2,3``); ``None`` when not given.

    Raises:
        InvalidInputError: an empty list or a non-integer.
    """
    names = parse_names(text, "--qualities")
    if names is None:
        return None
    try:
        return tuple(int(name) for name in names)
    except ValueError:
        raise InvalidInputError(f"--qualities takes integers, got {text!r}") from None


def parse_names(text: str | None, flag: str) -> tuple[str, ...] | None:
    """Comma-separated names (``--presets tiny,small``); ``None`` when not given.

    Raises:
        InvalidInputError: an empty list.
    """
    if text is None:
        return None
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise InvalidInputError(f"{flag} is empty")
    return names
