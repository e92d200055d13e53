"""Torch kernels and compile-time tables used by :mod:`qcodec.quantum.simulator`.

Row tensors ``x (P|1, R, 2**n)`` hold ``R`` state vectors per parameter set (or the
rows of a fused matrix ``U^T``); wire 0 is the most significant bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from qcodec.quantum.circuit import Angle, Const, Input, Operation, Param
from qcodec.quantum.gates import linear_form

Tensor = torch.Tensor


# ------------------------------------------------------------------ angle tables
@dataclass
class AngleTable:
    """``k`` angles as ``params @ w_param + inputs @ w_input + const`` (dense tiny matrices)."""

    w_param: np.ndarray | None  # (n_params, k)
    w_input: np.ndarray | None  # (n_inputs, k)
    const: np.ndarray  # (k,)


def angle_table(angles: Sequence[Angle], n_params: int, n_inputs: int) -> AngleTable:
    """Tabulate where each of ``angles`` comes from."""
    k = len(angles)
    wp, wi, c = np.zeros((n_params, k)), np.zeros((n_inputs, k)), np.zeros(k)
    for j, a in enumerate(angles):
        if isinstance(a, Param):
            wp[a.index, j] += a.scale
        elif isinstance(a, Input):
            wi[a.index, j] += a.scale
        else:
            assert isinstance(a, Const)
            c[j] += a.value
    return AngleTable(wp if wp.any() else None, wi if wi.any() else None, c)


@dataclass
class WirePosition:
    """The ``j``-th gate on every wire: ``M_w = A0 + cos(alpha t) A + sin(alpha t) B``."""

    angles: AngleTable  # one angle per wire (constant 0 for constant gates / identity)
    alpha: np.ndarray  # (n_w,)
    a0: np.ndarray  # (n_w, 2, 2) complex
    a: np.ndarray
    b: np.ndarray

    def __post_init__(self) -> None:
        # entry-major copies: matrices (2, 2, n_w) and first columns (2, n_w) (images of |0>)
        self.entries = tuple(np.ascontiguousarray(np.moveaxis(m, 0, -1)) for m in (self.a0, self.a, self.b))
        self.columns = tuple(np.ascontiguousarray(m[:, 0]) for m in self.entries)


@dataclass
class WirePlan:
    """Per-wire products of single-qubit gates, evaluated for all wires at once.

    Position ``j`` holds the ``j``-th gate of every wire (identity where a wire has
    fewer gates); any mix of gate types is evaluated with one formula (see
    :func:`qcodec.quantum.gates.linear_form`).
    """

    wires: list[int]
    positions: list[WirePosition]


def _unrolled(ops: list[Operation]) -> list[Operation]:
    out: list[Operation] = []
    for op in ops:
        out += op.rot_split() if op.name == "Rot" else [op]
    return out


def wire_plan(wire_ops: dict[int, list[Operation]], wires: Sequence[int], n_params: int, n_inputs: int) -> WirePlan:
    """Compile per-wire gate lists (``wire_ops``) over ``wires`` (missing = identity)."""
    wires = list(wires)
    seqs = [_unrolled(wire_ops.get(w, [])) for w in wires]
    identity = (0.0, np.eye(2, dtype=complex), np.zeros((2, 2), dtype=complex), np.zeros((2, 2), dtype=complex))
    positions = []
    for j in range(max((len(q) for q in seqs), default=0)):
        angles: list[Angle] = []
        forms = []
        for q in seqs:
            if j < len(q):
                forms.append(linear_form(q[j].name))
                angles.append(q[j].angles[0] if q[j].angles else Const(0.0))
            else:
                forms.append(identity)
                angles.append(Const(0.0))
        alpha, a0, a, b = (np.stack([f[i] for f in forms]) for i in range(4))
        positions.append(WirePosition(angle_table(angles, n_params, n_inputs), alpha.astype(float), a0, a, b))
    return WirePlan(wires, positions)


# ------------------------------------------------------------------ kernels
def as_tensor(t, name: str) -> Tensor | None:
    """``t`` as a tensor (``None`` stays ``None``); raises ``ValueError`` if impossible."""
    if t is None or isinstance(t, Tensor):
        return t
    try:
        return torch.as_tensor(t)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{name} must be a tensor or array, got {type(t).__name__}") from err


def matmul_rows(x: Tensor, m: Tensor) -> Tensor:
    """Rows ``x (P|1, B, D)`` times ``m (P|1, D, D)``: one ``mm`` or ``bmm``."""
    if m.shape[0] == 1:
        return (x.reshape(-1, x.shape[-1]) @ m[0]).reshape(x.shape)
    if x.shape[0] == 1:
        x = x.expand(m.shape[0], *x.shape[1:])
    return torch.bmm(x, m)


def kron_rows(mats: Tensor) -> Tensor:
    """``mats[..., 0, :, :] (x) mats[..., 1, :, :] (x) ...``: ``(L, n, 2, 2) -> (L, 2**n, 2**n)``."""
    first, *rest = mats.unbind(1)
    m = first
    for g in rest:
        p, a = max(m.shape[0], g.shape[0]), m.shape[-1]
        m = (m.reshape(m.shape[0], a, 1, a, 1) * g.reshape(g.shape[0], 1, 2, 1, 2)).reshape(p, 2 * a, 2 * a)
    return m


def kron_vectors(vecs: Sequence[Tensor]) -> Tensor:
    """Kronecker product of ``(..., d_i)`` vectors (broadcast leading dims) ``-> (..., prod d_i)``."""
    # from the least significant factor up: the backward reductions then run over the
    # long trailing axis or a short outer one, never a short trailing one
    out = vecs[-1]
    for v in reversed(vecs[:-1]):
        out = (v.unsqueeze(-1) * out.unsqueeze(-2)).flatten(-2)
    return out


def apply_1q(x: Tensor, n: int, wire: int, g: Tensor) -> Tensor:
    """Apply ``g (P|1, 2, 2)`` on ``wire`` of every row of ``x (P|1, R, 2**n)``."""
    p = max(x.shape[0], g.shape[0])
    xv = x.reshape(x.shape[0], x.shape[1], 2**wire, 2, 2 ** (n - wire - 1)).expand(p, -1, -1, -1, -1)
    out = torch.einsum("pij,prljk->prlik", g.expand(p, 2, 2), xv)
    return out.reshape(p, x.shape[1], 2**n)


def apply_2q(x: Tensor, n: int, wires: tuple[int, ...], g: Tensor) -> Tensor:
    """Apply ``g (P|1, 4, 4)`` on ``wires`` (first = MSB) of every row of ``x (P|1, R, 2**n)``."""
    p = max(x.shape[0], g.shape[0])
    xv = x.reshape(x.shape[0], x.shape[1], *([2] * n)).expand(p, x.shape[1], *([2] * n))
    xv = xv.movedim((2 + wires[0], 2 + wires[1]), (-2, -1))
    moved = xv.shape
    out = torch.matmul(xv.reshape(p, -1, 4), g.expand(p, 4, 4).transpose(-1, -2))
    out = out.reshape(moved).movedim((-2, -1), (2 + wires[0], 2 + wires[1]))
    return out.reshape(p, x.shape[1], 2**n)


class _PhaseMultiply(torch.autograd.Function):
    """``state * exp(i phi)`` with a hand-written backward (two complex products instead
    of autograd's chain through ``complex``, ``cos`` and ``sin``)."""

    @staticmethod
    def forward(ctx, state: Tensor, phi: Tensor) -> Tensor:  # type: ignore[override]
        d = torch.complex(torch.cos(phi), torch.sin(phi))
        out = state * d
        ctx.save_for_backward(d, out)
        ctx.shapes = state.shape, phi.shape
        return out

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, Tensor | None]:  # type: ignore[override]
        d, out = ctx.saved_tensors
        g_state = (grad * d.conj()).sum_to_size(ctx.shapes[0]) if ctx.needs_input_grad[0] else None
        g_phi = None
        if ctx.needs_input_grad[1]:  # d out / d phi = i out  =>  grad_phi = Im(conj(out) grad)
            o, g = torch.view_as_real(out), torch.view_as_real(grad)
            g_phi = torch.addcmul(-(o[..., 1] * g[..., 0]), o[..., 0], g[..., 1]).sum_to_size(ctx.shapes[1])
        return g_state, g_phi


def phase_multiply(state: Tensor, phi: Tensor) -> Tensor:
    """``state * exp(i phi)`` for complex ``state`` and real, broadcastable ``phi``."""
    return _PhaseMultiply.apply(state, phi)
