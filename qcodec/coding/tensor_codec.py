"""Named tensors <-> the ``tensors`` and ``payload`` sections of a ``.qic`` stream.

The one path from weights to bytes that every model uses: quantize each tensor
(:mod:`qcodec.coding.quantize`), fit an entropy model to its integers and code them all in one
ANS stream (:mod:`qcodec.coding.entropy`). Models hand over ``{name: tensor}`` in a fixed order
(their ``named_parameters()`` order); the decoder passes the expected shapes in the same
order, so names never travel in the stream.

``tensors`` section layout: ``count`` (varint), then per tensor ``bits`` (u8), ``step``
(bfloat16) and the entropy model (:func:`qcodec.coding.entropy.write_model`) over the integers that
depth allows (:func:`qcodec.coding.quantize.value_range`). Sizes come from the model's shapes.
``payload`` section: the ANS words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from math import prod

import torch

from qcodec.coding.bitstream import ByteReader, ByteWriter
from qcodec.coding.entropy import Family, decode_arrays, encode_arrays, read_model, write_model
from qcodec.coding.quantize import MAX_BITS, MIN_BITS, BitDepths, QuantizedTensor, quantize_tensors, value_range
from qcodec.errors import BitstreamError

PLAUSIBLE_CONSTANT_VALUES = 4096
"""Most values a stream may code with the zero-cost ``constant`` model beyond half of all its
values. The encoder uses that model only for a tensor whose values are all equal, which a
fitted network's weights are not; a stream that codes most of a large network that way
was made by hand, not by qcodec."""


@dataclass
class EncodedTensors:
    """Result of :func:`encode_tensors`.

    Attributes:
        table: the ``tensors`` section (quantization and entropy-model parameters).
        payload: the ``payload`` section (entropy-coded integers).
        tensors: the dequantized tensors, exactly as the decoder will rebuild them.
    """

    table: bytes
    payload: bytes
    tensors: dict[str, torch.Tensor]


def encode_tensors(named: Mapping[str, torch.Tensor], bits: BitDepths) -> EncodedTensors:
    """Quantize ``named`` (one depth for all, or ``{name: bits}``) and entropy-code the integers."""
    quantized = quantize_tensors(named, bits)
    models, words = encode_arrays([q.values for q in quantized], [value_range(q.bits) for q in quantized])
    table = ByteWriter()
    table.varint(len(quantized))
    for q, model in zip(quantized, models):
        table.u8(q.bits)
        table.bf16(q.step)
        write_model(table, model)
    return EncodedTensors(table.getvalue(), words, {q.name: q.dequantize() for q in quantized})


def decode_tensors(table: bytes, payload: bytes, shapes: Mapping[str, tuple[int, ...]]) -> dict[str, torch.Tensor]:
    """Rebuild the tensors written by :func:`encode_tensors`.

    Args:
        table, payload: the two sections.
        shapes: expected ``{name: shape}`` in the encoder's order (from the model header).

    Raises:
        BitstreamError: the sections do not match ``shapes``, do not decode, or code more than
            :data:`PLAUSIBLE_CONSTANT_VALUES` values (and most of them) with the constant model.
    """
    reader = ByteReader(table, "tensors section")
    count = reader.varint()
    if count != len(shapes):
        raise BitstreamError(f"stream holds {count} tensors, the model needs {len(shapes)}")
    entries = []
    for name, shape in shapes.items():
        bits, step = reader.u8(), reader.bf16()
        if not MIN_BITS <= bits <= MAX_BITS or not step > 0 or step == float("inf"):
            raise BitstreamError(f"tensor {name} has invalid quantization parameters")
        entries.append((name, shape, bits, step, read_model(reader, value_range(bits))))
    reader.expect_end()
    constant = sum(prod(shape) for _, shape, _, _, model in entries if model.family is Family.CONSTANT)
    total = sum(prod(shape) for _, shape, _, _, _ in entries)
    if constant > max(PLAUSIBLE_CONSTANT_VALUES, total / 2):
        raise BitstreamError(
            f"implausible stream: {constant:,} of its {total:,} weights are coded as constants, which qcodec's encoder does not write"
        )
    values = decode_arrays([e[4] for e in entries], [prod(e[1]) for e in entries], payload)
    return {
        name: QuantizedTensor(name, shape, ints, step, bits).dequantize()
        for (name, shape, bits, step, _), ints in zip(entries, values)
    }
