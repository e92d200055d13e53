"""CIFAR-sized (32x32 input) classifiers for the QIANets reproduction, with a width multiplier.

Written in plain torch (no torchvision). Every model maps ``(N, 3, 32, 32)`` to
``(N, num_classes)`` logits and lists the channels that structured pruning may remove
(:meth:`channel_pairs`, see :class:`~qcodec.netcompress.structured.ChannelPair`).

>>> build_cifar_model("resnet18", width=0.25)(torch.zeros(2, 3, 32, 32)).shape
torch.Size([2, 10])
"""

from __future__ import annotations

import torch  # noqa: F401 - used by the doctest
from torch import nn

from qcodec.errors import UnknownModelError
from qcodec.eval.models.cifar.common import scaled
from qcodec.eval.models.cifar.densenet import DenseNet121
from qcodec.eval.models.cifar.googlenet import GoogLeNet
from qcodec.eval.models.cifar.resnet import ResNet18

CIFAR_MODELS: dict[str, type[nn.Module]] = {"resnet18": ResNet18, "densenet": DenseNet121, "googlenet": GoogLeNet}
"""Model name (as the CLI spells it) -> class."""


def build_cifar_model(name: str, width: float = 1.0, num_classes: int = 10) -> nn.Module:
    """A freshly initialised CIFAR classifier by name (``resnet18``, ``densenet``, ``googlenet``).

    Raises:
        UnknownModelError: ``name`` is not one of :data:`CIFAR_MODELS`.
    """
    if name not in CIFAR_MODELS:
        raise UnknownModelError(f"unknown model {name!r}; choose one of {', '.join(CIFAR_MODELS)}")
    if not width > 0:
        raise ValueError(f"width multiplier must be positive, got {width}")
    return CIFAR_MODELS[name](num_classes=num_classes, width=width)


__all__ = ["CIFAR_MODELS", "DenseNet121", "GoogLeNet", "ResNet18", "build_cifar_model", "scaled"]
