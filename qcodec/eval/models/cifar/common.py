"""What the CIFAR classifiers share: width scaling."""

from __future__ import annotations


def scaled(channels: int, width: float) -> int:
    """``round(channels * width)``, at least 1."""
    return max(1, int(round(channels * width)))
