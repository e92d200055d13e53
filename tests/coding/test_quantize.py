"""Per-tensor quantization, fake quantization and bit allocation against their definitions."""

from __future__ import annotations

import torch

from qcodec.coding.entropy import coded_bits
from qcodec.coding.quantize import allocate_bits, choose_bits, fake_quantize, quantize_tensor, value_range


def test_quantize_matches_definition():
    tensor = torch.tensor([0.6, -1.0, 0.25, 0.0])
    q = quantize_tensor("w", tensor, bits=3)  # levels -3..3, step 1/3 rounded up to bfloat16
    assert q.step == 0.333984375  # 0x3EAB, the smallest bfloat16 >= 1/3
    assert q.values.tolist() == [2, -3, 1, 0]
    assert torch.equal(q.dequantize(), torch.tensor([2, -3, 1, 0], dtype=torch.float32) * q.step)


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


def _weighted_error(named):
    # the output is 30 * a + b: a's errors are amplified 30 times
    def cost(params):
        return float(torch.mean((30 * params["a"] + params["b"] - 30 * named["a"] - named["b"]) ** 2))

    return cost


def test_rate_distortion_choice_is_a_local_minimum_of_cost_plus_bits():
    gen = torch.Generator().manual_seed(2)
    named = {"a": torch.randn(200, generator=gen), "b": torch.randn(200, generator=gen)}
    cost, per_bit = _weighted_error(named), 1e-3
    bits = choose_bits(named, cost, per_bit)

    def total(name, depth, others):
        q = quantize_tensor(name, named[name], depth)
        trial = dict(others, **{name: q.dequantize()})
        return cost(trial) + per_bit * coded_bits(q.values, value_range(depth))

    after_a = dict(named, a=quantize_tensor("a", named["a"], bits["a"]).dequantize())
    for name, others in (("a", named), ("b", after_a)):
        chosen = total(name, bits[name], others)
        assert chosen <= total(name, bits[name] - 1, others) and chosen <= total(name, bits[name] + 1, others)
    assert bits["a"] > bits["b"]


def test_dearer_bits_give_fewer_bits():
    gen = torch.Generator().manual_seed(3)
    named = {"a": torch.randn(200, generator=gen), "b": torch.randn(200, generator=gen)}
    cheap = choose_bits(named, _weighted_error(named), 1e-5)
    dear = choose_bits(named, _weighted_error(named), 1e-2)
    assert all(dear[name] < cheap[name] for name in named)
