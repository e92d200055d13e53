"""The overfitting loop shared by every implicit-neural-representation codec.

:func:`fit` trains a coordinate network on one image: random mini-batches of pixels
(a fresh permutation each epoch), an optimizer with a cosine-decayed learning rate and
MSE loss. Given bit depths, it runs quantization-aware: the forward pass uses
fake-quantized weights (:func:`qcodec.coding.quantize.fake_quantize`) with straight-through
gradients, so the float weights learn to survive quantization.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call

from qcodec.codecs.base import FitProgress, ProgressCallback
from qcodec.codecs.schedule import cosine_factor
from qcodec.coding.quantize import fake_quantize
from qcodec.metrics import psnr_from_mse
from qcodec.netcompress.qaoa_pruning import apply_masks_


@dataclass(frozen=True)
class FitConfig:
    """How to overfit a network to one image.

    Attributes:
        steps: optimizer steps.
        lr: peak learning rate (cosine-decayed to ``lr * final_lr_ratio``).
        batch_size: pixels per step; the whole image when it has fewer pixels.
        final_lr_ratio: learning rate at the last step, relative to ``lr``.
        optimizer: ``"adam"`` or ``"adamw"``.
        weight_decay: AdamW's decoupled weight decay.
        param_groups: optional callable ``(model, lr) -> optimizer parameter groups``, to give
            parts of a model their own learning rate; default one group.
    """

    steps: int = 2000
    lr: float = 1e-3
    batch_size: int = 16384
    final_lr_ratio: float = 0.05
    optimizer: str = "adam"
    weight_decay: float = 0.0
    param_groups: Callable[[nn.Module, float], list[dict]] | None = None


def _make_optimizer(model: nn.Module, config: FitConfig) -> torch.optim.Optimizer:
    groups = config.param_groups(model, config.lr) if config.param_groups else [{"params": list(model.parameters())}]
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adam":
        return torch.optim.Adam(groups, lr=config.lr)
    raise ValueError(f"unknown optimizer {config.optimizer!r}")


def fit(
    model: nn.Module,
    coords: torch.Tensor,
    targets: torch.Tensor,
    config: FitConfig,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    bits: Mapping[str, int] | None = None,
    masks: Mapping[str, torch.Tensor] | None = None,
) -> nn.Module:
    """Overfit ``model`` so that ``model(coords) ~= targets``; returns the trained model.

    Args:
        model: maps ``(B, D_in)`` to ``(B, C)`` (a tiled network: ``(B, P, D_in)`` to ``(B, P, C)``);
            already on the target device.
        coords: ``(N, D_in)`` inputs (tiled: ``(N, P, D_in)``, the same pixel positions of ``P``
            tiles), on the model's device; batches are drawn along the first axis.
        targets: ``(N, C)`` (tiled: ``(N, P, C)``) values in ``[0, 1]``, on the model's device.
        config: steps, learning rate, batch size, optimizer.
        seed: seeds the mini-batch order (seed the model's initialisation separately).
        progress: called after every step with a :class:`FitProgress`.
        bits: ``{parameter name: bit depth}``; when given, training is quantization-aware.
        masks: ``{parameter name: bool retain mask}`` of a pruned model; pruned entries are
            zeroed again after every step, so they stay exactly zero.
    """
    generator = torch.Generator().manual_seed(seed)
    model.train()
    optimizer = _make_optimizer(model, config)
    base_lrs = [group["lr"] for group in optimizer.param_groups]
    n = coords.shape[0]
    batch = min(config.batch_size, n)
    order = torch.randperm(n, generator=generator).to(coords.device)
    cursor = 0
    phase = "fit" if bits is None else "qat"
    params_by_name = dict(model.named_parameters())
    if masks:  # once, not every step: masks are built on the CPU
        masks = {name: m.to(params_by_name[name].device, params_by_name[name].dtype) for name, m in masks.items()}
    for step in range(config.steps):
        if cursor + batch > n:
            order = torch.randperm(n, generator=generator).to(coords.device)
            cursor = 0
        index = order[cursor : cursor + batch]
        cursor += batch
        for group, base in zip(optimizer.param_groups, base_lrs):
            group["lr"] = base * cosine_factor(step, config.steps, config.final_lr_ratio)
        if bits is None:
            output = model(coords[index])
        else:
            params = {name: fake_quantize(p, bits[name]) for name, p in model.named_parameters()}
            output = functional_call(model, params, (coords[index],))
        loss = torch.mean((output - targets[index]) ** 2)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if masks:
            apply_masks_(params_by_name, masks)
        if progress is not None:
            value = loss.item()
            progress(FitProgress(phase, step + 1, config.steps, value, psnr_from_mse(value)))
    model.eval()
    return model
