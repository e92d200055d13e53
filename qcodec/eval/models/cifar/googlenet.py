"""GoogLeNet (Inception v1) for 32x32 inputs (Szegedy et al. 2015, CIFAR layout of kuangliu/pytorch-cifar).

::

    x (N,3,32,32) -> conv3x3 (192w) -> BN -> ReLU                     (N, 192w, 32, 32)
      -> inception 3a, 3b -> maxpool 3/2                               (N, 480w, 16, 16)
      -> inception 4a, 4b, 4c, 4d, 4e -> maxpool 3/2                   (N, 832w, 8, 8)
      -> inception 5a, 5b -> global average pool -> linear             (N, classes)

    inception module (4 branches, concatenated on channels):
      b1: conv1x1
      b2: conv1x1 (reduce) -> conv3x3                   } the reduce -> 3x3 and 3x3 -> 3x3
      b3: conv1x1 (reduce) -> conv3x3 -> conv3x3        } links are prunable channels
      b4: maxpool 3/1 -> conv1x1
    every conv is followed by BN and ReLU

The 5x5 branch is two 3x3 convolutions, as in the CIFAR reference implementation. Every
channel count is ``round(c * width)``; ``width=1`` has 6.16 M parameters.
"""

from __future__ import annotations

import torch
from torch import nn

from qcodec.eval.models.cifar.common import scaled
from qcodec.netcompress.structured import ChannelPair

# (n1x1, n3x3red, n3x3, n5x5red, n5x5, pool_planes) of each module, in order.
INCEPTION_CONFIG: dict[str, tuple[int, int, int, int, int, int]] = {
    "a3": (64, 96, 128, 16, 32, 32),
    "b3": (128, 128, 192, 32, 96, 64),
    "a4": (192, 96, 208, 16, 48, 64),
    "b4": (160, 112, 224, 24, 64, 64),
    "c4": (128, 128, 256, 24, 64, 64),
    "d4": (112, 144, 288, 32, 64, 64),
    "e4": (256, 160, 320, 32, 128, 128),
    "a5": (256, 160, 320, 32, 128, 128),
    "b5": (384, 192, 384, 48, 128, 128),
}


def conv_bn_relu(c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    """``conv (no bias) -> BN -> ReLU``, same padding: ``(N, c_in, H, W) -> (N, c_out, H, W)``."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True))


class Inception(nn.Module):
    """Four parallel branches: ``(N, c_in, H, W) -> (N, n1 + n3 + n5 + pool, H, W)``."""

    def __init__(self, c_in: int, n1: int, n3red: int, n3: int, n5red: int, n5: int, pool: int) -> None:
        super().__init__()
        self.b1 = conv_bn_relu(c_in, n1, 1)
        self.b2 = nn.Sequential(conv_bn_relu(c_in, n3red, 1), conv_bn_relu(n3red, n3, 3))
        self.b3 = nn.Sequential(conv_bn_relu(c_in, n5red, 1), conv_bn_relu(n5red, n5, 3), conv_bn_relu(n5, n5, 3))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), conv_bn_relu(c_in, pool, 1))
        self.out_channels = n1 + n3 + n5 + pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


class GoogLeNet(nn.Module):
    """CIFAR GoogLeNet with a width multiplier.

    Shapes: ``(N, 3, 32, 32) -> (N, num_classes)``.

    >>> GoogLeNet(width=1.0).num_parameters()
    6158346
    """

    def __init__(self, num_classes: int = 10, width: float = 1.0) -> None:
        super().__init__()
        c = scaled(192, width)
        self.pre_layers = conv_bn_relu(3, c, 3)
        modules: list[nn.Module] = []
        for name, config in INCEPTION_CONFIG.items():
            block = Inception(c, *(scaled(n, width) for n in config))
            modules.append(block)
            c = block.out_channels
            if name in ("b3", "e4"):
                modules.append(nn.MaxPool2d(3, 2, 1))
        self.inceptions = nn.Sequential(*modules)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(torch.flatten(self.pool(self.inceptions(self.pre_layers(x))), 1))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def channel_pairs(self) -> list[ChannelPair]:
        """Reduce -> 3x3 in branch 2, reduce -> 3x3 -> 3x3 in branch 3 of every module."""
        pairs = []
        for name, module in self.named_modules():
            if isinstance(module, Inception):
                pairs.append(ChannelPair(f"{name}.b2.0.0", f"{name}.b2.0.1", f"{name}.b2.1.0"))
                pairs.append(ChannelPair(f"{name}.b3.0.0", f"{name}.b3.0.1", f"{name}.b3.1.0"))
                pairs.append(ChannelPair(f"{name}.b3.1.0", f"{name}.b3.1.1", f"{name}.b3.2.0"))
        return pairs
