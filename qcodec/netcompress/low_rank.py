"""Tensor decomposition (QIANets section 3.2): rank-``r`` truncated SVD of conv weights.

A conv weight ``W (C_out, C_in, kh, kw)`` is flattened to ``W_f (C_out, C_in*kh*kw)`` and
truncated to ``W_f ~ U_r S_r V_r^T``. The paper then reshapes the product back into a
``(C_out, C_in, kh, kw)`` tensor (:func:`low_rank_conv_weight`): the layer keeps its shape,
its parameter count and its cost, so nothing gets faster. A low-rank weight only saves
work when it *runs* as two convolutions (:class:`LowRankConv2d`)::

    x (N, C_in, H, W) -> conv kh x kw, C_in -> r  (weight V_r^T, stride/padding of the original)
                      -> conv 1x1,     r -> C_out (weight U_r S_r, the original bias)
                      -> (N, C_out, H', W')

which costs ``r (C_in kh kw + C_out)`` multiply-adds per output pixel instead of
``C_out C_in kh kw``. :func:`factorize_convs_` swaps every convolution where that saves enough
for a :class:`LowRankConv2d`, with factors from the SVD or from the annealing-inspired
L-BFGS fit of :mod:`qcodec.netcompress.annealing`.

>>> import torch
>>> conv = torch.nn.Conv2d(8, 16, 3, padding=1)
>>> low = LowRankConv2d.from_conv(conv, rank=16)   # full rank: same function
>>> x = torch.randn(1, 8, 5, 5)
>>> bool(torch.allclose(low(x), conv(x), atol=1e-5))
True
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from qcodec.netcompress.annealing import anneal_factorize, svd_relative_error
from qcodec.netcompress.structured import replace_module_


def flatten_conv_weight(weight: torch.Tensor) -> torch.Tensor:
    """``(C_out, C_in, kh, kw) -> (C_out, C_in*kh*kw)`` (a view when possible)."""
    return weight.reshape(weight.shape[0], -1)


def truncated_svd(matrix: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Rank-``r`` factors of ``matrix (m, n)``: ``A = U_r S_r (m, r)`` and ``B = V_r^T (r, n)``.

    ``A @ B`` is the best rank-``r`` approximation in Frobenius norm (Eckart-Young).
    ``rank`` is clamped to ``min(m, n)``; computed in float64, returned in ``matrix``'s dtype.
    """
    if rank < 1:
        raise ValueError(f"rank must be at least 1, got {rank}")
    u, s, vh = torch.linalg.svd(matrix.detach().to(torch.float64), full_matrices=False)
    r = min(rank, s.numel())
    return (u[:, :r] * s[:r]).to(matrix), vh[:r].to(matrix)


def low_rank_conv_weight(weight: torch.Tensor, rank: int) -> torch.Tensor:
    """The paper's tensor decomposition: ``reshape(U_r S_r V_r^T)``, same shape as ``weight``, rank <= ``r``."""
    a, b = truncated_svd(flatten_conv_weight(weight), rank)
    return (a @ b).reshape(weight.shape)


class LowRankConv2d(nn.Module):
    """A convolution whose flattened weight has rank ``r``, run as two smaller convolutions.

    ``first``: ``Conv2d(C_in, r, k, stride, padding, dilation, bias=False)``;
    ``second``: ``Conv2d(r, C_out, 1, bias=bias)``.
    Shapes: ``(N, C_in, H, W) -> (N, r, H', W') -> (N, C_out, H', W')``.
    """

    def __init__(
        self, in_channels: int, out_channels: int, rank: int, kernel_size: tuple[int, int],
        stride: tuple[int, int] = (1, 1), padding: tuple[int, int] | str = (0, 0),
        dilation: tuple[int, int] = (1, 1), bias: bool = True,
    ) -> None:
        super().__init__()
        self.rank = rank
        self.first = nn.Conv2d(in_channels, rank, kernel_size, stride, padding, dilation, bias=False)
        self.second = nn.Conv2d(rank, out_channels, 1, bias=bias)

    @classmethod
    def from_conv(
        cls, conv: nn.Conv2d, rank: int, factors: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> LowRankConv2d:
        """Factor ``conv``: ``factors = (A (C_out, r), B (r, C_in*kh*kw))``, or its truncated SVD if ``None``."""
        if conv.groups != 1 or conv.padding_mode != "zeros":
            raise ValueError("only ungrouped, zero-padded convolutions can be factored")
        a, b = factors if factors is not None else truncated_svd(flatten_conv_weight(conv.weight), rank)
        r = a.shape[1]
        new = cls(
            conv.in_channels, conv.out_channels, r, conv.kernel_size, conv.stride, conv.padding,
            conv.dilation, conv.bias is not None,
        ).to(device=conv.weight.device, dtype=conv.weight.dtype)
        with torch.no_grad():
            new.first.weight.copy_(b.reshape(r, conv.in_channels, *conv.kernel_size))
            new.second.weight.copy_(a.reshape(conv.out_channels, r, 1, 1))
            if conv.bias is not None:
                new.second.bias.copy_(conv.bias)
        return new

    def weight_matrix(self) -> torch.Tensor:
        """The equivalent flattened weight ``(C_out, C_in*kh*kw)`` (rank <= ``r``)."""
        return flatten_conv_weight(self.second.weight) @ flatten_conv_weight(self.first.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.second(self.first(x))


def dense_conv_params(conv: nn.Conv2d) -> int:
    """Weights of ``conv``: ``C_out * C_in/groups * kh * kw``."""
    return conv.weight.numel()


def factored_conv_params(conv: nn.Conv2d, rank: int) -> int:
    """Weights of the rank-``r`` two-conv form of ``conv``: ``r * (C_in kh kw + C_out)``."""
    rows, cols = conv.out_channels, conv.weight[0].numel()
    return min(rank, rows, cols) * (rows + cols)


@dataclass
class FactorReport:
    """What :func:`factorize_convs_` did to one convolution.

    Attributes:
        name: module path.
        shape: the original weight shape ``(C_out, C_in, kh, kw)``.
        rank: the rank used.
        dense_params / factored_params: weight counts before and after.
        error: relative squared error ``||W - W1 W2||^2 / ||W||^2`` of the factors used.
        optimal_error: the same for the truncated SVD (the optimum at this rank).
        method: ``"svd"`` or ``"anneal"``.
    """

    name: str
    shape: tuple[int, ...]
    rank: int
    dense_params: int
    factored_params: int
    error: float
    optimal_error: float
    method: str


def _factors(
    matrix: torch.Tensor, rank: int, method: str, generator: torch.Generator | None
) -> tuple[tuple[torch.Tensor, torch.Tensor], float, float]:
    optimal = svd_relative_error(matrix, rank)
    if method == "svd":
        return truncated_svd(matrix, rank), optimal, optimal
    if method == "anneal":
        fit = anneal_factorize(matrix, rank, generator=generator)
        return (fit.w1, fit.w2), fit.error, optimal
    raise ValueError(f"unknown factorization method {method!r} (svd or anneal)")


def factorize_convs_(
    model: nn.Module,
    rank: int,
    method: str = "svd",
    max_ratio: float = 0.75,
    generator: torch.Generator | None = None,
    skip: tuple[str, ...] = (),
) -> list[FactorReport]:
    """Replace every ``nn.Conv2d`` whose rank-``r`` form has at most ``max_ratio`` of its weights
    by a :class:`LowRankConv2d`, in place.

    Args:
        model: the network.
        rank: target rank ``r`` (clamped per layer to ``min(C_out, C_in kh kw)``).
        method: ``"svd"`` (truncated SVD, the optimum) or ``"anneal"`` (annealed L-BFGS from random factors).
        max_ratio: factor only where ``factored_params <= max_ratio * dense_params``.
        generator: random source for ``"anneal"``.
        skip: module paths never to factor.

    Returns:
        One :class:`FactorReport` per replaced convolution.
    """
    reports = []
    targets = [
        (name, module) for name, module in model.named_modules()
        if type(module) is nn.Conv2d and name not in skip and module.groups == 1 and module.padding_mode == "zeros"
    ]
    for name, conv in targets:
        dense, factored = dense_conv_params(conv), factored_conv_params(conv, rank)
        if factored > max_ratio * dense:
            continue
        matrix = flatten_conv_weight(conv.weight.detach())
        factors, error, optimal = _factors(matrix, rank, method, generator)
        replace_module_(model, name, LowRankConv2d.from_conv(conv, rank, factors))
        reports.append(FactorReport(name, tuple(conv.weight.shape), factors[0].shape[1], dense, factored, error, optimal, method))
    return reports


def low_rank_reconstruct_(
    model: nn.Module, rank: int, method: str = "svd", generator: torch.Generator | None = None
) -> list[FactorReport]:
    """The paper's form: every conv weight becomes its rank-``r`` approximation *in its original shape*.

    The network keeps its architecture, parameter count and FLOPs; only the weights change.
    """
    reports = []
    for name, conv in model.named_modules():
        if type(conv) is not nn.Conv2d:
            continue
        matrix = flatten_conv_weight(conv.weight.detach())
        if rank >= min(matrix.shape):
            continue
        (a, b), error, optimal = _factors(matrix, rank, method, generator)
        with torch.no_grad():
            conv.weight.copy_((a @ b).reshape(conv.weight.shape))
        n = conv.weight.numel()
        reports.append(FactorReport(name, tuple(conv.weight.shape), a.shape[1], n, n, error, optimal, method))
    return reports
