"""Latent grids <-> ANS words, driven by a fixed-point copy of the context model.

The decoder must see exactly the distributions the encoder used, on any machine and any
thread count. So the context model runs here in integer arithmetic (:class:`FixedPointContext`):

- weights are rounded to multiples of ``2**-FRACTION_BITS`` (biases of later layers to
  ``2**-(2 FRACTION_BITS)``) and clamped to ``+-WEIGHT_LIMIT`` in those units;
- inputs are the integer latents; hidden activations are integers in units of
  ``2**-FRACTION_BITS``, floored after each product and clamped to ``[0, ACTIVATION_LIMIT]``;
- products are computed as float64 matrix products of integers whose every partial sum
  stays below ``2**53``, so they are exact whatever the summation order, BLAS or threads;
- the outputs become table rows by integer rounding (:func:`qcodec.codecs.grid.laplace.row_of`).

Coding order: planes in reverse of the model's level-major order (so each plane's coarse
context is decoded before it); within a plane, phases 0 .. 3 (:data:`qcodec.codecs.grid.network.PHASE_OFFSETS`); within a phase, positions stably sorted by
table row (:func:`qcodec.codecs.grid.laplace.group_order`).
"""

from __future__ import annotations

import constriction
import numpy as np
import torch
import torch.nn.functional as F

from qcodec.codecs.grid.laplace import (
    LOG_SCALE_MIN,
    MU_STEPS,
    SCALES_PER_UNIT,
    VALUE_MAX,
    decode_groups,
    encode_groups,
    row_of,
)
from qcodec.codecs.grid.network import PHASES, ContextModel, coarse_of, phase_context, phase_merge, phase_split
from qcodec.coding.entropy import ans_decoder
from qcodec.errors import BitstreamError

FRACTION_BITS = 8
"""Fixed-point weights and activations are integers in units of ``2**-FRACTION_BITS``."""

WEIGHT_LIMIT = 1 << 20
ACTIVATION_LIMIT = 1 << 24


def _fixed(tensor: torch.Tensor, unit_bits: int) -> torch.Tensor:
    """``tensor`` in units of ``2**-unit_bits``, rounded (half to even) and clamped: float64 integers."""
    scaled = torch.round(tensor.detach().to(torch.float64) * float(1 << unit_bits))
    return scaled.clamp(-WEIGHT_LIMIT * (1 << (unit_bits - FRACTION_BITS)), WEIGHT_LIMIT * (1 << (unit_bits - FRACTION_BITS)))


class FixedPointContext:
    """Integer-exact evaluation of a :class:`~qcodec.codecs.grid.network.ContextModel`.

    >>> import torch
    >>> ctx = FixedPointContext(ContextModel())
    >>> mu_eighths, scale_bin = ctx(torch.zeros(4, 2, 3, dtype=torch.float64), phase=0)
    >>> mu_eighths.shape, scale_bin.dtype
    ((6,), dtype('int64'))
    """

    def __init__(self, model: ContextModel) -> None:
        f = FRACTION_BITS
        self.first = _fixed(model.first.weight.reshape(model.hidden, -1), f)
        self.phase_bias = _fixed(model.phase_bias, f)
        self.mlp = [(_fixed(layer.weight[:, :, 0, 0], f), _fixed(layer.bias, 2 * f)) for layer in model.mlp]
        self.out = (_fixed(model.out.weight[:, :, 0, 0], f), _fixed(model.out.bias, 2 * f))

    def __call__(self, inputs: torch.Tensor, phase: int) -> tuple[np.ndarray, np.ndarray]:
        """Quantized Laplace parameters of every position of one phase.

        Args:
            inputs: ``(CONTEXT_INPUTS, h, w)`` integer-valued float64, from :func:`~qcodec.codecs.grid.network.phase_context`.
            phase: ``0 .. 3``.

        Returns:
            ``(mu_eighths, scale_bin)``: ``int64 (h * w,)`` each, row-major: the location in
            units of ``1 / MU_STEPS`` and the log-scale bin.
        """
        unit = float(1 << FRACTION_BITS)
        used = phase + 1  # the other context channels are zero for this phase
        _, h, w = inputs.shape
        padded = F.pad(inputs[:used], (1, 1, 1, 1))
        cols = torch.stack([padded[:, dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)], dim=1)
        hidden = torch.addmm(self.phase_bias[phase][:, None], self.first[:, : used * 9], cols.reshape(used * 9, h * w))
        hidden.clamp_(0.0, ACTIVATION_LIMIT)
        for weight, bias in self.mlp:
            hidden = torch.addmm(bias[:, None], weight, hidden).div_(unit).floor_().clamp_(0.0, ACTIVATION_LIMIT)
        weight, bias = self.out
        out = torch.addmm(bias[:, None], weight, hidden)  # units of 2**-(2 FRACTION_BITS)
        one = unit * unit
        mu_eighths = torch.floor((out[0] + one / (2 * MU_STEPS)) / (one / MU_STEPS))
        scale_bin = torch.floor((out[1] - LOG_SCALE_MIN * one) / (one / SCALES_PER_UNIT))
        return mu_eighths.numpy().astype(np.int64), scale_bin.clamp(-1, 1 << 16).numpy().astype(np.int64)


def encode_latents(context: FixedPointContext, grids: list[torch.Tensor], coarse: list[int | None]) -> bytes:
    """ANS words (little-endian ``uint32``) of integer latent planes.

    Args:
        context: the fixed-point context model.
        grids: ``grids[k]`` is ``(h_k, w_k)`` (even sides) integer-valued float64 in ``[-VALUE_MAX, VALUE_MAX]``.
        coarse: ``coarse[k]`` is the index (``> k``) of plane ``k``'s coarse-context plane, or None.
    """
    calls = []  # (residuals, rows) in decoding order
    for k in reversed(range(len(grids))):
        phases = phase_split(grids[k])
        for p in range(PHASES):
            mu_eighths, scale_bin = context(phase_context(phases, coarse_of(grids, coarse, k), p), p)
            rows, bases = row_of(mu_eighths, scale_bin)
            calls.append((phases[p].reshape(-1).numpy().astype(np.int64) - bases, rows))
    coder = constriction.stream.stack.AnsCoder()
    for residuals, rows in reversed(calls):
        encode_groups(coder, residuals, rows)
    return coder.get_compressed().astype("<u4").tobytes()


def decode_latents(
    context: FixedPointContext, sizes: list[tuple[int, int]], coarse: list[int | None], words: bytes
) -> list[torch.Tensor]:
    """Invert :func:`encode_latents` for planes of ``sizes`` (even sides) and the same ``coarse``.

    Raises:
        BitstreamError: the words do not decode, decode to values out of range, or are not all consumed.
    """
    coder = ans_decoder(words)
    grids: list[torch.Tensor] = [torch.empty(0)] * len(sizes)
    try:
        for k in reversed(range(len(sizes))):
            h, w = sizes[k]
            phases = torch.zeros(PHASES, h // 2, w // 2, dtype=torch.float64)
            for p in range(PHASES):
                mu_eighths, scale_bin = context(phase_context(phases, coarse_of(grids, coarse, k), p), p)
                rows, bases = row_of(mu_eighths, scale_bin)
                values = decode_groups(coder, rows) + bases
                if values.size and np.abs(values).max() > VALUE_MAX:
                    raise BitstreamError("latent value out of range: the payload is corrupt")
                phases[p] = torch.from_numpy(values.astype(np.float64)).reshape(h // 2, w // 2)
            grids[k] = phase_merge(phases)
    except BitstreamError:
        raise
    except Exception as exc:  # constriction reports bad data with assorted exception types
        raise BitstreamError(f"latent payload does not decode ({exc})") from None
    if not coder.is_empty():
        raise BitstreamError("latent payload has data left over after the last symbol")
    return grids
