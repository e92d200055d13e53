"""Per-tensor uniform quantization of weights, and its straight-through fake-quantized form.

A tensor ``w`` quantized to ``b`` bits becomes integers ``q = round(w / step)`` with
``step = max|w| / (2**(b-1) - 1)`` (symmetric, so ``q`` lies in ``[-(2**(b-1)-1), 2**(b-1)-1]``),
and is reconstructed as ``q * step`` in float32. The step is rounded up to bfloat16 (8
significant bits, stored in two bytes) before use, so the encoder and the decoder reconstruct
exactly the same weights and the largest value still fits.

>>> import torch
>>> q = quantize_tensor("w", torch.tensor([0.5, -1.0, 0.25]), bits=3)
>>> q.values.tolist(), q.step
([1, -3, 1], 0.333984375)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch

from qcodec.coding.bitstream import bfloat16
from qcodec.coding.entropy import coded_bits

MIN_BITS = 2
MAX_BITS = 16


@dataclass
class QuantizedTensor:
    """A quantized tensor.

    Attributes:
        name: the parameter's name in its model (e.g. ``"net.0.weight"``).
        shape: the tensor's shape.
        values: ``int32`` array of ``prod(shape)`` quantization indices, flattened (C order).
        step: quantization step (float32-exact), in the tensor's units.
        bits: bit depth it was quantized with.
    """

    name: str
    shape: tuple[int, ...]
    values: np.ndarray
    step: float
    bits: int

    def dequantize(self) -> torch.Tensor:
        """The reconstructed float32 tensor of shape :attr:`shape`."""
        values = torch.from_numpy(self.values.astype(np.float32))
        return (values * torch.tensor(self.step, dtype=torch.float32)).reshape(self.shape)


def check_bits(bits: int) -> None:
    """Raise ``ValueError`` unless ``MIN_BITS <= bits <= MAX_BITS``."""
    if not MIN_BITS <= bits <= MAX_BITS:
        raise ValueError(f"bit depth must be between {MIN_BITS} and {MAX_BITS}, got {bits}")


def value_range(bits: int) -> tuple[int, int]:
    """``(lo, hi)``: the integers a tensor quantized to ``bits`` bits may hold."""
    limit = 2 ** (bits - 1) - 1
    return -limit, limit


def step_size(tensor: torch.Tensor, bits: int) -> float:
    """Quantization step (bfloat16-exact, see the module docstring) for ``tensor`` at ``bits`` bits; 1.0 for an all-zero tensor."""
    check_bits(bits)
    peak = float(tensor.detach().abs().max()) if tensor.numel() else 0.0
    if peak == 0.0:
        return 1.0
    return bfloat16(peak / value_range(bits)[1], up=True)


def quantize_tensor(name: str, tensor: torch.Tensor, bits: int) -> QuantizedTensor:
    """Quantize one tensor to ``bits`` bits (see module docstring)."""
    step = step_size(tensor, bits)
    limit = value_range(bits)[1]
    flat = tensor.detach().to("cpu", torch.float32).reshape(-1)
    values = torch.clamp(torch.round(flat / torch.tensor(step, dtype=torch.float32)), -limit, limit)
    return QuantizedTensor(name, tuple(tensor.shape), values.numpy().astype(np.int32), step, bits)


BitDepths = int | Mapping[str, int]
"""One bit depth for every tensor, or one per tensor name."""


def depth_of(bits: BitDepths, name: str) -> int:
    """The bit depth ``bits`` gives tensor ``name``."""
    return bits if isinstance(bits, int) else bits[name]


def quantize_tensors(named: Mapping[str, torch.Tensor], bits: BitDepths) -> list[QuantizedTensor]:
    """Quantize every tensor of ``named`` (in its iteration order) to its bit depth."""
    return [quantize_tensor(name, tensor, depth_of(bits, name)) for name, tensor in named.items()]


def allocate_bits(
    named: Mapping[str, torch.Tensor],
    base_bits: int,
    distortion: Callable[[Mapping[str, torch.Tensor]], float],
    tolerance: float = 0.005,
    max_bits: int = MAX_BITS,
    floor: float = 0.0,
) -> dict[str, int]:
    """Give each tensor the fewest bits (at least ``base_bits``) it tolerates.

    Tensors are tried one at a time: a tensor's depth rises from ``base_bits`` until
    quantizing it alone (the others kept in float) raises ``distortion`` by at most
    ``tolerance`` times the float model's distortion (0.005 ~ 0.02 dB). Sensitive tensors
    (a SIREN's first layer, whose weights are multiplied by omega_0 = 30) get more bits;
    the bulk stays at ``base_bits``.

    Args:
        named: the float tensors, ``{name: tensor}``.
        base_bits: the smallest depth any tensor gets.
        distortion: maps a full set of tensors to a distortion (e.g. MSE on a pixel sample).
        tolerance: relative distortion increase allowed per tensor.
        max_bits: the largest depth any tensor gets.
        floor: distortion below which differences do not matter (e.g. the MSE of rounding
            the output to 8 bits); the tolerance applies to ``max(reference, floor)``.

    Returns:
        ``{name: bits}`` in the order of ``named``.
    """
    check_bits(base_bits)
    allowed = max(distortion(named), floor) * (1.0 + tolerance)
    depths = {}
    for name, tensor in named.items():
        bits = base_bits
        while bits < max_bits:
            trial = dict(named)
            trial[name] = quantize_tensor(name, tensor, bits).dequantize().to(tensor.device)
            if distortion(trial) <= allowed:
                break
            bits += 1
        depths[name] = bits
    return depths


def choose_bits(
    named: Mapping[str, torch.Tensor],
    cost: Callable[[Mapping[str, torch.Tensor]], float],
    cost_per_bit: float,
    start: int = 8,
) -> dict[str, int]:
    """Give each tensor the depth that minimises ``cost`` plus ``cost_per_bit`` times its coded bits.

    A rate-distortion choice, unlike :func:`allocate_bits`'s tolerance: tensors are taken in
    the order of ``named``, each with the earlier ones already quantized to their chosen
    depth and the later ones in float. A tensor's depth starts at ``start`` and moves down
    (or, if one bit fewer costs more, up) one bit at a time while that lowers
    ``cost(tensors) + cost_per_bit * coded bits`` (its payload bits, :func:`qcodec.coding.entropy.coded_bits`).

    Args:
        named: the float tensors, ``{name: tensor}``.
        cost: maps a full set of tensors to a cost (e.g. rate + lambda * distortion, in bpp).
        cost_per_bit: what one coded bit costs in ``cost``'s units (e.g. ``1 / pixels``).
        start: the first depth tried.

    Returns:
        ``{name: bits}`` in the order of ``named``.
    """
    check_bits(start)
    current = dict(named)
    depths = {}
    for name, tensor in named.items():

        def total(bits: int) -> tuple[float, torch.Tensor]:
            quantized = quantize_tensor(name, tensor, bits)
            trial = dict(current)
            trial[name] = quantized.dequantize().to(tensor.device)
            return cost(trial) + cost_per_bit * coded_bits(quantized.values, value_range(bits)), trial[name]

        bits = start
        best, best_tensor = total(bits)
        for direction in (-1, 1):
            moved = False
            while MIN_BITS <= bits + direction <= MAX_BITS:
                trial_total, trial_tensor = total(bits + direction)
                if trial_total >= best:
                    break
                bits, best, best_tensor, moved = bits + direction, trial_total, trial_tensor, True
            if moved:
                break
        depths[name] = bits
        current[name] = best_tensor
    return depths


def fake_quantize(tensor: torch.Tensor, bits: int) -> torch.Tensor:
    """Quantize-then-dequantize with a straight-through gradient (for quantization-aware training).

    The forward value equals :meth:`QuantizedTensor.dequantize` of :func:`quantize_tensor`;
    the gradient w.r.t. ``tensor`` is the identity.
    """
    step = step_size(tensor, bits)
    limit = value_range(bits)[1]
    quantized = torch.clamp(torch.round(tensor / step), -limit, limit) * step
    return tensor + (quantized - tensor).detach()
