"""DenseNet-121 for 32x32 inputs (Huang et al. 2017, CIFAR layout of kuangliu/pytorch-cifar).

::

    x (N,3,32,32) -> conv3x3 (2k)                                   (N, 2k, 32, 32)
      -> dense block 1 (6 layers)  -> transition (halve C, avgpool)  (N, ., 16, 16)
      -> dense block 2 (12 layers) -> transition                     (N, ., 8, 8)
      -> dense block 3 (24 layers) -> transition                     (N, ., 4, 4)
      -> dense block 4 (16 layers) -> BN -> ReLU -> global avg pool -> linear

    dense layer (bottleneck):
      x -> BN -> ReLU -> conv1x1 (4k) -> BN -> ReLU -> conv3x3 (k) -> concat([out, x])
                        `------ inner channels: prunable ------'

``k = round(32 * width)`` is the growth rate; ``width=1`` is the standard DenseNet-121
(6.96 M parameters with a 10-class head).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from qcodec.eval.models.cifar.common import scaled
from qcodec.netcompress.structured import ChannelPair


class Bottleneck(nn.Module):
    """One dense layer: ``(N, C, H, W) -> (N, C + growth, H, W)``."""

    def __init__(self, c_in: int, growth: int, inner: int | None = None) -> None:
        super().__init__()
        inner = 4 * growth if inner is None else inner
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = nn.Conv2d(c_in, inner, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(inner)
        self.conv2 = nn.Conv2d(inner, growth, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        return torch.cat([out, x], 1)


class Transition(nn.Module):
    """``BN -> ReLU -> conv1x1 -> avgpool 2``: ``(N, C, H, W) -> (N, C_out, H/2, W/2)``."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(c_in)
        self.conv = nn.Conv2d(c_in, c_out, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(self.conv(F.relu(self.bn(x))), 2)


class DenseNet121(nn.Module):
    """CIFAR DenseNet-121 with a width multiplier on the growth rate.

    Shapes: ``(N, 3, 32, 32) -> (N, num_classes)``.

    >>> DenseNet121(width=1.0).num_parameters()
    6956298
    """

    def __init__(self, num_classes: int = 10, width: float = 1.0, blocks: tuple[int, ...] = (6, 12, 24, 16)) -> None:
        super().__init__()
        growth = scaled(32, width)
        channels = 2 * growth
        self.conv1 = nn.Conv2d(3, channels, 3, padding=1, bias=False)
        stages: list[nn.Module] = []
        for index, count in enumerate(blocks):
            layers = []
            for _ in range(count):
                layers.append(Bottleneck(channels, growth))
                channels += growth
            stages.append(nn.Sequential(*layers))
            if index < len(blocks) - 1:
                reduced = int(math.floor(channels * 0.5))
                stages.append(Transition(channels, reduced))
                channels = reduced
        self.features = nn.Sequential(*stages)
        self.bn = nn.BatchNorm2d(channels)
        self.linear = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn(self.features(self.conv1(x))))
        return self.linear(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def channel_pairs(self) -> list[ChannelPair]:
        """The bottleneck of every dense layer: ``conv1 -> bn2 -> ReLU -> conv2``."""
        return [
            ChannelPair(f"{name}.conv1", f"{name}.bn2", f"{name}.conv2")
            for name, module in self.named_modules()
            if isinstance(module, Bottleneck)
        ]
