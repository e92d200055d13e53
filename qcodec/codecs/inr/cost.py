"""What evaluating a coordinate network costs, computed from its architecture without building it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NetworkCost:
    """What evaluating a coordinate network costs (:meth:`~qcodec.codecs.inr.codec.INRCodec.network_cost`).

    Attributes:
        macs_per_pixel: real multiply-accumulates per evaluated pixel.
        parameters: trainable values (what the stream codes).
        tensors: how many tensors hold them (each costs a few header bytes in the stream).
        activation_bytes: memory a forward pass holds per pixel at its peak, which
            :func:`~qcodec.codecs.inr.codec.render` multiplies by its chunk of pixels.
        fixed_bytes: memory a forward pass holds whatever the number of pixels (e.g. fused circuits).
    """

    macs_per_pixel: float
    parameters: int
    tensors: int
    activation_bytes: float
    fixed_bytes: float = 0.0
