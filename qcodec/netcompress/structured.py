"""Structured (channel) pruning that really shrinks the network, and torch magnitude-pruning baselines.

Zeroing single weights leaves every convolution the same dense shape, so on a CPU (or
GPU) it saves no time. Removing whole channels does: a channel described by a
:class:`ChannelPair` can be cut out of the producer conv,
its batch norm and the consumer conv, leaving smaller dense convolutions.

* :func:`qaoa_channel_prune_` applies the QAOA-inspired rule of
  :mod:`qcodec.netcompress.qaoa_pruning` to channels: importance of a channel is the L1 norm
  of its producer filter, ``P = softmax`` over the channels of the layer, the threshold prunes
  a fraction ``alpha`` of them, and entanglement prunes the channels at index ``c - 1`` and
  ``c + 1`` of a pruned channel ``c`` with probability ``P_entangle``.
* :func:`magnitude_channel_prune_` is the baseline: ``torch.nn.utils.prune.ln_structured``
  (L1 norm, ``dim=0``) removing the same number of channels per layer.
* While fine-tuning, pruned channels are zeroed (:func:`channel_masks` +
  :func:`~qcodec.netcompress.qaoa_pruning.apply_masks_`); :func:`remove_channels_` then
  cuts them out for good.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils import prune

from qcodec.netcompress.qaoa_pruning import Masks, apply_masks_, qaoa_select

ChannelKeep = dict[str, torch.Tensor]
"""``{producer conv path: (C,) bool keep vector}`` (True = channel kept)."""


@dataclass(frozen=True)
class ChannelPair:
    """Channels that can be removed without touching anything else in the network.

    The output channels of ``producer`` (a ``Conv2d``) pass through ``norm`` (a
    ``BatchNorm2d``, or ``None``) and a pointwise nonlinearity, and are read *only* by
    ``consumer`` (a ``Conv2d``) as its input channels. Removing channel ``c`` removes
    row ``c`` of the producer's weight (and bias), entry ``c`` of the norm, and input
    channel ``c`` of the consumer's weight. Names are ``named_modules()`` paths.
    """

    producer: str
    norm: str | None
    consumer: str


def module_at(root: nn.Module, path: str) -> nn.Module:
    """The sub-module at dotted ``path`` (``""`` is ``root``)."""
    return root.get_submodule(path) if path else root


def replace_module_(root: nn.Module, path: str, new: nn.Module) -> None:
    """Put ``new`` at dotted ``path`` inside ``root``."""
    parent_path, _, leaf = path.rpartition(".")
    setattr(module_at(root, parent_path), leaf, new)


def _conv(module: nn.Module, path: str) -> nn.Conv2d:
    if not isinstance(module, nn.Conv2d) or module.groups != 1:
        raise TypeError(f"{path} must be an ungrouped nn.Conv2d, got {type(module).__name__}")
    return module


def channel_l1(conv: nn.Conv2d) -> torch.Tensor:
    """``(C_out,)`` float64 L1 norms of the filters of ``conv`` (its weight is ``(C_out, C_in, kh, kw)``)."""
    return conv.weight.detach().abs().sum(dim=(1, 2, 3)).to(torch.float64)


def channel_masks(model: nn.Module, pairs: Sequence[ChannelPair], keep: ChannelKeep) -> Masks:
    """Per-parameter masks (for :func:`apply_masks_`) that zero the pruned channels.

    Covers the producer's weight rows and bias, the norm's weight and bias, and the
    consumer's input columns; names are ``named_parameters()`` names.
    """
    masks: Masks = {}
    for pair in pairs:
        if pair.producer not in keep:
            continue
        k = keep[pair.producer]
        producer = _conv(module_at(model, pair.producer), pair.producer)
        _merge(masks, f"{pair.producer}.weight", k.view(-1, 1, 1, 1).expand_as(producer.weight))
        if producer.bias is not None:
            masks[f"{pair.producer}.bias"] = k.clone()
        if pair.norm is not None:
            norm = module_at(model, pair.norm)
            if getattr(norm, "weight", None) is not None:
                masks[f"{pair.norm}.weight"] = k.clone()
                masks[f"{pair.norm}.bias"] = k.clone()
        consumer = _conv(module_at(model, pair.consumer), pair.consumer)
        _merge(masks, f"{pair.consumer}.weight", k.view(1, -1, 1, 1).expand_as(consumer.weight))
    return masks


def _merge(masks: Masks, name: str, mask: torch.Tensor) -> None:
    masks[name] = masks[name] & mask if name in masks else mask.clone()


def apply_channel_keep_(model: nn.Module, pairs: Sequence[ChannelPair], keep: ChannelKeep) -> Masks:
    """Zero the pruned channels in place; returns the masks to re-apply after optimizer steps."""
    masks = channel_masks(model, pairs, keep)
    apply_masks_(dict(model.named_parameters()), masks)
    return masks


def qaoa_channel_prune_(
    model: nn.Module,
    pairs: Sequence[ChannelPair],
    alpha: float,
    p_entangle: float = 0.0,
    stages: int = 1,
    generator: torch.Generator | None = None,
    between_stages: Callable[[int, Masks], None] | None = None,
) -> ChannelKeep:
    """QAOA-inspired channel pruning of every pair, in place (channels are zeroed, not yet removed).

    Stage ``s`` of ``stages`` prunes each producer to threshold sparsity ``alpha * s / stages``
    of its channels (ranked by ``softmax`` of filter L1 norms), adds entangled neighbour
    channels, zeroes them, then calls ``between_stages(s, masks)`` with the parameter masks.
    At least one channel per layer is kept.

    Returns:
        ``{producer path: (C,) bool keep}``; pass it to :func:`remove_channels_`.
    """
    if stages < 1:
        raise ValueError(f"need at least one pruning stage, got {stages}")
    if not 0.0 <= alpha < 1.0:
        raise ValueError(f"sparsity alpha must be in [0, 1), got {alpha}")
    keep: ChannelKeep = {}
    for stage in range(1, stages + 1):
        for pair in pairs:
            producer = _conv(module_at(model, pair.producer), pair.producer)
            scores = torch.log_softmax(channel_l1(producer), dim=0)
            already = ~keep[pair.producer] if pair.producer in keep else None
            target = int(round(alpha * stage / stages * scores.numel()))
            step = qaoa_select(scores, target, p_entangle, generator, already)
            keep[pair.producer] = ~step.pruned
        masks = apply_channel_keep_(model, pairs, keep)
        if between_stages is not None:
            between_stages(stage, masks)
    return keep


def magnitude_channel_prune_(model: nn.Module, pairs: Sequence[ChannelPair], amounts: Mapping[str, int]) -> ChannelKeep:
    """Baseline: ``torch.nn.utils.prune.ln_structured`` (L1, ``dim=0``) on each producer.

    ``amounts[producer]`` channels are pruned in each layer (the same counts as another
    method, for a comparison at equal sparsity). torch's pruning re-parametrisation
    (``weight_orig * weight_mask``) keeps them zero while fine-tuning; the norm's affine
    parameters (and the producer's bias) are masked the same way with
    ``prune.custom_from_mask``, so a pruned channel outputs exactly zero. Call
    :func:`remove_pruning_reparametrization_` and then :func:`remove_channels_` afterwards.
    """
    keep: ChannelKeep = {}
    for pair in pairs:
        producer = _conv(module_at(model, pair.producer), pair.producer)
        amount = int(amounts.get(pair.producer, 0))
        prune.ln_structured(producer, "weight", amount=amount, n=1, dim=0)
        k = producer.weight_mask.detach().flatten(1).amax(dim=1) > 0
        keep[pair.producer] = k
        if producer.bias is not None:
            prune.custom_from_mask(producer, "bias", k.to(producer.bias.dtype))
        if pair.norm is not None:
            norm = module_at(model, pair.norm)
            if getattr(norm, "weight", None) is not None:
                prune.custom_from_mask(norm, "weight", k.to(norm.weight.dtype))
                prune.custom_from_mask(norm, "bias", k.to(norm.bias.dtype))
    return keep


def remove_pruning_reparametrization_(model: nn.Module) -> None:
    """Make torch pruning permanent: every ``name_orig * name_mask`` becomes a plain parameter."""
    for module in model.modules():
        for hook in list(module._forward_pre_hooks.values()):
            if isinstance(hook, prune.BasePruningMethod):
                prune.remove(module, hook._tensor_name)


def _shrink_conv(conv: nn.Conv2d, out_keep: torch.Tensor | None, in_keep: torch.Tensor | None) -> nn.Conv2d:
    weight = conv.weight.detach()
    bias = None if conv.bias is None else conv.bias.detach()
    if out_keep is not None:
        weight = weight[out_keep]
        bias = None if bias is None else bias[out_keep]
    if in_keep is not None:
        weight = weight[:, in_keep]
    new = nn.Conv2d(
        weight.shape[1], weight.shape[0], conv.kernel_size, conv.stride, conv.padding, conv.dilation,
        bias=bias is not None, padding_mode=conv.padding_mode,
    ).to(device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        new.weight.copy_(weight)
        if bias is not None:
            new.bias.copy_(bias)
    return new


def _shrink_norm(norm: nn.BatchNorm2d, keep: torch.Tensor) -> nn.BatchNorm2d:
    new = nn.BatchNorm2d(int(keep.sum()), norm.eps, norm.momentum, norm.affine, norm.track_running_stats)
    new = new.to(device=keep.device)
    with torch.no_grad():
        if norm.affine:
            new.weight.copy_(norm.weight[keep])
            new.bias.copy_(norm.bias[keep])
        if norm.track_running_stats:
            new.running_mean.copy_(norm.running_mean[keep])
            new.running_var.copy_(norm.running_var[keep])
            new.num_batches_tracked.copy_(norm.num_batches_tracked)
    return new


def remove_channels_(model: nn.Module, pairs: Sequence[ChannelPair], keep: ChannelKeep) -> dict[str, tuple[int, int]]:
    """Cut the pruned channels out: producer rows, norm entries, consumer input columns.

    The network computes exactly what the zeroed network computed (a zeroed channel
    contributes nothing to the consumer), with smaller dense convolutions.

    Returns:
        ``{producer path: (channels before, channels after)}``.
    """
    sizes = {}
    for pair in pairs:
        if pair.producer not in keep:
            continue
        k = keep[pair.producer].to(torch.bool)
        if not bool(k.any()):
            raise ValueError(f"cannot remove every channel of {pair.producer}")
        producer = _conv(module_at(model, pair.producer), pair.producer)
        replace_module_(model, pair.producer, _shrink_conv(producer, k, None))
        if pair.norm is not None:
            replace_module_(model, pair.norm, _shrink_norm(module_at(model, pair.norm), k))
        consumer = _conv(module_at(model, pair.consumer), pair.consumer)
        replace_module_(model, pair.consumer, _shrink_conv(consumer, None, k))
        sizes[pair.producer] = (int(k.numel()), int(k.sum()))
    return sizes
