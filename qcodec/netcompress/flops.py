"""Counting what a network costs: parameters, non-zeros, multiply-adds, bytes on disk.

FLOPs are counted for convolutions and linear layers only (batch norm, activations,
pooling and additions are a few percent of a CNN's work and are left out), with one
multiply-add = 2 FLOPs. Two numbers per network:

* ``flops``: what dense kernels execute (zeros in a weight tensor are multiplied anyway);
* ``nonzero_flops``: what a sparse kernel that skips zero weights would execute
  (output pixels x non-zero weights), an *upper bound* on what unstructured pruning could save.

>>> import torch
>>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.Flatten(), torch.nn.Linear(8 * 4 * 4, 10))
>>> count_flops(net, (3, 4, 4)).flops   # 2 * (16 px * 8 * 27 + 128 * 10)
9472
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class FlopCount:
    """FLOPs of one forward pass of a single image (see the module docstring)."""

    flops: int
    nonzero_flops: int


def count_flops(model: nn.Module, input_shape: tuple[int, ...] = (3, 32, 32)) -> FlopCount:
    """FLOPs per image of ``model`` for inputs of shape ``(1, *input_shape)``.

    Runs one forward pass in eval mode with hooks on every ``Conv2d`` and ``Linear``.
    """
    dense = 0
    nonzero = 0

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal dense, nonzero
        weight = module.weight.detach()
        if isinstance(module, nn.Conv2d):
            positions = output[0, 0].numel()  # H' * W' output pixels, each using every weight once
        else:
            positions = output[0].numel() // module.out_features
        dense += 2 * positions * weight.numel()
        nonzero += 2 * positions * int(torch.count_nonzero(weight))

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            device = next(model.parameters()).device
            model(torch.zeros(1, *input_shape, device=device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return FlopCount(dense, nonzero)


@dataclass(frozen=True)
class ParamCount:
    """Parameters of a network: all of them, and those that are not exactly zero."""

    total: int
    nonzero: int


def count_params(model: nn.Module) -> ParamCount:
    """Count ``model.parameters()`` (buffers such as batch-norm statistics are not parameters)."""
    total = sum(p.numel() for p in model.parameters())
    nonzero = sum(int(torch.count_nonzero(p.detach())) for p in model.parameters())
    return ParamCount(total, nonzero)


def dense_state_bytes(model: nn.Module) -> bytes:
    """``torch.save(model.state_dict())``, the usual checkpoint (zeros stored like any float)."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getvalue()


def sparse_state_bytes(model: nn.Module) -> bytes:
    """The state dict with each float tensor stored as a bitmask of non-zeros plus the non-zero values.

    A tensor is stored sparse only when that is smaller than dense (``numel/8 + 4 nnz < 4 numel``,
    i.e. more than ~3% zeros). Written with ``numpy.savez`` (uncompressed) so the size is
    simply what the format needs; read back with :func:`load_sparse_state`.
    """
    arrays: dict[str, np.ndarray] = {}
    for name, tensor in model.state_dict().items():
        value = tensor.detach().cpu()
        if value.is_floating_point() and value.numel():
            flat = value.reshape(-1).numpy()
            mask = flat != 0
            if value.numel() / 8 + 4 * int(mask.sum()) < 4 * value.numel():
                arrays[f"{name}|mask"] = np.packbits(mask)
                arrays[f"{name}|values"] = flat[mask]
                arrays[f"{name}|shape"] = np.asarray(value.shape, dtype=np.int64)
                continue
        arrays[name] = value.numpy()
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def load_sparse_state(data: bytes) -> dict[str, torch.Tensor]:
    """Inverse of :func:`sparse_state_bytes`: the state dict (dense tensors)."""
    archive = np.load(io.BytesIO(data))
    state: dict[str, torch.Tensor] = {}
    for key in archive.files:
        name, _, part = key.partition("|")
        if not part:
            state[name] = torch.from_numpy(archive[key].copy())
        elif part == "mask":
            shape = tuple(int(s) for s in archive[f"{name}|shape"])
            values = archive[f"{name}|values"]
            mask = np.unpackbits(archive[key])[: int(np.prod(shape))].astype(bool)
            flat = np.zeros(mask.size, dtype=values.dtype)
            flat[mask] = values
            state[name] = torch.from_numpy(flat.reshape(shape))
    return state
