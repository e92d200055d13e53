"""QAOA-inspired pruning (QIANets, Magongo et al. 2024, section 3.1), on any ``nn.Module``.

For one tensor ``W`` the paper defines, in order:

1. importance ``I = |W|``;
2. probabilities ``P = softmax(I)`` over *all* entries of the tensor;
3. a retain mask ``R = [P >= lambda]``, the threshold ``lambda`` calibrated so that a
   fraction ``alpha`` (the "layer sparsity") of the entries is pruned;
4. "entanglement": when a weight is pruned, each of its neighbours is pruned too with
   probability ``P_entangle``;
5. all of it repeated over several stages, each recomputing ``P`` from the current
   (fine-tuned) weights.

Choices where the paper is silent (``docs/eval-qianets.md`` lists them):

* Softmax is monotonic, so ``P >= lambda`` keeps exactly the largest ``|W|``: the
  threshold step *is* magnitude pruning. The probabilities are computed as float64
  log-softmax, so ties from float32 rounding of ``exp`` cannot change the selection.
  ``lambda`` is the probability of the smallest retained entry; ties in ``|W|`` are broken
  by flat index, so exactly ``round(alpha * numel)`` entries are pruned by the threshold.
* "Neighbours" are the entries at flat (C-order) index ``i - 1`` and ``i + 1``, as in the
  authors' public code (``vanessamatvei/QIANets``, ``resnet.py``); for a conv weight this
  is mostly the left/right tap of the same kernel row. Each (pruned, neighbour) pair
  draws its own Bernoulli(``P_entangle``): a weight next to two newly pruned weights is
  pruned with probability ``1 - (1 - P_entangle)**2``. Entanglement spreads one step only
  (from weights pruned by the threshold, not from weights it pruned itself).
* Stage ``s`` of ``S`` brings the threshold-pruned count to ``round(alpha * s / S * numel)``
  (already pruned entries count towards it and stay pruned); entanglement comes on top,
  so the realised sparsity exceeds ``alpha`` when ``P_entangle > 0``. Callers that
  compare at equal sparsity should read the realised masks (:func:`mask_sparsity`).

The same selection rule works on any 1-D importance vector; :mod:`qcodec.netcompress.structured`
uses it on per-channel L1 norms to prune whole channels.

>>> import torch
>>> w = torch.tensor([[0.1, -2.0, 0.3, 4.0]])
>>> qaoa_prune_tensor(w, alpha=0.5, p_entangle=0.0).mask.tolist()
[[False, True, False, True]]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import nn

Masks = dict[str, torch.Tensor]
"""``{parameter name: bool retain mask of the parameter's shape}`` (True = kept)."""


def retain_log_probabilities(weight: torch.Tensor) -> torch.Tensor:
    """``log softmax(|W|)`` over every entry, float64, same shape as ``weight``."""
    flat = weight.detach().reshape(-1).to(torch.float64).abs()
    return torch.log_softmax(flat, dim=0).reshape(weight.shape)


def retain_probabilities(weight: torch.Tensor) -> torch.Tensor:
    """The paper's ``P = softmax(|W|)`` over every entry (float64, same shape, sums to 1)."""
    return retain_log_probabilities(weight).exp()


def neighbours(pruned: torch.Tensor) -> torch.Tensor:
    """How many flat-index neighbours (``i - 1``, ``i + 1``) of each entry are in ``pruned``.

    ``pruned``: 1-D bool. Returns a 1-D int64 count (0, 1 or 2) per entry.
    """
    counts = torch.zeros(pruned.numel(), dtype=torch.int64)
    flags = pruned.to(torch.int64)
    counts[1:] += flags[:-1]
    counts[:-1] += flags[1:]
    return counts


@dataclass
class SelectionStep:
    """What one pruning stage did to a 1-D vector of entries.

    Attributes:
        pruned: bool, every pruned entry after this stage (previously pruned included).
        by_threshold: bool, entries newly pruned by the threshold ``P < lambda``.
        by_entanglement: bool, entries newly pruned as neighbours of ``by_threshold``.
        threshold: ``lambda``, the probability of the least important retained entry
            (``nan`` when nothing was newly pruned by the threshold).
    """

    pruned: torch.Tensor
    by_threshold: torch.Tensor
    by_entanglement: torch.Tensor
    threshold: float


def qaoa_select(
    log_probs: torch.Tensor,
    target_pruned: int,
    p_entangle: float = 0.0,
    generator: torch.Generator | None = None,
    already_pruned: torch.Tensor | None = None,
    min_keep: int = 1,
) -> SelectionStep:
    """One stage of QAOA-inspired selection on a 1-D vector of log-probabilities.

    Args:
        log_probs: ``(n,)`` log-probabilities (any monotone score works the same).
        target_pruned: how many entries should be pruned by the threshold after this stage,
            counting ``already_pruned``; the threshold prunes ``target - already`` more.
        p_entangle: probability that each neighbour of a newly threshold-pruned entry is pruned.
        generator: random source of the entanglement draws.
        already_pruned: ``(n,)`` bool, entries pruned by earlier stages (they stay pruned).
        min_keep: never prune below this many retained entries.

    Returns:
        A :class:`SelectionStep`; ``pruned`` is a superset of ``already_pruned``.
    """
    if not 0.0 <= p_entangle <= 1.0:
        raise ValueError(f"P_entangle must be in [0, 1], got {p_entangle}")
    n = log_probs.numel()
    scores = log_probs.reshape(-1).to("cpu", torch.float64)  # masks are built on the CPU
    before = torch.zeros(n, dtype=torch.bool) if already_pruned is None else already_pruned.reshape(-1).clone()
    limit = max(0, n - min_keep)
    extra = max(0, min(target_pruned, limit) - int(before.sum()))
    by_threshold = torch.zeros(n, dtype=torch.bool)
    threshold = float("nan")
    if extra:
        candidates = (~before).nonzero().reshape(-1)
        order = torch.argsort(scores[candidates], stable=True)
        by_threshold[candidates[order[:extra]]] = True
        if extra < order.numel():
            threshold = float(scores[candidates[order[extra]]].exp())
    pruned = before | by_threshold
    by_entanglement = torch.zeros(n, dtype=torch.bool)
    if p_entangle > 0 and extra:
        hits = neighbours(by_threshold)
        survive = torch.rand(n, 2, generator=generator, dtype=torch.float64) >= p_entangle
        # An entry with k pruned neighbours survives all k draws with probability (1 - p)^k.
        survives = torch.where(hits >= 1, survive[:, 0], True) & torch.where(hits >= 2, survive[:, 1], True)
        by_entanglement = ~pruned & ~survives
        room = limit - int(pruned.sum())
        if int(by_entanglement.sum()) > room:  # keep min_keep entries alive
            chosen = by_entanglement.nonzero().reshape(-1)[: max(room, 0)]
            by_entanglement = torch.zeros(n, dtype=torch.bool)
            by_entanglement[chosen] = True
        pruned = pruned | by_entanglement
    return SelectionStep(pruned, by_threshold, by_entanglement, threshold)


@dataclass
class TensorPruning:
    """Result of :func:`qaoa_prune_tensor`: ``mask`` (bool, ``W``'s shape, True = kept) and the step."""

    mask: torch.Tensor
    step: SelectionStep


def qaoa_prune_tensor(
    weight: torch.Tensor,
    alpha: float,
    p_entangle: float = 0.0,
    generator: torch.Generator | None = None,
    mask: torch.Tensor | None = None,
) -> TensorPruning:
    """One QAOA-pruning stage of a single tensor: threshold to sparsity ``alpha``, then entangle.

    Args:
        weight: any shape; entries already zeroed by ``mask`` count as pruned.
        alpha: fraction of entries the threshold should have pruned after this stage, in ``[0, 1)``.
        p_entangle: neighbour pruning probability.
        generator: random source of the entanglement.
        mask: current retain mask (``weight``'s shape, bool), or ``None`` for all kept.

    Returns:
        The new retain mask (never re-grows a pruned entry) and the stage details.
    """
    if not 0.0 <= alpha < 1.0:
        raise ValueError(f"sparsity alpha must be in [0, 1), got {alpha}")
    already = None if mask is None else ~mask.reshape(-1).to(torch.bool)
    target = int(round(alpha * weight.numel()))
    step = qaoa_select(retain_log_probabilities(weight).reshape(-1), target, p_entangle, generator, already)
    return TensorPruning((~step.pruned).reshape(weight.shape), step)


def prunable_weights(
    module: nn.Module, layer_types: tuple[type[nn.Module], ...] = (nn.Conv2d, nn.Linear)
) -> dict[str, nn.Parameter]:
    """``{"<module path>.weight": parameter}`` of every ``layer_types`` layer, in module order."""
    found = {}
    for name, sub in module.named_modules():
        if isinstance(sub, layer_types) and isinstance(getattr(sub, "weight", None), nn.Parameter):
            found[f"{name}.weight" if name else "weight"] = sub.weight
    return found


def apply_masks_(params: Mapping[str, torch.Tensor], masks: Masks) -> None:
    """Zero the pruned entries in place: ``params[name] *= masks[name]`` for every masked name.

    Call it after every optimizer step while fine-tuning a pruned network, so pruned
    weights stay exactly zero.
    """
    with torch.no_grad():
        for name, mask in masks.items():
            tensor = params[name]
            tensor.mul_(mask.to(device=tensor.device, dtype=tensor.dtype))


def mask_sparsity(masks: Masks) -> float:
    """Fraction of pruned entries over all masked tensors."""
    total = sum(m.numel() for m in masks.values())
    return 1.0 - sum(int(m.sum()) for m in masks.values()) / total if total else 0.0


def qaoa_prune_(
    target: nn.Module | Mapping[str, torch.Tensor],
    alpha: float,
    p_entangle: float = 0.0,
    stages: int = 1,
    generator: torch.Generator | None = None,
    between_stages: Callable[[int, Masks], None] | None = None,
    layer_types: tuple[type[nn.Module], ...] = (nn.Conv2d, nn.Linear),
    masks: Masks | None = None,
) -> Masks:
    """QAOA-inspired pruning of a network, in place, over ``stages`` stages.

    Stage ``s`` (1-based) prunes every selected tensor to threshold sparsity ``alpha * s / stages``
    with :func:`qaoa_prune_tensor`, zeroes the pruned entries, then calls
    ``between_stages(s, masks)`` (e.g. a short fine-tuning that calls :func:`apply_masks_`
    after each step), so the next stage's probabilities come from updated weights.

    Args:
        target: an ``nn.Module`` (the weights of its ``layer_types`` layers are pruned; biases
            and other parameters are left alone) or a ``{name: tensor}`` dict (every tensor pruned).
        alpha: final threshold sparsity per tensor, in ``[0, 1)``.
        p_entangle: neighbour pruning probability (0 disables entanglement).
        stages: number of stages (at least 1).
        generator: random source (seed it for reproducible masks); ``None`` uses torch's global RNG.
        between_stages: called after each stage, including the last.
        layer_types: which layers of a module to prune.
        masks: masks of an earlier call to continue from.

    Returns:
        ``{name: retain mask}`` (bool, True = kept) for every pruned tensor.

    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(16, 16), nn.Linear(16, 4))
    >>> masks = qaoa_prune_(net, alpha=0.5, generator=torch.Generator().manual_seed(0))
    >>> round(mask_sparsity(masks), 2), float((net[0].weight == 0).float().mean())
    (0.5, 0.5)
    """
    if stages < 1:
        raise ValueError(f"need at least one pruning stage, got {stages}")
    params = dict(target.items()) if isinstance(target, Mapping) else prunable_weights(target, layer_types)
    current: Masks = dict(masks or {})
    for stage in range(1, stages + 1):
        for name, tensor in params.items():
            result = qaoa_prune_tensor(tensor, alpha * stage / stages, p_entangle, generator, current.get(name))
            current[name] = result.mask
        apply_masks_(params, current)
        if between_stages is not None:
            between_stages(stage, current)
    return current

