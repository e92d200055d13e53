"""Backend-neutral circuit description.

A :class:`Circuit` is a list of operations on ``n_qubits`` wires. Each gate angle
says where its value comes from:

* :class:`Param` ``(index, scale)``: ``scale * params[index]`` (a trainable weight),
* :class:`Input` ``(index, scale)``: ``scale * inputs[..., index]`` (a per-sample feature),
* :class:`Const` ``(value)``: a fixed number.

The same description is run by :class:`qcodec.quantum.simulator.TorchSimulator` and
turned into a PennyLane QNode by :mod:`qcodec.quantum.pennylane_backend`.

Wire 0 is the most significant bit of a basis-state index (PennyLane's convention).

>>> c = Circuit(2)
>>> c.angle_embedding([0, 1], wires=[0, 1], rotation="X").rot(0).cnot(0, 1).crz(1, 0)
Circuit(n_qubits=2, n_ops=5, n_params=4, n_inputs=2)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Union

from qcodec.quantum.gates import GATES, gate_spec


@dataclass(frozen=True)
class Param:
    """Angle ``scale * params[index]`` (trainable parameter)."""

    index: int
    scale: float = 1.0

    def __neg__(self) -> Param:
        return replace(self, scale=-self.scale)


@dataclass(frozen=True)
class Input:
    """Angle ``scale * inputs[..., index]`` (per-sample input feature)."""

    index: int
    scale: float = 1.0

    def __neg__(self) -> Input:
        return replace(self, scale=-self.scale)


@dataclass(frozen=True)
class Const:
    """Fixed angle ``value``."""

    value: float

    def __neg__(self) -> Const:
        return Const(-self.value)


Angle = Union[Param, Input, Const]
AngleLike = Union[Param, Input, Const, float, int, None]


@dataclass(frozen=True)
class Operation:
    """One gate: ``name`` (a key of :data:`qcodec.quantum.gates.GATES`), ``wires``, ``angles``."""

    name: str
    wires: tuple[int, ...]
    angles: tuple[Angle, ...] = ()

    @property
    def is_dynamic(self) -> bool:
        """Whether an angle depends on the per-sample inputs."""
        return any(isinstance(a, Input) for a in self.angles)

    def adjoint(self) -> list[Operation]:
        """Operations (in time order) implementing the inverse of this gate."""
        spec = GATES[self.name]
        if spec.self_inverse:
            return [self]
        if self.name == "Rot":  # Rot(a, b, c)^dagger = Rot(-c, -b, -a)
            return [replace(self, angles=tuple(-a for a in reversed(self.angles)))]
        if spec.n_angles == 1:
            return [replace(self, angles=(-self.angles[0],))]
        raise ValueError(f"no adjoint rule for gate {self.name}")  # pragma: no cover

    def rot_split(self) -> list[Operation]:
        """A ``Rot(a, b, c)`` as the operations ``RZ(a), RY(b), RZ(c)`` in time order (``RZ(c) RY(b) RZ(a)``)."""
        a, b, c = self.angles
        return [Operation("RZ", self.wires, (a,)), Operation("RY", self.wires, (b,)), Operation("RZ", self.wires, (c,))]


@dataclass(frozen=True)
class AmplitudeEmbedding:
    """State preparation ``|x> / ||x||`` of input features on ``wires`` (all in ``|0>``).

    ``features`` are the input indices (at most ``2**len(wires)``; the rest is filled
    with ``pad_with``). With ``normalize=False`` the features must already have unit norm.
    """

    wires: tuple[int, ...]
    features: tuple[int, ...]
    normalize: bool = True
    pad_with: float | None = None

    name = "AmplitudeEmbedding"


Op = Union[Operation, AmplitudeEmbedding]


def as_angle(angle: AngleLike, circuit: Circuit | None = None) -> Angle:
    """Turn a float into :class:`Const` and ``None`` into a fresh :class:`Param` of ``circuit``."""
    if isinstance(angle, (Param, Input, Const)):
        if not isinstance(angle, Const) and (not isinstance(angle.index, int) or angle.index < 0):
            raise ValueError(f"angle index must be a non-negative int, got {angle.index!r}")
        return angle
    if angle is None:
        if circuit is None:
            raise ValueError("angle None (a new trainable parameter) needs a circuit")
        return circuit.param()
    if isinstance(angle, (int, float)):
        return Const(float(angle))
    raise ValueError(f"an angle must be Param, Input, Const, a number or None; got {angle!r}")


@dataclass
class Circuit:
    """Mutable gate list on ``n_qubits`` wires; builder methods return ``self`` for chaining.

    Angles passed as ``None`` allocate a new trainable parameter (see :meth:`param`).
    """

    n_qubits: int
    ops: list[Op] = field(default_factory=list)
    _next_param: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.n_qubits, int) or self.n_qubits < 1:
            raise ValueError(f"n_qubits must be a positive int, got {self.n_qubits!r}")

    def __repr__(self) -> str:
        return (
            f"Circuit(n_qubits={self.n_qubits}, n_ops={len(self.ops)}, "
            f"n_params={self.n_params}, n_inputs={self.n_inputs})"
        )

    # ----------------------------------------------------------------- counts
    @property
    def n_params(self) -> int:
        """Length of the ``params`` vector the circuit reads (max index + 1, or allocated)."""
        idx = [a.index for op in self.ops if isinstance(op, Operation) for a in op.angles if isinstance(a, Param)]
        return max([self._next_param, *(i + 1 for i in idx)])

    @property
    def n_inputs(self) -> int:
        """Length of the per-sample ``inputs`` vector the circuit reads (max index + 1)."""
        idx: list[int] = []
        for op in self.ops:
            if isinstance(op, AmplitudeEmbedding):
                idx.extend(op.features)
            else:
                idx.extend(a.index for a in op.angles if isinstance(a, Input))
        return max(idx, default=-1) + 1

    def param(self) -> Param:
        """Allocate the next trainable parameter index and return it as a :class:`Param`."""
        p = Param(self.n_params)
        self._next_param = p.index + 1
        return p

    def params(self, k: int) -> list[Param]:
        """Allocate ``k`` new trainable parameters."""
        return [self.param() for _ in range(k)]

    # ---------------------------------------------------------------- builder
    def _check_wires(self, wires: Iterable[int]) -> tuple[int, ...]:
        ws = tuple(int(w) for w in wires)
        for w in ws:
            if not 0 <= w < self.n_qubits:
                raise ValueError(f"wire {w} out of range for a {self.n_qubits}-qubit circuit")
        if len(set(ws)) != len(ws):
            raise ValueError(f"wires must be distinct, got {ws}")
        return ws

    def add(self, name: str, wires: int | Sequence[int], *angles: AngleLike) -> Circuit:
        """Append gate ``name`` on ``wires`` with the given angles (``None`` = new parameter)."""
        spec = gate_spec(name)
        ws = self._check_wires([wires] if isinstance(wires, int) else wires)
        if len(ws) != spec.n_wires:
            raise ValueError(f"gate {name} acts on {spec.n_wires} wire(s), got wires {ws}")
        if not angles and spec.n_angles:
            angles = (None,) * spec.n_angles
        if len(angles) != spec.n_angles:
            raise ValueError(f"gate {name} takes {spec.n_angles} angle(s), got {len(angles)}")
        self.ops.append(Operation(name, ws, tuple(as_angle(a, self) for a in angles)))
        return self

    def rx(self, wire: int, angle: AngleLike = None) -> Circuit:
        """``RX(a) = exp(-i a X / 2) = [[cos a/2, -i sin a/2], [-i sin a/2, cos a/2]]``."""
        return self.add("RX", wire, angle)

    def ry(self, wire: int, angle: AngleLike = None) -> Circuit:
        """``RY(a) = exp(-i a Y / 2) = [[cos a/2, -sin a/2], [sin a/2, cos a/2]]``."""
        return self.add("RY", wire, angle)

    def rz(self, wire: int, angle: AngleLike = None) -> Circuit:
        """``RZ(a) = exp(-i a Z / 2) = diag(e^{-i a/2}, e^{i a/2})``."""
        return self.add("RZ", wire, angle)

    def rot(self, wire: int, phi: AngleLike = None, theta: AngleLike = None, omega: AngleLike = None) -> Circuit:
        """``Rot(phi, theta, omega) = RZ(omega) RY(theta) RZ(phi)`` (PennyLane's ``Rot``)."""
        return self.add("Rot", wire, phi, theta, omega)

    def phase_shift(self, wire: int, angle: AngleLike = None) -> Circuit:
        """``PhaseShift(a) = diag(1, e^{i a})``."""
        return self.add("PhaseShift", wire, angle)

    def h(self, wire: int) -> Circuit:
        """Hadamard ``[[1, 1], [1, -1]] / sqrt(2)``."""
        return self.add("Hadamard", wire)

    def x(self, wire: int) -> Circuit:
        """Pauli X (bit flip)."""
        return self.add("PauliX", wire)

    def y(self, wire: int) -> Circuit:
        """Pauli Y ``[[0, -i], [i, 0]]``."""
        return self.add("PauliY", wire)

    def z(self, wire: int) -> Circuit:
        """Pauli Z ``diag(1, -1)``."""
        return self.add("PauliZ", wire)

    def cnot(self, control: int, target: int) -> Circuit:
        """CNOT: flips ``target`` when ``control`` is 1."""
        return self.add("CNOT", [control, target])

    def cz(self, control: int, target: int) -> Circuit:
        """CZ ``diag(1, 1, 1, -1)``."""
        return self.add("CZ", [control, target])

    def swap(self, a: int, b: int) -> Circuit:
        """SWAP of wires ``a`` and ``b``."""
        return self.add("SWAP", [a, b])

    def crx(self, control: int, target: int, angle: AngleLike = None) -> Circuit:
        """Controlled RX: ``diag(I, RX(a))``."""
        return self.add("CRX", [control, target], angle)

    def cry(self, control: int, target: int, angle: AngleLike = None) -> Circuit:
        """Controlled RY: ``diag(I, RY(a))``."""
        return self.add("CRY", [control, target], angle)

    def crz(self, control: int, target: int, angle: AngleLike = None) -> Circuit:
        """Controlled RZ: ``diag(1, 1, e^{-i a/2}, e^{i a/2})``."""
        return self.add("CRZ", [control, target], angle)

    def angle_embedding(
        self, features: Sequence[int] | None, wires: Sequence[int], rotation: str = "X", scale: float = 1.0
    ) -> Circuit:
        """Rotate wire ``wires[k]`` by ``scale * inputs[..., features[k]]`` about axis ``rotation``.

        Same as ``qml.AngleEmbedding(inputs[..., features] * scale, wires, rotation)``.
        ``features`` defaults to ``range(len(wires))``.
        """
        rotation = rotation.upper()
        if rotation not in ("X", "Y", "Z"):
            raise ValueError(f"rotation must be 'X', 'Y' or 'Z', got {rotation!r}")
        ws = self._check_wires(wires)
        feats = list(range(len(ws))) if features is None else [int(f) for f in features]
        if len(feats) > len(ws):
            raise ValueError(f"{len(feats)} features do not fit on {len(ws)} wires")
        for f, w in zip(feats, ws):
            self.add("R" + rotation, w, Input(f, scale))
        return self

    def amplitude_embedding(
        self,
        features: Sequence[int],
        wires: Sequence[int],
        normalize: bool = True,
        pad_with: float | None = None,
    ) -> Circuit:
        """Prepare ``inputs[..., features]`` (padded, normalised) as amplitudes of ``wires``.

        Must come before any other gate on ``wires`` and before any multi-qubit gate.
        """
        ws = self._check_wires(wires)
        feats = tuple(int(f) for f in features)
        if any(f < 0 for f in feats):
            raise ValueError("feature indices must be non-negative")
        dim = 2 ** len(ws)
        if len(feats) > dim or (len(feats) < dim and pad_with is None):
            raise ValueError(
                f"amplitude embedding on {len(ws)} wires needs {dim} features (or pad_with), got {len(feats)}"
            )
        self.ops.append(AmplitudeEmbedding(ws, feats, normalize, pad_with))
        return self

    # ----------------------------------------------------------- composition
    def copy(self) -> Circuit:
        """Shallow copy (operations are immutable)."""
        return Circuit(self.n_qubits, list(self.ops), self._next_param)

    def compose(self, other: Circuit) -> Circuit:
        """New circuit: this one followed by ``other`` (same wires, shared parameter indices)."""
        if other.n_qubits != self.n_qubits:
            raise ValueError(f"cannot compose {self.n_qubits}- and {other.n_qubits}-qubit circuits")
        return Circuit(self.n_qubits, [*self.ops, *other.ops], max(self._next_param, other._next_param))

    def adjoint(self) -> Circuit:
        """The inverse circuit ``U^dagger`` (reversed order, inverted gates, same parameters).

        Raises ``ValueError`` if the circuit contains an amplitude embedding.
        """
        ops: list[Op] = []
        for op in reversed(self.ops):
            if isinstance(op, AmplitudeEmbedding):
                raise ValueError("a circuit with an amplitude embedding has no adjoint")
            ops.extend(op.adjoint())
        return Circuit(self.n_qubits, ops, self._next_param)
