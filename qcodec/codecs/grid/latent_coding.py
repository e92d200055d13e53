"""Latent grids <-> rANS words, driven by a fixed-point copy of the context model.

The decoder must see exactly the distributions the encoder used, on any machine and any
thread count. So the context model runs here in integer arithmetic (:class:`FixedPointContext`),
in compiled loops (:mod:`qcodec.codecs.grid.latent_kernels`):

- weights are rounded to multiples of ``2**-FRACTION_BITS`` (biases of later layers to
  ``2**-(2 FRACTION_BITS)``) and clamped to ``+-WEIGHT_LIMIT`` in those units;
- inputs are the integer latents and the coarse context, exact in units of ``2**-COARSE_BITS``
  (:func:`fixed_coarse_context`); hidden activations are integers in units of
  ``2**-FRACTION_BITS``, floored after each layer and clamped to ``[0, ACTIVATION_LIMIT]``;
- the outputs become a row of the fixed table (:mod:`qcodec.codecs.grid.laplace`) and a base.

Coding order: planes in reverse of the model's level-major order (so each plane's coarse
context is decoded before it); within a plane, raster order. All symbols share one rANS
stream (:mod:`qcodec.coding.rans`); a symbol is the residual ``value - base`` under its row.
"""

from __future__ import annotations

import numpy as np
import torch

from qcodec.codecs.grid import latent_kernels
from qcodec.codecs.grid.laplace import RESIDUAL_MAX, cdf_table
from qcodec.codecs.grid.latent_kernels import COARSE_BITS, FRACTION_BITS
from qcodec.codecs.grid.network import CAUSAL_OFFSETS, COARSE_OFFSETS, ContextModel, coarse_context, coarse_of
from qcodec.coding import rans
from qcodec.errors import BitstreamError

WEIGHT_LIMIT = 1 << 20


def _fixed(tensor: torch.Tensor, unit_bits: int) -> np.ndarray:
    """``tensor`` in units of ``2**-unit_bits``, rounded (half to even) and clamped: ``int64``."""
    limit = WEIGHT_LIMIT * (1 << (unit_bits - FRACTION_BITS))
    scaled = torch.round(tensor.detach().to(torch.float64) * float(1 << unit_bits)).clamp(-limit, limit)
    return np.ascontiguousarray(scaled.numpy().astype(np.int64))


def fixed_coarse_context(coarse: torch.Tensor | None, plane: torch.Tensor) -> np.ndarray:
    """The coarse context (:func:`~qcodec.codecs.grid.network.coarse_context`) of integer
    ``plane (h, w)`` from its integer coarser plane (or None), exactly, in units of
    ``2**-COARSE_BITS``: ``int64 (h, w)``."""
    planes = plane.to(torch.float64)[None]
    context = coarse_context(None if coarse is None else coarse.to(torch.float64)[None], planes)[0]
    return np.ascontiguousarray((context * float(1 << COARSE_BITS)).numpy().astype(np.int64))


class FixedPointContext:
    """Integer-exact evaluation of a :class:`~qcodec.codecs.grid.network.ContextModel`.

    :attr:`arrays` are the kernels' weight arguments: the neighbour and coarse offsets, the
    first layer's neighbour ``(24, hidden)`` and coarse ``(9, hidden)`` weights and bias, the
    hidden layers' weights ``(layers - 1, hidden, hidden)`` and biases, the output layer's.
    """

    def __init__(self, model: ContextModel) -> None:
        f = FRACTION_BITS
        hidden = model.hidden
        mlp_w = [_fixed(layer.weight, f) for layer in model.mlp]
        mlp_b = [_fixed(layer.bias, 2 * f) for layer in model.mlp]
        self.arrays = (
            np.array(CAUSAL_OFFSETS, dtype=np.int64),
            np.array(COARSE_OFFSETS, dtype=np.int64),
            np.ascontiguousarray(_fixed(model.spatial, f).T),
            np.ascontiguousarray(_fixed(model.coarse, f).T),
            _fixed(model.bias, f),
            np.stack(mlp_w) if mlp_w else np.zeros((0, hidden, hidden), dtype=np.int64),
            np.stack(mlp_b) if mlp_b else np.zeros((0, hidden), dtype=np.int64),
            _fixed(model.out.weight, f),
            _fixed(model.out.bias, 2 * f),
        )

    def rows(self, plane: torch.Tensor, coarse: torch.Tensor | None) -> tuple[np.ndarray, np.ndarray]:
        """Table rows and bases ``int64 (h * w,)`` (row-major) of every latent of integer ``plane (h, w)``
        given its coarser plane (or None)."""
        values = np.ascontiguousarray(plane.numpy().astype(np.int64))
        return latent_kernels.plane_rows(values, fixed_coarse_context(coarse, plane), *self.arrays)


def encode_latents(context: FixedPointContext, grids: list[torch.Tensor], coarse: list[int | None]) -> bytes:
    """rANS words (little-endian ``uint32``) of integer latent planes.

    Args:
        context: the fixed-point context model.
        grids: ``grids[k]`` is ``(h_k, w_k)`` integer-valued in ``[-VALUE_MAX, VALUE_MAX]``.
        coarse: ``coarse[k]`` is the index (``> k``) of plane ``k``'s coarse-context plane, or None.
    """
    cdf = cdf_table()
    starts, freqs = [], []
    for k in reversed(range(len(grids))):  # decoding order
        rows, bases = context.rows(grids[k], coarse_of(grids, coarse, k))
        symbols = grids[k].numpy().astype(np.int64).reshape(-1) - bases + RESIDUAL_MAX
        starts.append(cdf[rows, symbols])
        freqs.append(cdf[rows, symbols + 1] - starts[-1])
    return rans.encode_reversed(np.concatenate(starts), np.concatenate(freqs)).astype("<u4").tobytes()


def decode_latents(
    context: FixedPointContext, sizes: list[tuple[int, int]], coarse: list[int | None], data: bytes
) -> list[torch.Tensor]:
    """Invert :func:`encode_latents` for planes of ``sizes`` and the same ``coarse``: ``float64`` planes.

    The work is bounded by the number of latents, whatever ``data`` holds.

    Raises:
        BitstreamError: the words decode to values out of range, run out before the last latent,
            or do not end where it does.
    """
    if len(data) % 4:
        raise BitstreamError("latent payload is not a whole number of 32-bit words")
    words = np.frombuffer(data, dtype="<u4").astype(np.uint32)
    cdf = cdf_table()
    decoder = rans.decoder_start(words)
    grids: list[torch.Tensor] = [torch.empty(0)] * len(sizes)
    for k in reversed(range(len(sizes))):
        context_plane = fixed_coarse_context(coarse_of(grids, coarse, k), torch.zeros(sizes[k], dtype=torch.float64))
        plane, ok = latent_kernels.decode_plane(words, decoder, cdf, context_plane, *context.arrays)
        if not ok:
            raise BitstreamError("latent payload is corrupt or truncated (a value out of range, or no words left)")
        grids[k] = torch.from_numpy(plane.astype(np.float64))
    if not rans.finished(decoder):
        raise BitstreamError("latent payload does not end where the last latent does: it is corrupt or truncated")
    return grids
