"""What the CIFAR classifiers share: width scaling and the description of prunable channels."""

from __future__ import annotations

from dataclasses import dataclass


def scaled(channels: int, width: float) -> int:
    """``round(channels * width)``, at least 1."""
    return max(1, int(round(channels * width)))


@dataclass(frozen=True)
class ChannelPair:
    """Channels that can be removed without touching anything else in the network.

    The output channels of ``producer`` (a ``Conv2d``) pass through ``norm`` (a
    ``BatchNorm2d``, or ``None``) and a pointwise nonlinearity, and are read *only* by
    ``consumer`` (a ``Conv2d``) as its input channels. Removing channel ``c`` removes
    row ``c`` of the producer's weight (and bias), entry ``c`` of the norm, and input
    channel ``c`` of the consumer's weight. Names are ``named_modules()`` paths.
    """

    producer: str
    norm: str | None
    consumer: str
