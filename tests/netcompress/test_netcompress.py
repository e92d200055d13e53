"""The QIANets techniques checked on small tensors against their definitions, plus the cost counters."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from qcodec.eval.models.cifar import build_cifar_model
from qcodec.netcompress import (
    LowRankConv2d,
    anneal_factorize,
    apply_masks_,
    count_flops,
    count_params,
    factorize_convs_,
    low_rank_conv_weight,
    low_rank_reconstruct_,
    magnitude_channel_prune_,
    mask_sparsity,
    measure_latency,
    qaoa_channel_prune_,
    qaoa_prune_,
    qaoa_prune_tensor,
    qaoa_select,
    remove_channels_,
    remove_pruning_reparametrization_,
    retain_probabilities,
    sparse_state_bytes,
    svd_relative_error,
    truncated_svd,
)
from qcodec.netcompress.flops import dense_state_bytes, load_sparse_state
from qcodec.netcompress.qaoa_pruning import neighbours
from qcodec.netcompress.structured import ChannelPair


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# -- QAOA-inspired pruning --------------------------------------------------------------------


def test_probabilities_are_softmax_of_magnitudes() -> None:
    w = torch.randn(4, 3, 3, 3, generator=gen())
    p = retain_probabilities(w)
    assert p.shape == w.shape
    assert torch.allclose(p.sum(), torch.tensor(1.0, dtype=torch.float64))
    expected = torch.softmax(w.abs().reshape(-1).double(), 0).reshape(w.shape)
    assert torch.allclose(p, expected)


@pytest.mark.parametrize("alpha", [0.0, 0.1, 0.3779, 0.5, 0.9])
def test_threshold_reaches_sparsity_and_keeps_the_most_probable(alpha: float) -> None:
    w = torch.randn(8, 4, 3, 3, generator=gen(1))
    result = qaoa_prune_tensor(w, alpha, p_entangle=0.0)
    pruned = ~result.mask
    assert int(pruned.sum()) == round(alpha * w.numel())
    p = retain_probabilities(w)
    if 0 < alpha:
        lam = result.step.threshold
        assert bool((p[result.mask] >= lam).all())  # R = 1 iff P >= lambda
        assert bool((p[pruned] <= lam).all())
        assert float(w[pruned].abs().max()) <= float(w[result.mask].abs().min())


def test_entanglement_only_touches_neighbours() -> None:
    w = torch.randn(16, 8, 3, 3, generator=gen(2))
    step = qaoa_prune_tensor(w, 0.3, p_entangle=0.5, generator=gen(3)).step
    extra = step.by_entanglement
    assert int(extra.sum()) > 0
    assert not bool((extra & step.by_threshold).any())
    # every entangled entry sits at flat index i-1 or i+1 of a threshold-pruned entry
    assert bool((neighbours(step.by_threshold)[extra] >= 1).all())


def test_entanglement_probability_extremes() -> None:
    scores = torch.log_softmax(torch.arange(20, dtype=torch.float64), 0)
    none = qaoa_select(scores, 4, p_entangle=0.0, generator=gen())
    assert int(none.pruned.sum()) == 4 and not bool(none.by_entanglement.any())
    every = qaoa_select(scores, 4, p_entangle=1.0, generator=gen())
    # the 4 least important are indices 0..3; with P=1 their only unpruned neighbour (index 4) goes too
    assert every.by_threshold.nonzero().reshape(-1).tolist() == [0, 1, 2, 3]
    assert every.by_entanglement.nonzero().reshape(-1).tolist() == [4]


def test_entanglement_rate_matches_probability() -> None:
    scores = torch.log_softmax(torch.randn(20000, generator=gen(4), dtype=torch.float64), 0)
    step = qaoa_select(scores, 2000, p_entangle=0.25, generator=gen(5))
    hits = neighbours(step.by_threshold)
    exposed = ~step.by_threshold & (hits == 1)
    rate = float(step.by_entanglement[exposed].double().mean())
    assert abs(rate - 0.25) < 0.03


def test_stages_never_regrow_and_end_at_alpha() -> None:
    net = nn.Sequential(nn.Conv2d(4, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3))
    seen: list[dict[str, torch.Tensor]] = []

    def between(stage: int, masks: dict[str, torch.Tensor]) -> None:
        seen.append({k: v.clone() for k, v in masks.items()})
        with torch.no_grad():  # stand-in for fine-tuning: weights move, masks must hold
            for p in net.parameters():
                p.add_(0.01 * torch.randn(p.shape, generator=gen(stage)))
        apply_masks_(dict(net.named_parameters()), masks)

    masks = qaoa_prune_(net, 0.6, 0.0, stages=3, generator=gen(), between_stages=between)
    assert len(seen) == 3
    sparsities = [mask_sparsity(m) for m in seen]
    assert sparsities == sorted(sparsities)
    assert sparsities[0] == pytest.approx(0.2, abs=0.01) and sparsities[-1] == pytest.approx(0.6, abs=0.01)
    for earlier, later in zip(seen, seen[1:]):
        for name in earlier:
            assert not bool((later[name] & ~earlier[name]).any())  # nothing pruned comes back
    for name, mask in masks.items():
        weight = dict(net.named_parameters())[name]
        assert bool((weight[~mask] == 0).all())
    assert bool((net[0].bias != 0).all())  # biases are not pruned


def test_prune_dict_of_tensors_is_reproducible() -> None:
    named = {"a": torch.randn(10, 10, generator=gen(6)), "b": torch.randn(5, 7, generator=gen(7))}
    first = qaoa_prune_({k: v.clone() for k, v in named.items()}, 0.5, 0.5, stages=2, generator=gen(8))
    second = qaoa_prune_(named, 0.5, 0.5, stages=2, generator=gen(8))
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert all(bool((named[k][~second[k]] == 0).all()) for k in named)
    assert mask_sparsity(second) >= 0.5


def test_bad_pruning_settings_raise() -> None:
    with pytest.raises(ValueError):
        qaoa_prune_tensor(torch.ones(4), 1.0)
    with pytest.raises(ValueError):
        qaoa_prune_tensor(torch.ones(4), 0.5, p_entangle=1.5)
    with pytest.raises(ValueError):
        qaoa_prune_(nn.Linear(2, 2), 0.5, stages=0)


# -- tensor decomposition -----------------------------------------------------------------------


@pytest.mark.parametrize("rank", [1, 3, 6])
def test_truncated_svd_has_rank_r_and_optimal_error(rank: int) -> None:
    m = torch.randn(12, 20, generator=gen(9), dtype=torch.float64)
    a, b = truncated_svd(m, rank)
    assert a.shape == (12, rank) and b.shape == (rank, 20)
    approx = a @ b
    assert int(torch.linalg.matrix_rank(approx)) == rank
    error = float(((m - approx) ** 2).sum() / (m**2).sum())
    assert error == pytest.approx(svd_relative_error(m, rank), rel=1e-9)


def test_low_rank_conv_weight_keeps_shape_and_lowers_rank() -> None:
    w = torch.randn(16, 8, 3, 3, generator=gen(10))
    low = low_rank_conv_weight(w, 4)
    assert low.shape == w.shape
    assert int(torch.linalg.matrix_rank(low.reshape(16, -1))) == 4


def test_low_rank_conv_runs_as_two_convs_computing_the_truncated_weight() -> None:
    conv = nn.Conv2d(6, 10, 3, stride=2, padding=1, bias=True)
    low = LowRankConv2d.from_conv(conv, rank=3)
    assert low.first.weight.shape == (3, 6, 3, 3) and low.first.stride == (2, 2)
    assert low.second.weight.shape == (10, 3, 1, 1)
    reference = copy.deepcopy(conv)
    with torch.no_grad():
        reference.weight.copy_(low_rank_conv_weight(conv.weight, 3))
    x = torch.randn(2, 6, 9, 9, generator=gen(11))
    assert torch.allclose(low(x), reference(x), atol=1e-5)
    assert sum(p.numel() for p in low.parameters()) == 3 * (6 * 9 + 10) + 10


def test_factorize_convs_matches_paper_reconstruction_and_skips_useless_layers() -> None:
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1))
    factored, reconstructed = copy.deepcopy(net), copy.deepcopy(net)
    reports = factorize_convs_(factored, rank=3, method="svd")
    assert [r.name for r in reports] == ["2", "4"]  # 3->4 conv: rank 3 would not save 25 %
    assert type(factored[0]) is nn.Conv2d and isinstance(factored[4], LowRankConv2d)
    low_rank_reconstruct_(reconstructed, rank=3)
    reconstructed[0].load_state_dict(net[0].state_dict())  # the unfactored layer stays exact
    x = torch.randn(1, 3, 8, 8, generator=gen(12))
    assert torch.allclose(factored(x), reconstructed(x), atol=1e-4)


# -- annealing-inspired factorization ------------------------------------------------------------


def test_annealing_error_decreases_towards_the_svd_optimum() -> None:
    u = torch.randn(20, 20, generator=gen(13))
    spectrum = torch.diag(0.7 ** torch.arange(20.0))
    w = u @ spectrum @ torch.randn(20, 30, generator=gen(14))
    fit = anneal_factorize(w, rank=4, generator=gen(15))
    assert fit.w1.shape == (20, 4) and fit.w2.shape == (4, 30)
    assert all(b <= a for a, b in zip(fit.errors, fit.errors[1:]))
    assert fit.errors[-1] < 0.1 * fit.errors[0]
    assert fit.optimal_error - 1e-9 <= fit.error <= 1.05 * fit.optimal_error + 1e-6
    recomputed = float(((w.double() - fit.w1.double() @ fit.w2.double()) ** 2).sum() / (w.double() ** 2).sum())
    assert recomputed == pytest.approx(fit.error, rel=1e-3, abs=1e-7)
    sizes = fit.step_sizes
    assert all(b < a for a, b in zip(sizes, sizes[1:]))  # the step size decays


def test_annealing_recovers_an_exact_low_rank_matrix() -> None:
    w = torch.randn(8, 2, generator=gen(16)) @ torch.randn(2, 9, generator=gen(17))
    fit = anneal_factorize(w, rank=2, generator=gen(18))
    assert fit.error < 1e-8
    assert torch.allclose(fit.w1 @ fit.w2, w, atol=1e-4)


# -- structured pruning ----------------------------------------------------------------------------


def _forward(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(x)


def _randomize_norms(model: nn.Module) -> None:
    g = gen(19)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(0.1 * torch.randn(m.num_features, generator=g))
            m.running_var.copy_(1 + torch.rand(m.num_features, generator=g))


@pytest.mark.parametrize("name", ["resnet18", "densenet", "googlenet"])
def test_channel_removal_preserves_the_function(name: str) -> None:
    torch.manual_seed(0)
    model = build_cifar_model(name, width=0.0625)
    _randomize_norms(model)
    pairs = model.channel_pairs()
    keep = qaoa_channel_prune_(model, pairs, alpha=0.5, p_entangle=0.5, stages=2, generator=gen(20))
    x = torch.randn(2, 3, 32, 32, generator=gen(21))
    zeroed = _forward(model, x)
    before = count_params(model).total
    sizes = remove_channels_(model, pairs, keep)
    assert count_params(model).total < before
    assert all(after <= before - round(0.5 * before) or after == 1 for before, after in sizes.values())
    assert torch.allclose(_forward(model, x), zeroed, atol=1e-4)


def test_channel_entanglement_prunes_neighbouring_channels_only() -> None:
    conv_a, conv_b = nn.Conv2d(3, 40, 3), nn.Conv2d(40, 4, 1)
    with torch.no_grad():
        conv_a.weight.copy_(torch.arange(40.0).view(40, 1, 1, 1).expand_as(conv_a.weight) + 1)  # L1 grows with index
    model = nn.Sequential(conv_a, nn.BatchNorm2d(40), nn.ReLU(), conv_b)
    keep = qaoa_channel_prune_(model, [ChannelPair("0", "1", "3")], alpha=0.1, p_entangle=1.0)
    pruned = (~keep["0"]).nonzero().reshape(-1).tolist()
    assert pruned == [0, 1, 2, 3, 4]  # 4 smallest by threshold + channel 4, the neighbour of channel 3


def test_magnitude_channel_baseline_uses_torch_ln_structured() -> None:
    torch.manual_seed(1)
    model = build_cifar_model("resnet18", width=0.0625)
    _randomize_norms(model)
    pairs = model.channel_pairs()
    amounts = {p.producer: 2 for p in pairs}
    expected = {}
    for p in pairs:
        norms = model.get_submodule(p.producer).weight.detach().abs().sum(dim=(1, 2, 3))
        expected[p.producer] = set(torch.argsort(norms)[:2].tolist())
    keep = magnitude_channel_prune_(model, pairs, amounts)
    assert all(set((~keep[k]).nonzero().reshape(-1).tolist()) == expected[k] for k in keep)
    x = torch.randn(1, 3, 32, 32, generator=gen(22))
    masked = _forward(model, x)
    remove_pruning_reparametrization_(model)
    assert not any(name.endswith("_orig") for name, _ in model.named_parameters())
    remove_channels_(model, pairs, keep)
    assert torch.allclose(_forward(model, x), masked, atol=1e-4)


# -- cost counters -----------------------------------------------------------------------------------


def test_flops_count_dense_and_nonzero() -> None:
    conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
    net = nn.Sequential(conv, nn.Flatten(), nn.Linear(8 * 4 * 4, 10))
    counted = count_flops(net, (3, 4, 4))
    assert counted.flops == 2 * (16 * 8 * 27 + 128 * 10)
    with torch.no_grad():
        conv.weight[:4] = 0
    assert count_flops(net, (3, 4, 4)).nonzero_flops == 2 * (16 * 4 * 27 + 128 * 10)
    params = count_params(net)
    assert params.total == 8 * 27 + 1280 + 10 and params.nonzero == params.total - 4 * 27


def test_sparse_state_round_trip_and_size() -> None:
    net = nn.Sequential(nn.Linear(64, 64), nn.Linear(64, 8))
    qaoa_prune_(net, 0.8, generator=gen(23))
    data = sparse_state_bytes(net)
    assert len(data) < 0.5 * len(dense_state_bytes(net))
    restored = load_sparse_state(data)
    assert all(torch.equal(restored[k], v) for k, v in net.state_dict().items())


def test_latency_reports_each_model_and_batch() -> None:
    models = {"a": nn.Conv2d(3, 4, 3), "b": nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())}
    stats = measure_latency(models, (1, 4), repeats={1: 5, 4: 3}, warmup=1, input_shape=(3, 8, 8))
    assert set(stats) == {"a", "b"}
    assert stats["a"][1].repeats == 5 and stats["b"][4].repeats == 3
    assert all(0 < s.q1 <= s.median <= s.q3 for m in stats.values() for s in m.values())
    assert stats["a"][4].per_image == pytest.approx(stats["a"][4].median / 4)


@pytest.mark.parametrize("name, params", [("resnet18", 11173962), ("densenet", 6956298), ("googlenet", 6158346)])
def test_models_have_standard_sizes(name: str, params: int) -> None:
    model = build_cifar_model(name, width=1.0)
    assert count_params(model).total == params
    small = build_cifar_model(name, width=0.125)
    assert _forward(small, torch.zeros(2, 3, 32, 32)).shape == (2, 10)
