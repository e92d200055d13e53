"""Per-tensor quantization, fake quantization and bit allocation against their definitions."""

from __future__ import annotations

import torch

from qcodec.quantize import allocate_bits, fake_quantize, quantize_tensor


def test_quantize_matches_definition():
    tensor = torch.tensor([0.5, -1.0, 0.25, 0.0])
    q = quantize_tensor("w", tensor, bits=3)  # levels -3..3, step 1/3
    assert q.values.tolist() == [2, -3, 1, 0]
    assert abs(q.step - 1 / 3) < 1e-7
    assert torch.allclose(q.dequantize(), torch.tensor([2 / 3, -1.0, 1 / 3, 0.0]))


def test_error_is_at_most_half_a_step():
    tensor = torch.randn(1000)
    for bits in (4, 8, 12):
        q = quantize_tensor("w", tensor, bits)
        assert torch.max(torch.abs(q.dequantize() - tensor)) <= q.step / 2 + 1e-6
        assert max(abs(q.values.min()), q.values.max()) <= 2 ** (bits - 1) - 1


def test_fake_quantize_value_and_straight_through_gradient():
    tensor = torch.randn(50, requires_grad=True)
    out = fake_quantize(tensor, 5)
    assert torch.equal(out.detach(), quantize_tensor("w", tensor, 5).dequantize())
    out.sum().backward()
    assert torch.equal(tensor.grad, torch.ones(50))


def test_allocation_gives_sensitive_tensors_more_bits():
    # the output is 30 * a + b: a's errors are amplified 30 times
    named = {"a": torch.rand(64, generator=torch.Generator().manual_seed(0)), "b": torch.rand(64, generator=torch.Generator().manual_seed(1))}

    def distortion(params):
        return float(torch.mean((30 * params["a"] + params["b"] - 30 * named["a"] - named["b"]) ** 2)) + 1e-6

    bits = allocate_bits(named, 4, distortion, tolerance=0.5)
    assert bits["a"] > bits["b"] >= 4
