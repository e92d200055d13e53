"""The compiled rANS coder behind the grid codec's latents."""

from __future__ import annotations

import numpy as np

from qcodec.codecs.grid.laplace import cdf_table, row_frequencies
from qcodec.coding import rans


def _decode(words: np.ndarray, rows: np.ndarray, cdf: np.ndarray) -> tuple[list[int], np.ndarray]:
    decoder = rans.decoder_start(words)
    out = []
    for row in rows:
        symbol = int(np.searchsorted(cdf[row], rans.slot(decoder), side="right")) - 1
        out.append(symbol)
        rans.pop(decoder, words, int(cdf[row, symbol]), int(cdf[row, symbol + 1] - cdf[row, symbol]))
    return out, decoder


def test_symbols_round_trip_at_their_ideal_cost():
    cdf = cdf_table()
    rng = np.random.default_rng(0)
    rows = rng.integers(0, cdf.shape[0], 3000)
    symbols = np.array([rng.choice(cdf.shape[1] - 1, p=row_frequencies(int(r)) / 2.0**rans.PRECISION) for r in rows])
    starts = cdf[rows, symbols]
    freqs = cdf[rows, symbols + 1] - starts
    words = rans.encode_reversed(starts, freqs)
    decoded, decoder = _decode(words, rows, cdf)
    assert decoded == symbols.tolist() and rans.finished(decoder)
    ideal = -np.log2(freqs / 2.0**rans.PRECISION).sum()
    assert ideal <= 32 * len(words) <= ideal + 64 + 32  # the final state's two words, one partial


def test_damaged_streams_do_not_end_cleanly():
    cdf = cdf_table()
    rng = np.random.default_rng(1)
    rows = rng.integers(0, cdf.shape[0], 500)
    symbols = rng.integers(250, 259, 500)
    starts = cdf[rows, symbols]
    words = rans.encode_reversed(starts, cdf[rows, symbols + 1] - starts)
    for bad in (words[1:], words[:-1], np.concatenate([words, words[:1]]), words[:0]):
        assert not rans.finished(_decode(bad, rows, cdf)[1])
