"""ResNet-18 for 32x32 inputs (He et al. 2016, in the CIFAR layout of kuangliu/pytorch-cifar).

::

    x (N,3,32,32) -> conv3x3 c0 -> BN -> ReLU                      (N, c0, 32, 32)
      -> stage1: 2 x BasicBlock(c0,  stride 1)                      (N, c0, 32, 32)
      -> stage2: 2 x BasicBlock(2c0, first stride 2)                (N, 2c0, 16, 16)
      -> stage3: 2 x BasicBlock(4c0, first stride 2)                (N, 4c0, 8, 8)
      -> stage4: 2 x BasicBlock(8c0, first stride 2)                (N, 8c0, 4, 4)
      -> global average pool -> linear                              (N, classes)

    BasicBlock:  x -> conv3x3 -> BN -> ReLU -> conv3x3 -> BN -> (+ shortcut(x)) -> ReLU
                               `---- inner channels: prunable ----'

``c0 = round(64 * width)``; ``width=1`` is the standard 11.2 M-parameter network.
The stem is a 3x3 convolution without max-pooling (the ImageNet 7x7/stride-2 stem would
throw away most of a 32x32 image).
"""

from __future__ import annotations

import torch
from torch import nn

from qcodec.eval.models.cifar.common import scaled
from qcodec.netcompress.structured import ChannelPair


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection: ``(N, c_in, H, W) -> (N, c_out, H/s, W/s)``.

    ``planes`` is the inner width (output of ``conv1``); it can differ from ``c_out``
    after structured pruning of the inner channels.
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 1, planes: int | None = None) -> None:
        super().__init__()
        planes = c_out if planes is None else planes
        self.conv1 = nn.Conv2d(c_in, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNet18(nn.Module):
    """CIFAR ResNet-18 with a width multiplier (see the module docstring for the layout).

    Shapes: ``(N, 3, 32, 32) -> (N, num_classes)`` (any ``H, W >= 8`` works).

    >>> ResNet18(width=1.0).num_parameters()
    11173962
    """

    def __init__(self, num_classes: int = 10, width: float = 1.0) -> None:
        super().__init__()
        c0 = scaled(64, width)
        self.stem = nn.Sequential(nn.Conv2d(3, c0, 3, 1, 1, bias=False), nn.BatchNorm2d(c0), nn.ReLU(inplace=True))
        stages: list[nn.Module] = []
        c_in = c0
        for index, multiple in enumerate((1, 2, 4, 8)):
            c_out = scaled(64 * multiple, width)
            stride = 1 if index == 0 else 2
            stages.append(nn.Sequential(BasicBlock(c_in, c_out, stride), BasicBlock(c_out, c_out, 1)))
            c_in = c_out
        self.layers = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.layers(self.stem(x))), 1))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def channel_pairs(self) -> list[ChannelPair]:
        """The inner channels of every block: ``conv1 -> bn1 -> ReLU -> conv2``."""
        pairs = []
        for name, module in self.named_modules():
            if isinstance(module, BasicBlock):
                pairs.append(ChannelPair(f"{name}.conv1", f"{name}.bn1", f"{name}.conv2"))
        return pairs
