"""What to read out of a circuit: the state vector, basis-state probabilities, or Pauli
expectation values per wire, evaluated on a batched state tensor ``(..., 2**n)``.

Wire 0 is the most significant bit of the basis-state index (PennyLane's convention).

>>> import torch
>>> psi = torch.tensor([[1, 0, 0, 1]], dtype=torch.complex64) / 2 ** 0.5   # Bell state
>>> Probs().compute(psi, 2)
tensor([[0.5000, 0.0000, 0.0000, 0.5000]])
>>> Expval("Z", wires=[0, 1]).compute(psi, 2)
tensor([[0., 0.]])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Union

import torch

Tensor = torch.Tensor


def _check_wires(wires: Sequence[int] | None, n_qubits: int) -> tuple[int, ...]:
    ws = tuple(range(n_qubits)) if wires is None else tuple(int(w) for w in wires)
    if any(not 0 <= w < n_qubits for w in ws) or len(set(ws)) != len(ws):
        raise ValueError(f"measurement wires {ws} must be distinct and in [0, {n_qubits})")
    return ws


class _AbsSquare(torch.autograd.Function):
    """``|z|**2`` with a one-product backward (``2 grad z``)."""

    @staticmethod
    def forward(ctx, z: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(z)
        return torch.view_as_real(z).square().sum(-1)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:  # type: ignore[override]
        (z,) = ctx.saved_tensors
        return 2 * grad * z


def probabilities(state: Tensor) -> Tensor:
    """``|state|**2`` as a real tensor, shape ``(..., 2**n)``."""
    if not state.is_complex():
        raise ValueError("probabilities() needs a complex state vector")
    return _AbsSquare.apply(state)


@dataclass(frozen=True)
class State:
    """The complex state vector, shape ``(..., 2**n_qubits)``."""

    def shape(self, n_qubits: int) -> tuple[int, ...]:
        """Trailing shape of the measurement result."""
        return (2**n_qubits,)

    def compute(self, state: Tensor, n_qubits: int) -> Tensor:
        """Return ``state`` unchanged."""
        return state


@dataclass(frozen=True)
class Probs:
    """Basis-state probabilities of ``wires`` (default: all), shape ``(..., 2**len(wires))``.

    Entry ``k`` is the probability of reading bit string ``k`` on ``wires`` with
    ``wires[0]`` as the most significant bit, exactly as ``qml.probs(wires=wires)``.
    """

    wires: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.wires is not None:
            object.__setattr__(self, "wires", tuple(int(w) for w in self.wires))

    def shape(self, n_qubits: int) -> tuple[int, ...]:
        """Trailing shape of the measurement result."""
        return (2 ** len(_check_wires(self.wires, n_qubits)),)

    def compute(self, state: Tensor, n_qubits: int) -> Tensor:
        """Probabilities from ``state`` of shape ``(..., 2**n_qubits)``."""
        ws = _check_wires(self.wires, n_qubits)
        p = probabilities(state)
        if ws == tuple(range(n_qubits)):
            return p
        lead = p.shape[:-1]
        p = p.reshape(*lead, *([2] * n_qubits))
        others = [len(lead) + w for w in range(n_qubits) if w not in ws]
        if others:
            p = p.sum(dim=others)
        # remaining axes are the measured wires in increasing order; reorder to ``ws``
        kept = sorted(ws)
        p = p.permute(*range(len(lead)), *(len(lead) + kept.index(w) for w in ws))
        return p.reshape(*lead, 2 ** len(ws))


@dataclass(frozen=True)
class Expval:
    """Expectation of a Pauli operator on each wire, shape ``(..., len(wires))``.

    ``paulis`` is one of ``"X"``, ``"Y"``, ``"Z"`` for all wires, or one letter per wire.
    Column ``k`` equals ``qml.expval(qml.Pauli<paulis[k]>(wires[k]))``.
    """

    paulis: str | tuple[str, ...] = "Z"
    wires: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.wires is not None:
            object.__setattr__(self, "wires", tuple(int(w) for w in self.wires))
        ps = self.paulis
        ps = ps.upper() if isinstance(ps, str) and len(ps) == 1 else tuple(p.upper() for p in ps)
        if any(p not in ("X", "Y", "Z") for p in ps):
            raise ValueError(f"Pauli observables must be 'X', 'Y' or 'Z', got {self.paulis!r}")
        object.__setattr__(self, "paulis", ps)

    def observables(self, n_qubits: int) -> list[tuple[str, int]]:
        """``(pauli, wire)`` pairs, one per output column."""
        ws = _check_wires(self.wires, n_qubits)
        ps = [self.paulis] * len(ws) if isinstance(self.paulis, str) else list(self.paulis)
        if len(ps) != len(ws):
            raise ValueError(f"{len(ps)} Pauli observables for {len(ws)} wires")
        return list(zip(ps, ws))

    def shape(self, n_qubits: int) -> tuple[int, ...]:
        """Trailing shape of the measurement result."""
        return (len(self.observables(n_qubits)),)

    def compute(self, state: Tensor, n_qubits: int) -> Tensor:
        """Expectation values from ``state`` of shape ``(..., 2**n_qubits)``."""
        obs = self.observables(n_qubits)
        lead = state.shape[:-1]
        cols: dict[int, Tensor] = {}
        z_cols = [k for k, (p, _) in enumerate(obs) if p == "Z"]
        if z_cols:
            # <Z_w> = sum_k p_k (1 - 2 bit_w(k)): one matmul with a sign table for all Z wires
            idx = torch.arange(2**n_qubits, device=state.device)
            shifts = torch.tensor([n_qubits - 1 - obs[k][1] for k in z_cols], device=state.device)
            bits = (idx[:, None] >> shifts[None, :]) & 1
            signs = (1 - 2 * bits).to(state.real.dtype)
            z = probabilities(state) @ signs
            for j, k in enumerate(z_cols):
                cols[k] = z[..., j]
        for k, (p, w) in enumerate(obs):
            if p == "Z":
                continue
            s = state.reshape(*lead, 2**w, 2, 2 ** (n_qubits - w - 1))
            rho01 = (s[..., 0, :] * s[..., 1, :].conj()).sum(dim=(-1, -2))
            cols[k] = 2 * rho01.real if p == "X" else -2 * rho01.imag
        return torch.stack([cols[k] for k in range(len(obs))], dim=-1)


Measurement = Union[State, Probs, Expval]


def fidelity(a: Tensor, b: Tensor) -> Tensor:
    """``|<a|b>|**2`` of (batched) state vectors ``(..., 2**n) -> (...)``."""
    return probabilities((a.conj() * b).sum(-1, keepdim=True))[..., 0]
