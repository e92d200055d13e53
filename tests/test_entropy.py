"""Entropy coding of integer arrays and the quantize/entropy path for named tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qcodec.bitstream import ByteReader, ByteWriter
from qcodec.entropy import EntropyModel, Family, decode_arrays, encode_arrays, fit_model, read_model, write_model
from qcodec.tensor_codec import decode_tensors, encode_tensors


def test_round_trip_mixed_arrays():
    rng = np.random.default_rng(0)
    arrays = [
        np.rint(rng.normal(3, 20, 500)).astype(np.int32),
        np.rint(rng.laplace(0, 2, 300)).astype(np.int32),
        rng.integers(-100, 100, 200).astype(np.int32),
        np.full(40, 7, dtype=np.int32),
        np.zeros(0, dtype=np.int32),
    ]
    models, words = encode_arrays(arrays)
    decoded = decode_arrays(models, [a.size for a in arrays], words)
    for original, back in zip(arrays, decoded):
        np.testing.assert_array_equal(original, back)
    assert models[3].family is Family.CONSTANT


def test_family_choice_follows_the_data():
    rng = np.random.default_rng(1)
    assert fit_model(np.rint(rng.laplace(0, 3, 5000)).astype(np.int32)).family is Family.LAPLACE
    assert fit_model(rng.integers(-50, 50, 5000).astype(np.int32)).family is Family.UNIFORM


def test_coded_size_is_close_to_entropy():
    rng = np.random.default_rng(2)
    values = np.rint(rng.normal(0, 10, 20000)).astype(np.int32)
    _, words = encode_arrays([values])
    entropy_bits = 0.5 * np.log2(2 * np.pi * np.e * 10**2) * values.size
    assert len(words) * 8 < 1.02 * entropy_bits + 64


@pytest.mark.parametrize(
    "model",
    [EntropyModel(Family.CONSTANT, -3, -3), EntropyModel(Family.UNIFORM, -8, 9), EntropyModel(Family.GAUSSIAN, -50, 60, 1.5, 12.25)],
)
def test_model_serialization(model):
    writer = ByteWriter()
    write_model(writer, model)
    assert read_model(ByteReader(writer.getvalue())) == model


def test_tensor_codec_round_trip_is_exact():
    torch.manual_seed(0)
    named = {"a.weight": torch.randn(7, 5) * 0.1, "a.bias": torch.randn(7), "b": torch.zeros(3)}
    encoded = encode_tensors(named, {"a.weight": 6, "a.bias": 10, "b": 8})
    decoded = decode_tensors(encoded.table, encoded.payload, {k: tuple(v.shape) for k, v in named.items()})
    for name in named:
        assert torch.equal(decoded[name], encoded.tensors[name])
    step = named["a.weight"].abs().max() / 31
    assert torch.max(torch.abs(decoded["a.weight"] - named["a.weight"])) <= step / 2 + 1e-7
