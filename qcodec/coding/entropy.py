"""Entropy coding of integer arrays with ``constriction`` (ANS), with per-array parametric models.

Each array's values lie in a support ``[lo, hi]`` that the decoder already knows (for
quantized weights, the range their bit depth allows). Each array gets the cheapest of a few
model families over that support, fitted to its own values; the family and its parameters
travel in the stream (:func:`write_model` / :func:`read_model`), and all arrays share one ANS
stream of 32-bit words.

==========  ====  ===================================================================
family      id    parameters (what the decoder needs besides the support)
==========  ====  ===================================================================
constant    0     the value (every value equals it; no payload bits)
gaussian    1     ``loc, scale`` (bfloat16 mean and std)
laplace     2     ``loc, scale`` (bfloat16 location and scale)
uniform     3     none
==========  ====  ===================================================================

>>> import numpy as np
>>> arrays = [np.array([0, 1, -1, 0, 2], dtype=np.int32)]
>>> models, words = encode_arrays(arrays, [(-3, 3)])
>>> decode_arrays(models, [5], words)[0].tolist()
[0, 1, -1, 0, 2]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import constriction
import numpy as np

from qcodec.coding.bitstream import ByteReader, ByteWriter, bfloat16
from qcodec.errors import BitstreamError

MIN_SCALE = 0.05
"""Smallest scale a parametric model may have (keeps constriction's models proper)."""


class Family(IntEnum):
    CONSTANT = 0
    GAUSSIAN = 1
    LAPLACE = 2
    UNIFORM = 3


@dataclass(frozen=True)
class EntropyModel:
    """A fitted per-array model: ``family`` over the integer support ``[lo, hi]`` (``lo == hi``, the value, for a constant)."""

    family: Family
    lo: int
    hi: int
    loc: float = 0.0
    scale: float = 1.0

    def constriction_model(self):  # noqa: ANN201 - constriction's model type
        """The constriction model for this family (the uniform one is shifted to start at 0)."""
        if self.family is Family.GAUSSIAN:
            return constriction.stream.model.QuantizedGaussian(self.lo, self.hi, self.loc, self.scale)
        if self.family is Family.LAPLACE:
            return constriction.stream.model.QuantizedLaplace(self.lo, self.hi, self.loc, self.scale)
        if self.family is Family.UNIFORM:
            return constriction.stream.model.Uniform(self.hi - self.lo + 1)
        raise ValueError("a constant model codes no symbols")

    def shift(self) -> int:
        return self.lo if self.family is Family.UNIFORM else 0


Support = tuple[int, int]
"""``(lo, hi)``: the integers an array's values may take, known to both sides."""

MAX_SUPPORT = 1 << 24
"""Largest support width ``hi - lo + 1`` a model may have."""


def _candidates(values: np.ndarray, support: Support) -> list[EntropyModel]:
    lo, hi = support
    if values.min() == values.max():
        return [EntropyModel(Family.CONSTANT, int(values[0]), int(values[0]))]
    mean = bfloat16(values.mean())
    std = bfloat16(max(float(values.std()), MIN_SCALE))
    median = bfloat16(np.median(values))
    mad = bfloat16(max(float(np.abs(values - median).mean()), MIN_SCALE))
    return [
        EntropyModel(Family.GAUSSIAN, lo, hi, mean, std),
        EntropyModel(Family.LAPLACE, lo, hi, median, mad),
        EntropyModel(Family.UNIFORM, lo, hi),
    ]


def _encode(coder: constriction.stream.stack.AnsCoder, values: np.ndarray, model: EntropyModel) -> None:
    if model.family is not Family.CONSTANT:
        coder.encode_reverse((values - model.shift()).astype(np.int32), model.constriction_model())


def _best_model(values: np.ndarray, support: Support) -> tuple[EntropyModel, int]:
    lo, hi = support
    if not 0 < hi - lo < MAX_SUPPORT:
        raise ValueError(f"support [{lo}, {hi}] must hold 2 to 2**24 integers")
    if values.min() < lo or values.max() > hi:
        raise ValueError(f"values in [{values.min()}, {values.max()}] are outside the support [{lo}, {hi}]")
    best: tuple[EntropyModel, int] | None = None
    for candidate in _candidates(values, support):
        if candidate.family is Family.CONSTANT:
            return candidate, 0
        coder = constriction.stream.stack.AnsCoder()
        _encode(coder, values, candidate)
        bits = coder.num_bits()
        if best is None or bits < best[1]:
            best = candidate, bits
    assert best is not None
    return best


def fit_model(values: np.ndarray, support: Support) -> EntropyModel:
    """The family (with fitted parameters) that codes ``values`` (non-empty, within ``support``) in the fewest bits."""
    return _best_model(np.asarray(values, dtype=np.int32).reshape(-1), support)[0]


def coded_bits(values: np.ndarray, support: Support) -> int:
    """Bits ``values`` (within ``support``) take in the payload under their :func:`fit_model` model, its parameters not counted."""
    values = np.asarray(values, dtype=np.int32).reshape(-1)
    return _best_model(values, support)[1] if values.size else 0


def encode_arrays(arrays: Sequence[np.ndarray], supports: Sequence[Support]) -> tuple[list[EntropyModel], bytes]:
    """Entropy-code integer arrays into one ANS stream.

    Args:
        arrays: 1-D integer arrays; empty arrays are allowed.
        supports: per array, the ``(lo, hi)`` its values lie in (the decoder must know it).

    Returns:
        ``(models, words)``: one :class:`EntropyModel` per array and the compressed stream
        as little-endian ``uint32`` words (``len(words)`` is a multiple of 4 bytes).
    """
    flat = [np.asarray(a, dtype=np.int32).reshape(-1) for a in arrays]
    models = [fit_model(a, support) if a.size else EntropyModel(Family.CONSTANT, 0, 0) for a, support in zip(flat, supports)]
    coder = constriction.stream.stack.AnsCoder()
    for values, model in zip(reversed(flat), reversed(models)):
        if values.size:
            _encode(coder, values, model)
    return models, coder.get_compressed().astype("<u4").tobytes()


def ans_decoder(words: bytes) -> constriction.stream.stack.AnsCoder:
    """An ANS coder holding ``words`` (little-endian ``uint32``), ready to decode."""
    if len(words) % 4:
        raise BitstreamError("entropy-coded payload is not a whole number of 32-bit words")
    try:
        return constriction.stream.stack.AnsCoder(np.frombuffer(words, dtype="<u4").astype(np.uint32))
    except Exception as exc:  # constriction reports bad data with assorted exception types
        raise BitstreamError(f"entropy-coded payload does not decode ({exc})") from None


def decode_arrays(models: Sequence[EntropyModel], sizes: Sequence[int], words: bytes) -> list[np.ndarray]:
    """Invert :func:`encode_arrays`: ``sizes[i]`` values per array, as ``int32`` arrays.

    Raises:
        BitstreamError: the words do not decode under the given models.
    """
    coder = ans_decoder(words)
    try:
        out = []
        for model, size in zip(models, sizes):
            if model.family is Family.CONSTANT or size == 0:
                out.append(np.full(size, model.lo, dtype=np.int32))
            else:
                symbols = coder.decode(model.constriction_model(), size)
                out.append(np.asarray(symbols, dtype=np.int32) + model.shift())
    except BitstreamError:
        raise
    except Exception as exc:  # constriction reports bad data with assorted exception types
        raise BitstreamError(f"entropy-coded payload does not decode ({exc})") from None
    return out


def write_model(writer: ByteWriter, model: EntropyModel) -> None:
    """Serialize an :class:`EntropyModel` without its support (layout in ``docs/bitstream.md``)."""
    writer.u8(int(model.family))
    if model.family is Family.CONSTANT:
        writer.svarint(model.lo)
    elif model.family in (Family.GAUSSIAN, Family.LAPLACE):
        writer.bf16(model.loc)
        writer.bf16(model.scale)


def read_model(reader: ByteReader, support: Support) -> EntropyModel:
    """Parse an :class:`EntropyModel` written by :func:`write_model` for an array with ``support``."""
    code = reader.u8()
    try:
        family = Family(code)
    except ValueError:
        raise BitstreamError(f"unknown entropy model family {code}") from None
    lo, hi = support
    if family is Family.CONSTANT:
        value = reader.svarint()
        if not lo <= value <= hi:
            raise BitstreamError(f"constant {value} lies outside its support [{lo}, {hi}]")
        return EntropyModel(family, value, value)
    if family is Family.UNIFORM:
        return EntropyModel(family, lo, hi)
    loc, scale = reader.bf16(), reader.bf16()
    if not (np.isfinite(loc) and np.isfinite(scale) and scale >= MIN_SCALE / 2):
        raise BitstreamError("invalid entropy model parameters")
    return EntropyModel(family, lo, hi, loc, scale)


# -- learned per-channel tables (the autoencoder's latents) ---------------------------------

TABLE_PRECISION = 16
"""Integer frequencies of a :class:`FrequencyTable` sum to ``2**TABLE_PRECISION``."""


@dataclass(frozen=True)
class FrequencyTable:
    """A categorical model over the integers ``lo .. lo + len(freqs) - 1``.

    ``freqs`` are positive integers summing to ``2**TABLE_PRECISION``. constriction receives
    them as exactly representable floats, so every platform builds the same coding model.
    """

    lo: int
    freqs: np.ndarray

    @property
    def hi(self) -> int:
        return self.lo + len(self.freqs) - 1

    def constriction_model(self):  # noqa: ANN201 - constriction's model type
        return constriction.stream.model.Categorical(self.freqs.astype(np.float64), perfect=False)


def frequency_table(masses: np.ndarray, lo: int) -> FrequencyTable:
    """Quantize probability ``masses`` (of ``lo, lo + 1, ...``) to a :class:`FrequencyTable`.

    Every symbol gets at least 1 of the ``2**TABLE_PRECISION`` counts (so each value in the
    support stays codable); the rounding remainder goes to the most probable symbol.
    """
    total = 1 << TABLE_PRECISION
    masses = np.asarray(masses, dtype=np.float64)
    if not 1 <= masses.size <= total // 2 or not np.all(np.isfinite(masses)) or masses.sum() <= 0:
        raise ValueError("masses must be 1 .. 2**15 finite values with a positive sum")
    spare = total - masses.size
    freqs = 1 + np.floor(masses / masses.sum() * spare).astype(np.int64)
    freqs[np.argmax(masses)] += total - freqs.sum()
    return FrequencyTable(lo, freqs.astype(np.int32))


def encode_with_tables(arrays: Sequence[np.ndarray], tables: Sequence[FrequencyTable]) -> bytes:
    """Entropy-code ``arrays[i]`` under ``tables[i]`` into one ANS stream (little-endian ``uint32`` words).

    Values must lie in their table's support (the caller clamps).
    """
    coder = constriction.stream.stack.AnsCoder()
    for values, table in zip(reversed(arrays), reversed(tables)):
        symbols = np.asarray(values, dtype=np.int32).reshape(-1) - table.lo
        if symbols.size and (symbols.min() < 0 or symbols.max() >= len(table.freqs)):
            raise ValueError("value outside its frequency table's support")
        coder.encode_reverse(symbols, table.constriction_model())
    return coder.get_compressed().astype("<u4").tobytes()


def decode_with_tables(tables: Sequence[FrequencyTable], size: int, words: bytes) -> list[np.ndarray]:
    """Invert :func:`encode_with_tables`: ``size`` values under each table, as ``int32`` arrays.

    Raises:
        BitstreamError: the words do not decode, or are not all consumed.
    """
    coder = ans_decoder(words)
    try:
        out = [np.asarray(coder.decode(table.constriction_model(), size), dtype=np.int32) + table.lo for table in tables]
    except Exception as exc:  # constriction reports bad data with assorted exception types
        raise BitstreamError(f"entropy-coded payload does not decode ({exc})") from None
    if not coder.is_empty():
        raise BitstreamError("entropy-coded payload has data left over after the last symbol")
    return out
