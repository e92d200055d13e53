"""Gate table: one :class:`GateSpec` per supported gate name.

Every gate is described once here and used by the circuit builder (validation,
adjoint), the torch simulator (matrices, diagonal phases, permutations) and the
PennyLane backend (operation name).

Matrices follow PennyLane's conventions exactly (``qml.matrix`` of the gate with
the same angles), with the first wire of a multi-qubit gate as the most significant
bit of the local index.

>>> import torch
>>> from qcodec.quantum.gates import GATES
>>> GATES["RX"].matrix([torch.tensor(0.0)]).shape
torch.Size([2, 2])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

Tensor = torch.Tensor
MatrixFn = Callable[[Sequence[Tensor]], Tensor]


@dataclass(frozen=True)
class GateSpec:
    """Static description of one gate type.

    Attributes:
        name: PennyLane operation name (``"RX"``, ``"CNOT"``, ...).
        n_wires: number of wires the gate acts on.
        n_angles: number of angle parameters.
        matrix: ``matrix(angles) -> (..., 2**n_wires, 2**n_wires)`` complex tensor; each
            angle is a real tensor of shape ``(...)`` (all broadcastable together).
        diag_coeffs: for diagonal gates, the phase is
            ``sum_k angle_k * diag_coeffs[k] + diag_const`` (one value per local basis state).
        diag_const: constant part of the diagonal phase (see ``diag_coeffs``).
        perm: for constant permutation gates, ``out[i] = in[perm[i]]`` on the local index.
        axis: for rotations ``exp(-i angle P / 2)`` (possibly controlled on the first wire),
            the Pauli ``P`` of the (target) rotation: ``"X"``, ``"Y"`` or ``"Z"``.
        self_inverse: the gate is its own inverse (no angles).
    """

    name: str
    n_wires: int
    n_angles: int
    matrix: MatrixFn
    diag_coeffs: tuple[tuple[float, ...], ...] | None = None
    diag_const: tuple[float, ...] | None = None
    perm: tuple[int, ...] | None = None
    axis: str | None = None
    self_inverse: bool = False

    @property
    def is_diagonal(self) -> bool:
        """Whether the gate matrix is diagonal for every angle."""
        return self.diag_const is not None


def _real_dtype(angles: Sequence[Tensor]) -> torch.dtype:
    if not angles:
        return torch.float64
    dtype = torch.float32
    for a in angles:
        dtype = torch.promote_types(dtype, a.dtype)
    return dtype


def complex_dtype(dtype: torch.dtype) -> torch.dtype:
    """The complex dtype matching real ``dtype`` (complex128 for float64, else complex64)."""
    return torch.complex128 if dtype == torch.float64 else torch.complex64


def _mat2(re: Sequence[Tensor | float], im: Sequence[Tensor | float]) -> Tensor:
    """``(..., 2, 2)`` complex matrix from row-major real and imaginary entries."""
    like = next(e for e in (*re, *im) if isinstance(e, Tensor))
    z = torch.zeros_like(like)
    r = torch.stack([e if isinstance(e, Tensor) else z for e in re], -1)
    i = torch.stack([e if isinstance(e, Tensor) else z for e in im], -1)
    return torch.complex(r, i).unflatten(-1, (2, 2))


def _rx(angles: Sequence[Tensor]) -> Tensor:
    (t,) = angles
    c, s = torch.cos(t / 2), torch.sin(t / 2)
    return _mat2([c, 0.0, 0.0, c], [0.0, -s, -s, 0.0])


def _ry(angles: Sequence[Tensor]) -> Tensor:
    (t,) = angles
    c, s = torch.cos(t / 2), torch.sin(t / 2)
    return _mat2([c, -s, s, c], [0.0, 0.0, 0.0, 0.0])


def _phase(p: Tensor) -> Tensor:
    return torch.complex(torch.cos(p), torch.sin(p))


def _rot(angles: Sequence[Tensor]) -> Tensor:
    phi, theta, omega = torch.broadcast_tensors(*angles)
    c, s = torch.cos(theta / 2), torch.sin(theta / 2)
    p_plus, p_minus = (phi + omega) / 2, (phi - omega) / 2
    cp, sp, cm, sm = torch.cos(p_plus), torch.sin(p_plus), torch.cos(p_minus), torch.sin(p_minus)
    # [[e^{-i p+} c, -e^{i p-} s], [e^{-i p-} s, e^{i p+} c]]
    return _mat2([cp * c, -cm * s, cm * s, cp * c], [-sp * c, -sm * s, -sm * s, sp * c])


def _controlled(target: MatrixFn) -> MatrixFn:
    def matrix(angles: Sequence[Tensor]) -> Tensor:
        u = target(angles)
        out = torch.zeros(*u.shape[:-2], 4, 4, dtype=u.dtype, device=u.device)
        out[..., 0, 0] = 1
        out[..., 1, 1] = 1
        out[..., 2:, 2:] = u
        return out

    return matrix


def _diag_matrix(coeffs: tuple[tuple[float, ...], ...], const: tuple[float, ...]) -> MatrixFn:
    def matrix(angles: Sequence[Tensor]) -> Tensor:
        dtype = _real_dtype(angles)
        ph = torch.tensor(const, dtype=dtype, device=angles[0].device if angles else None)
        for a, co in zip(angles, coeffs):
            ph = ph + a.to(dtype)[..., None] * torch.tensor(co, dtype=dtype, device=a.device)
        return torch.diag_embed(_phase(ph))

    return matrix


def _const_matrix(rows: Sequence[Sequence[complex]]) -> MatrixFn:
    def matrix(angles: Sequence[Tensor]) -> Tensor:
        return torch.tensor(rows, dtype=torch.complex128)

    return matrix


def _perm_matrix(perm: tuple[int, ...]) -> list[list[complex]]:
    return [[1.0 if perm[i] == j else 0.0 for j in range(len(perm))] for i in range(len(perm))]


_H = 1 / math.sqrt(2)
_PI = math.pi
_RZ_CO = ((-0.5, 0.5),)
_CRZ_CO = ((0.0, 0.0, -0.5, 0.5),)


def _diag(name: str, n_wires: int, coeffs: tuple, const: tuple, axis: str | None = None) -> GateSpec:
    return GateSpec(
        name, n_wires, len(coeffs), _diag_matrix(coeffs, const), coeffs, const, axis=axis,
        self_inverse=not coeffs,
    )


def _perm(name: str, perm: tuple[int, ...]) -> GateSpec:
    n_wires = int(math.log2(len(perm)))
    return GateSpec(name, n_wires, 0, _const_matrix(_perm_matrix(perm)), perm=perm, self_inverse=True)


GATES: dict[str, GateSpec] = {
    g.name: g
    for g in [
        GateSpec("RX", 1, 1, _rx, axis="X"),
        GateSpec("RY", 1, 1, _ry, axis="Y"),
        _diag("RZ", 1, _RZ_CO, (0.0, 0.0), axis="Z"),
        GateSpec("Rot", 1, 3, _rot),
        _diag("PhaseShift", 1, ((0.0, 1.0),), (0.0, 0.0)),
        GateSpec("Hadamard", 1, 0, _const_matrix([[_H, _H], [_H, -_H]]), self_inverse=True),
        _perm("PauliX", (1, 0)),
        GateSpec("PauliY", 1, 0, _const_matrix([[0, -1j], [1j, 0]]), self_inverse=True),
        _diag("PauliZ", 1, (), (0.0, _PI)),
        _perm("CNOT", (0, 1, 3, 2)),
        _perm("SWAP", (0, 2, 1, 3)),
        _diag("CZ", 2, (), (0.0, 0.0, 0.0, _PI)),
        GateSpec("CRX", 2, 1, _controlled(_rx), axis="X"),
        GateSpec("CRY", 2, 1, _controlled(_ry), axis="Y"),
        _diag("CRZ", 2, _CRZ_CO, (0.0, 0.0, 0.0, 0.0), axis="Z"),
    ]
}
"""All supported gates, by PennyLane name."""


def gate_spec(name: str) -> GateSpec:
    """Look up a gate by name; raises ``ValueError`` for an unknown name."""
    try:
        return GATES[name]
    except KeyError:
        raise ValueError(f"unknown gate {name!r}; supported gates: {sorted(GATES)}") from None


def gate_matrix(name: str, angles: Sequence[Tensor | float] = (), dtype: torch.dtype | None = None) -> Tensor:
    """Matrix of gate ``name`` for the given angles, shape ``(..., 2**k, 2**k)``.

    Args:
        name: gate name (a key of :data:`GATES`).
        angles: one real tensor (any broadcastable shape ``(...)``) or float per angle.
        dtype: complex dtype of the result (default: complex128 for float64 angles,
            else complex64; constant gates default to complex128).

    >>> gate_matrix("CNOT").real.tolist()[3]
    [0.0, 0.0, 1.0, 0.0]
    """
    spec = gate_spec(name)
    if len(angles) != spec.n_angles:
        raise ValueError(f"gate {name} takes {spec.n_angles} angle(s), got {len(angles)}")
    ts = [a if isinstance(a, Tensor) else torch.tensor(float(a), dtype=torch.float64) for a in angles]
    m = spec.matrix(ts)
    if dtype is None and ts:
        dtype = complex_dtype(_real_dtype(ts))
    return m.to(dtype) if dtype is not None else m


# Basis changes V with R_P(t) = V RZ(t) V^dagger, as lists of constant gates in time order.
# RX = H RZ H;  RY = (S H) RZ (S H)^dagger with S = PhaseShift(pi/2).
BASIS_TO_Z: dict[str, list[tuple[str, tuple[float, ...]]]] = {
    "X": [("Hadamard", ())],
    "Y": [("PhaseShift", (-_PI / 2,)), ("Hadamard", ())],
    "Z": [],
}
"""Gates (in time order) applying ``V^dagger``, which maps the ``P`` axis onto ``Z``."""

BASIS_FROM_Z: dict[str, list[tuple[str, tuple[float, ...]]]] = {
    "X": [("Hadamard", ())],
    "Y": [("Hadamard", ()), ("PhaseShift", (_PI / 2,))],
    "Z": [],
}
"""Gates (in time order) applying ``V``, which maps ``Z`` back onto the ``P`` axis."""


def linear_form(name: str) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """``(alpha, A0, A, B)`` with ``matrix(t) = A0 + cos(alpha t) A + sin(alpha t) B``.

    Defined for every single-qubit gate except ``Rot`` (decompose it into RZ, RY, RZ);
    lets the simulator evaluate many different single-qubit gates with one formula.
    """
    spec = gate_spec(name)
    if spec.n_wires != 1 or spec.n_angles > 1:
        raise ValueError(f"gate {name} has no single-angle linear form")
    zero = np.zeros((2, 2), dtype=complex)
    if spec.n_angles == 0:
        return 0.0, spec.matrix([]).numpy(), zero, zero
    if name == "PhaseShift":  # diag(1, cos t + i sin t)
        return 1.0, np.diag([1.0, 0.0]).astype(complex), np.diag([0.0, 1.0]).astype(complex), np.diag([0, 1j])
    pauli = {"X": [[0, 1], [1, 0]], "Y": [[0, -1j], [1j, 0]], "Z": [[1, 0], [0, -1]]}[spec.axis or ""]
    return 0.5, zero, np.eye(2, dtype=complex), -1j * np.asarray(pauli, dtype=complex)
