"""SIREN, the sine-activated MLP behind COIN (Sitzmann et al. 2020; Dupont et al. 2021)."""

from __future__ import annotations

import math

import torch
from torch import nn


class SineLayer(nn.Module):
    """``y = sin(omega_0 * (x W^T + b))``, with SIREN's initialisation.

    Weights are drawn from ``U(-1/in, 1/in)`` in the first layer and from
    ``U(-sqrt(6/in)/omega_0, sqrt(6/in)/omega_0)`` elsewhere, so pre-activations keep a
    unit-scale arcsine distribution through depth.

    Shapes: ``(N, in_features) -> (N, out_features)``.
    """

    def __init__(self, in_features: int, out_features: int, omega_0: float = 30.0, first: bool = False) -> None:
        super().__init__()
        self.omega_0 = omega_0
        self.linear = nn.Linear(in_features, out_features)
        bound = 1.0 / in_features if first else math.sqrt(6.0 / in_features) / omega_0
        with torch.no_grad():
            self.linear.weight.uniform_(-bound, bound)
            self.linear.bias.uniform_(-bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.omega_0 * self.linear(x))


class Siren(nn.Module):
    """COIN's network: ``layers`` sine layers of ``width`` units, then a linear output layer.

    Maps coordinates ``(N, 2)`` in ``[-1, 1]^2`` to values ``(N, out_features)`` (pixel
    intensities in ``[0, 1]`` after training). COIN's "10x28" is ``Siren(10, 28)``:
    10 sine layers (the first from 2 inputs) and one linear layer, 7,479 parameters for RGB.

    >>> Siren(layers=10, width=28).num_parameters()
    7479
    """

    def __init__(self, layers: int, width: int, out_features: int = 3, in_features: int = 2, omega_0: float = 30.0):
        super().__init__()
        if layers < 1 or width < 1:
            raise ValueError("a SIREN needs at least one layer of at least one unit")
        blocks = [SineLayer(in_features, width, omega_0, first=True)]
        blocks += [SineLayer(width, width, omega_0) for _ in range(layers - 1)]
        self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(width, out_features)
        bound = math.sqrt(6.0 / width) / omega_0
        with torch.no_grad():
            self.head.weight.uniform_(-bound, bound)
            self.head.bias.fill_(0.5)

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(coords))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def siren_num_parameters(layers: int, width: int, out_features: int = 3, in_features: int = 2) -> int:
    """Parameter count of :class:`Siren` without building it."""
    return (in_features + 1) * width + (layers - 1) * (width + 1) * width + (width + 1) * out_features


def siren_macs_per_pixel(layers: int, width: int, out_features: int = 3, in_features: int = 2) -> int:
    """Multiply-accumulates of :class:`Siren` per evaluated coordinate (the sines not counted)."""
    return in_features * width + (layers - 1) * width * width + width * out_features


class TiledSiren(nn.Module):
    """One :class:`Siren` per tile, all evaluated in one batched call.

    Maps local coordinates ``(B, P, 2)`` (``P`` tiles, see :class:`~qcodec.codecs.inr.coords.TileGrid`)
    to values ``(B, P, out_features)``. Layer ``k`` holds ``weight_k (P, out, in)`` and
    ``bias_k (P, out)``, each tile initialised as a SIREN; ``Siren``'s layers, stacked.
    """

    def __init__(self, tiles: int, layers: int, width: int, out_features: int = 3, in_features: int = 2, omega_0: float = 30.0):
        super().__init__()
        if tiles < 1 or layers < 1 or width < 1:
            raise ValueError("a tiled SIREN needs at least one tile, layer and unit")
        self.omega_0 = omega_0
        sizes = [in_features] + [width] * layers + [out_features]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for k, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            bound = 1.0 / fan_in if k == 0 else math.sqrt(6.0 / fan_in) / omega_0
            self.weights.append(nn.Parameter(torch.empty(tiles, fan_out, fan_in).uniform_(-bound, bound)))
            bias = torch.full((tiles, fan_out), 0.5) if k == layers else torch.empty(tiles, fan_out).uniform_(-bound, bound)
            self.biases.append(nn.Parameter(bias))

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        h = coords.transpose(0, 1)  # (P, B, in): one batched matrix product per layer
        last = len(self.weights) - 1
        for k, (weight, bias) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(bias[:, None, :], h, weight.transpose(1, 2))
            if k < last:
                h = torch.sin(self.omega_0 * h)
        return h.transpose(0, 1)
