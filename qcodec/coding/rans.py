"""Range asymmetric numeral systems (rANS) in compiled code, for coders that must interleave
modelling and decoding symbol by symbol (the grid codec's raster-order latents).

The rANS of Duda (2013) with the parameters of constriction's default ``AnsCoder`` (not its words): a 64-bit state kept
in ``[2**32, 2**64)``, 32-bit words, frequencies summing to ``2**PRECISION``. A stack: the
encoder pushes symbols in reverse order (:func:`encode_reversed`), the decoder pops them in
order, one at a time, from inside another compiled loop (:func:`decoder_start`,
:func:`slot`, :func:`pop`). Words are ``uint32``; the stream is
``[words pushed ..., state low word, state high word]``.

The functions are numba-compiled (``cache=True``: compiled once per machine, then loaded).
A symbol is given by ``start``, the frequencies of the symbols before it summed, and its
``freq``, with ``1 <= freq < 2**PRECISION``.

numba checks only a cached function's own file for changes: after editing this module, delete
the ``__pycache__`` folders of the modules that call it (``qcodec/codecs/grid``).
"""

from __future__ import annotations

import numba
import numpy as np

PRECISION = 24
"""Frequencies of one distribution sum to ``2**PRECISION``."""

WORD_BITS = 32
STATE_LOW = 1 << WORD_BITS
"""The state's lower bound, and the state of an empty stream."""

_MASK = (1 << PRECISION) - 1


@numba.njit(cache=True, nogil=True)
def encode_reversed(starts: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """The words of symbols ``(starts[i], freqs[i])`` (``int64 (n,)`` each), decodable in order ``0 .. n-1``."""
    n = starts.shape[0]
    words = np.empty(n + 2, dtype=np.uint32)
    count = 0
    state = np.uint64(STATE_LOW)
    for i in range(n - 1, -1, -1):
        freq = np.uint64(freqs[i])
        if state >= (freq << np.uint64(64 - PRECISION)):
            words[count] = np.uint32(state & np.uint64(0xFFFFFFFF))
            count += 1
            state >>= np.uint64(WORD_BITS)
        state = ((state // freq) << np.uint64(PRECISION)) + state % freq + np.uint64(starts[i])
    words[count] = np.uint32(state & np.uint64(0xFFFFFFFF))
    words[count + 1] = np.uint32(state >> np.uint64(WORD_BITS))
    return words[: count + 2].copy()


@numba.njit(cache=True, nogil=True)
def decoder_start(words: np.ndarray) -> np.ndarray:
    """A decoder over ``words``: ``uint64 [state, position]``, position counting the words not yet read.

    The decoder is an array so that compiled loops update it in place and its ``uint64`` state
    never passes through a Python integer. A stream of fewer than two words gives a state
    below :data:`STATE_LOW`, which :func:`finished` reports as not a valid end.
    """
    decoder = np.zeros(2, dtype=np.uint64)
    n = words.shape[0]
    if n >= 2:
        decoder[0] = (np.uint64(words[n - 1]) << np.uint64(WORD_BITS)) | np.uint64(words[n - 2])
        decoder[1] = n - 2
    return decoder


@numba.njit(cache=True, nogil=True)
def slot(decoder: np.ndarray) -> int:
    """Where the next symbol lies in ``[0, 2**PRECISION)``: the symbol whose ``[start, start + freq)`` holds it."""
    return np.int64(decoder[0] & np.uint64(_MASK))  # int64: compared with int64 frequencies


@numba.njit(cache=True, nogil=True)
def pop(decoder: np.ndarray, words: np.ndarray, start: int, freq: int) -> None:
    """Remove the symbol ``(start, freq)`` found at :func:`slot` from ``decoder`` (in place)."""
    state = decoder[0]
    state = np.uint64(freq) * (state >> np.uint64(PRECISION)) + (state & np.uint64(_MASK)) - np.uint64(start)
    if state < np.uint64(STATE_LOW) and decoder[1] > 0:
        decoder[1] -= np.uint64(1)
        state = (state << np.uint64(WORD_BITS)) | np.uint64(words[decoder[1]])
    decoder[0] = state


@numba.njit(cache=True, nogil=True)
def exhausted(decoder: np.ndarray) -> bool:
    """Whether ``decoder``'s state is below :data:`STATE_LOW` after a :func:`pop` and its refill
    (no word was left, or the state had reached 0): a valid stream's state never is, until
    the end, so the data are corrupt or truncated and decoding can stop."""
    return decoder[0] < np.uint64(STATE_LOW)


@numba.njit(cache=True, nogil=True)
def finished(decoder: np.ndarray) -> bool:
    """Whether ``decoder`` read every word and came back to the empty stream's state."""
    return decoder[1] == 0 and decoder[0] == np.uint64(STATE_LOW)
