"""Learning-rate schedules shared by the codecs' fitting loops."""

from __future__ import annotations

import math


def cosine_factor(step: int, steps: int, final_ratio: float) -> float:
    """Learning-rate multiplier at ``step`` of ``steps``: cosine decay from 1 to ``final_ratio``."""
    cosine = 0.5 * (1 + math.cos(math.pi * step / steps))
    return final_ratio + (1 - final_ratio) * cosine
