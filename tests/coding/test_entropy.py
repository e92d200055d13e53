"""Entropy coding of integer arrays and the quantize/entropy path for named tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qcodec.coding.bitstream import ByteReader, ByteWriter, bfloat16
from qcodec.coding.entropy import EntropyModel, Family, decode_arrays, encode_arrays, fit_model, read_model, write_model
from qcodec.coding.tensor_codec import decode_tensors, encode_tensors
from qcodec.errors import BitstreamError


def test_round_trip_mixed_arrays():
    rng = np.random.default_rng(0)
    arrays = [
        np.rint(rng.normal(3, 20, 500)).astype(np.int32),
        np.rint(rng.laplace(0, 2, 300)).astype(np.int32),
        rng.integers(-100, 100, 200).astype(np.int32),
        np.full(40, 7, dtype=np.int32),
        np.zeros(0, dtype=np.int32),
    ]
    supports = [(-200, 200), (-50, 50), (-100, 99), (0, 7), (-1, 1)]
    models, words = encode_arrays(arrays, supports)
    decoded = decode_arrays(models, [a.size for a in arrays], words)
    for original, back in zip(arrays, decoded):
        np.testing.assert_array_equal(original, back)
    assert models[3].family is Family.CONSTANT


def test_family_choice_follows_the_data():
    rng = np.random.default_rng(1)
    assert fit_model(np.rint(rng.laplace(0, 3, 5000)).astype(np.int32), (-127, 127)).family is Family.LAPLACE
    assert fit_model(rng.integers(-50, 50, 5000).astype(np.int32), (-50, 49)).family is Family.UNIFORM


def test_values_outside_the_support_are_refused():
    with pytest.raises(ValueError, match="outside the support"):
        fit_model(np.array([0, 5, 9], dtype=np.int32), (-7, 7))


def test_coded_size_is_close_to_entropy():
    rng = np.random.default_rng(2)
    values = np.rint(rng.normal(0, 10, 20000)).astype(np.int32)
    _, words = encode_arrays([values], [(-127, 127)])
    entropy_bits = 0.5 * np.log2(2 * np.pi * np.e * 10**2) * values.size
    assert len(words) * 8 < 1.02 * entropy_bits + 64


@pytest.mark.parametrize(
    "model",
    [EntropyModel(Family.CONSTANT, -3, -3), EntropyModel(Family.UNIFORM, -8, 9), EntropyModel(Family.GAUSSIAN, -8, 9, 1.5, 12.25)],
)
def test_model_serialization(model):
    writer = ByteWriter()
    write_model(writer, model)
    assert read_model(ByteReader(writer.getvalue()), (-8, 9)) == model


def test_model_parameters_are_bfloat16_and_take_two_bytes_each():
    rng = np.random.default_rng(3)
    model = fit_model(np.rint(rng.normal(0.3, 7.3, 2000)).astype(np.int32), (-63, 63))
    assert model.family is Family.GAUSSIAN
    assert bfloat16(model.loc) == model.loc and bfloat16(model.scale) == model.scale
    writer = ByteWriter()
    write_model(writer, model)
    assert len(writer.getvalue()) == 5


def test_a_constant_outside_its_support_is_a_bitstream_error():
    writer = ByteWriter()
    write_model(writer, EntropyModel(Family.CONSTANT, 9, 9))
    with pytest.raises(BitstreamError, match="outside its support"):
        read_model(ByteReader(writer.getvalue()), (-7, 7))


def test_tensor_codec_round_trip_is_exact():
    torch.manual_seed(0)
    named = {"a.weight": torch.randn(7, 5) * 0.1, "a.bias": torch.randn(7), "b": torch.zeros(3)}
    encoded = encode_tensors(named, {"a.weight": 6, "a.bias": 10, "b": 8})
    decoded = decode_tensors(encoded.table, encoded.payload, {k: tuple(v.shape) for k, v in named.items()})
    for name in named:
        assert torch.equal(decoded[name], encoded.tensors[name])
    step = bfloat16(float(named["a.weight"].abs().max()) / 31, up=True)
    assert step < 1.01 * float(named["a.weight"].abs().max()) / 31
    assert torch.max(torch.abs(decoded["a.weight"] - named["a.weight"])) <= step / 2 + 1e-7
    # count, then per tensor: bits, step (2 bytes), family and its parameters (a constant's value: 1 byte)
    assert len(encoded.table) == 1 + 2 * (1 + 2 + 1 + 4) + (1 + 2 + 1 + 1)


def test_tensor_table_refuses_a_depth_out_of_range():
    encoded = encode_tensors({"w": torch.linspace(-1, 1, 9)}, 6)
    table = bytearray(encoded.table)
    table[1] = 40
    with pytest.raises(BitstreamError, match="invalid quantization parameters"):
        decode_tensors(bytes(table), encoded.payload, {"w": (9,)})
