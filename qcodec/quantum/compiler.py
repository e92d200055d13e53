"""Compile a :class:`~qcodec.quantum.circuit.Circuit` into simulator steps.

The compiled :class:`Program` has three kinds of pieces:

* :class:`Prefix`: the single-qubit gates (and amplitude embeddings) before the first
  multi-qubit gate. Starting from ``|0...0>`` they leave a product state, which is built
  directly as a Kronecker product of per-wire vectors (per-sample where needed).
* :class:`StaticStep`: a run of gates whose angles depend only on trainable parameters
  or constants. It is either fused into one ``2**n x 2**n`` matrix per forward pass
  (applied as a single batched matmul) or applied block by block.
* :class:`DiagStep`: a run of diagonal gates (``RZ``, ``CRZ``, ``CZ``, ``PhaseShift``...)
  possibly depending on the inputs: one per-sample phase vector ``exp(i phi)`` with
  ``phi`` linear in the angles, applied as one elementwise multiply.

Input-dependent non-diagonal rotations are rewritten as ``R_P(x) = V RZ(x) V^dagger``
with a constant basis change ``V`` (``H`` for X, ``S H`` for Y); the constant ``V``'s join
the neighbouring static steps. A layer of per-sample single-qubit rotations on many
wires therefore costs one phase multiply (plus basis changes fused into the trainable
unitaries around it) instead of one per-sample 2x2 product per wire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

import numpy as np

from qcodec.quantum.circuit import AmplitudeEmbedding, Circuit, Const, Input, Op, Operation, Param
from qcodec.quantum.gates import BASIS_FROM_Z, BASIS_TO_Z, GATES


@dataclass
class Prefix:
    """Product-state preparation: per-wire single-qubit gates and amplitude embeddings."""

    wire_ops: dict[int, list[Operation]] = field(default_factory=dict)
    embeddings: list[AmplitudeEmbedding] = field(default_factory=list)


@dataclass
class KronBlock:
    """Single-qubit static gates, per wire in time order (different wires commute)."""

    wire_ops: dict[int, list[Operation]] = field(default_factory=dict)


@dataclass
class DiagBlock:
    """Static diagonal gates (they all commute)."""

    ops: list[Operation] = field(default_factory=list)


@dataclass
class PermBlock:
    """Constant permutation gates (CNOT, SWAP, PauliX) in time order."""

    ops: list[Operation] = field(default_factory=list)


@dataclass
class GateBlock:
    """One other static multi-qubit gate (applied with its dense matrix)."""

    op: Operation


Block = Union[KronBlock, DiagBlock, PermBlock, GateBlock]


@dataclass
class StaticStep:
    """Gates with parameter/constant angles only; ``constant`` if no trainable angle."""

    blocks: list[Block]
    constant: bool


@dataclass
class DiagStep:
    """Diagonal gates with any angles, applied as one phase multiply."""

    ops: list[Operation]


Step = Union[StaticStep, DiagStep]


@dataclass
class Program:
    """Compiled circuit: optional product-state prefix, then steps in order."""

    n_qubits: int
    prefix: Prefix | None
    steps: list[Step]


# ------------------------------------------------------------------ helpers
def _const_op(name: str, wire: int, angles: tuple[float, ...]) -> Operation:
    return Operation(name, (wire,), tuple(Const(a) for a in angles))


def _is_perm(op: Operation) -> bool:
    return GATES[op.name].perm is not None


def local_index(n_qubits: int, wires: tuple[int, ...]) -> np.ndarray:
    """For each full basis index, the index of the bits on ``wires`` (``wires[0]`` = MSB)."""
    k = np.arange(2**n_qubits)
    out = np.zeros_like(k)
    for w in wires:
        out = (out << 1) | ((k >> (n_qubits - 1 - w)) & 1)
    return out


def full_permutation(n_qubits: int, ops: list[Operation]) -> np.ndarray:
    """Index ``perm`` with ``new_state = state[..., perm]`` for permutation gates in time order."""
    perm = np.arange(2**n_qubits)
    for op in ops:
        loc = local_index(n_qubits, op.wires)
        g = np.asarray(GATES[op.name].perm)[loc]  # source local index for each target
        src = np.arange(2**n_qubits)
        for j, w in enumerate(op.wires):  # replace the bits on op.wires with those of g
            bit = (g >> (len(op.wires) - 1 - j)) & 1
            shift = n_qubits - 1 - w
            src = (src & ~(1 << shift)) | (bit << shift)
        perm = perm[src]
    return perm


def diag_terms(n_qubits: int, ops: list[Operation]) -> tuple[list, np.ndarray]:
    """Split diagonal gates into ``(angle, coefficient vector (2**n,))`` terms plus a constant.

    The phase of the combined diagonal is ``sum(value(angle) * coeff) + const``.
    """
    terms: list = []
    const = np.zeros(2**n_qubits)
    for op in ops:
        spec = GATES[op.name]
        loc = local_index(n_qubits, op.wires)
        const += np.asarray(spec.diag_const)[loc]
        for angle, co in zip(op.angles, spec.diag_coeffs or ()):
            vec = np.asarray(co)[loc]
            if isinstance(angle, Const):
                const += angle.value * vec
            else:
                terms.append((angle, vec))
    return terms, const


def diag_plan(n_qubits: int, ops: list[Operation]) -> dict[str, np.ndarray]:
    """Index/scale/coefficient tables of the non-constant terms of :func:`diag_terms`."""
    terms, const = diag_terms(n_qubits, ops)
    plan: dict[str, np.ndarray] = {"const": const}
    for kind, key in ((Param, "p"), (Input, "in")):
        sel = [(a, v) for a, v in terms if isinstance(a, kind)]
        if sel:
            plan["idx_" + key] = np.array([a.index for a, _ in sel])
            plan["scale_" + key] = np.array([a.scale for a, _ in sel])
            plan["A_" + key] = np.stack([v for _, v in sel])
    return plan


# ------------------------------------------------------------------ cost model
MATMUL_SPEEDUP = 30.0
"""How many complex multiply-adds a matmul does in the time of one elementwise pass
over one amplitude (measured: (4096x64)@(64x64) complex64 in 1.4 ms vs 0.67 ms for an
elementwise product of 4096x64 on one CPU core)."""

WIRE_PASS_COST = 3.0
"""Cost of applying a 2x2 gate on one wire, in elementwise passes (einsum + copies)."""


def block_passes(block: Block) -> float:
    """Cost of applying ``block`` to a batch of states, in elementwise passes."""
    if isinstance(block, KronBlock):
        return WIRE_PASS_COST * len(block.wire_ops)
    return 2 * WIRE_PASS_COST if isinstance(block, GateBlock) else 1.0


def use_kron(block: Block, dim: int, first: bool) -> bool:
    """Multiply a single-qubit layer into a fused matrix as one Kronecker-product matrix
    (a ``dim**3`` matmul, free for the first block) rather than wire by wire."""
    if not isinstance(block, KronBlock):
        return False
    return first or dim**3 / MATMUL_SPEEDUP + 2 * dim * dim < block_passes(block) * dim * dim


# ------------------------------------------------------------------ lowering
def _lower_local_layer(layer: list[Operation], emit: list) -> None:
    """Emit a run of single-qubit gates, turning input-dependent rotations into diagonals."""
    if not any(op.is_dynamic for op in layer):
        emit.extend(("static", op) for op in layer)
        return
    # per wire: statics[0], slot 1, statics[1], ..., slot k, statics[k]; slot = (axis, [RZ-like ops])
    per_wire: dict[int, tuple[list[list[Operation]], list[tuple[str, list[Operation]]]]] = {}
    for op in layer:
        w = op.wires[0]
        statics, slots = per_wire.setdefault(w, ([[]], []))
        pieces = [op]
        if op.name == "Rot" and op.is_dynamic:
            pieces = op.rot_split()
        for p in pieces:
            if not p.is_dynamic:
                statics[-1].append(p)
                continue
            axis = GATES[p.name].axis or "Z"  # PhaseShift is diagonal: Z slot
            zop = p if axis == "Z" else Operation("RZ", (w,), p.angles)
            if slots and not statics[-1] and slots[-1][0] == axis:
                slots[-1][1].append(zop)  # same axis, nothing in between: rotations add up
            else:
                slots.append((axis, [zop]))
                statics.append([])
    rounds = max(len(slots) for _, slots in per_wire.values())
    for r in range(rounds + 1):
        if r > 0:
            for w, (_, slots) in per_wire.items():
                if r <= len(slots):
                    emit.extend(("dyn", op) for op in slots[r - 1][1])
        for w, (statics, slots) in per_wire.items():
            if r > len(slots):
                continue
            ops = [] if r == 0 else [_const_op(n, w, a) for n, a in BASIS_FROM_Z[slots[r - 1][0]]]
            ops += statics[r]
            if r < len(slots):
                ops += [_const_op(n, w, a) for n, a in BASIS_TO_Z[slots[r][0]]]
            emit.extend(("static", op) for op in ops)


def _lower(ops: list[Op]) -> list[tuple[str, Operation]]:
    emit: list[tuple[str, Operation]] = []
    layer: list[Operation] = []
    for op in ops:
        if isinstance(op, AmplitudeEmbedding):
            raise ValueError(
                "AmplitudeEmbedding must come before any multi-qubit gate and before other gates "
                "on its wires, and cannot be combined with an initial_state"
            )
        if len(op.wires) == 1:
            layer.append(op)
            continue
        _lower_local_layer(layer, emit)
        layer = []
        spec = GATES[op.name]
        if not op.is_dynamic:
            emit.append(("static", op))
        elif spec.is_diagonal:
            emit.append(("dyn", op))
        else:  # controlled X/Y rotation with an input angle: basis change on the target
            t = op.wires[1]
            emit.extend(("static", _const_op(n, t, a)) for n, a in BASIS_TO_Z[spec.axis])
            emit.append(("dyn", Operation("CRZ", op.wires, op.angles)))
            emit.extend(("static", _const_op(n, t, a)) for n, a in BASIS_FROM_Z[spec.axis])
    _lower_local_layer(layer, emit)
    return emit


def _block_wires(block: Block) -> set[int]:
    if isinstance(block, KronBlock):
        return set(block.wire_ops)
    if isinstance(block, GateBlock):
        return set(block.op.wires)
    return {w for op in block.ops for w in op.wires}


def _block_kind(op: Operation) -> type:
    spec = GATES[op.name]
    if _is_perm(op):
        return PermBlock
    if spec.is_diagonal and spec.n_wires > 1:
        return DiagBlock
    return KronBlock if spec.n_wires == 1 else GateBlock


def _blocks(ops: list[Operation]) -> list[Block]:
    """Group static gates into blocks, moving each gate back past blocks on other wires
    (they commute) into the earliest block of its kind it can reach."""
    blocks: list[Block] = []
    for op in ops:
        kind = _block_kind(op)
        single_diag = GATES[op.name].is_diagonal and len(op.wires) == 1
        target = None
        for i in range(len(blocks) - 1, -1, -1):
            b = blocks[i]
            if isinstance(b, kind) and kind is not GateBlock or (single_diag and isinstance(b, DiagBlock)):
                target = b
            if _block_wires(b) & set(op.wires) and not (GATES[op.name].is_diagonal and isinstance(b, DiagBlock)):
                break
        if target is None:
            target = GateBlock(op) if kind is GateBlock else kind()
            blocks.append(target)
        if isinstance(target, KronBlock):
            target.wire_ops.setdefault(op.wires[0], []).append(op)
        elif not isinstance(target, GateBlock):
            target.ops.append(op)
    return blocks


def _steps(stream: list[tuple[str, Operation]]) -> list[Step]:
    steps: list[Step] = []
    i = 0
    while i < len(stream):
        kind = stream[i][0]
        j = i
        while j < len(stream) and stream[j][0] == kind:
            j += 1
        ops = [op for _, op in stream[i:j]]
        if kind == "dyn":
            steps.append(DiagStep(ops))
        else:
            if all(GATES[op.name].is_diagonal for op in ops):
                steps.append(DiagStep(ops))
            else:
                const = not any(isinstance(a, Param) for op in ops for a in op.angles)
                steps.append(StaticStep(_blocks(ops), const))
        i = j
    merged: list[Step] = []
    for s in steps:  # adjacent diagonal steps commute into one
        if isinstance(s, DiagStep) and merged and isinstance(merged[-1], DiagStep):
            merged[-1] = DiagStep(merged[-1].ops + s.ops)
        else:
            merged.append(s)
    return merged


def _split_prefix(circuit: Circuit) -> tuple[Prefix, list[Op]]:
    prefix = Prefix()
    embedded: set[int] = set()
    for i, op in enumerate(circuit.ops):
        if isinstance(op, AmplitudeEmbedding):
            if embedded & set(op.wires) or set(prefix.wire_ops) & set(op.wires):
                return prefix, circuit.ops[i:]
            prefix.embeddings.append(op)
            embedded |= set(op.wires)
        elif len(op.wires) == 1 and op.wires[0] not in embedded:
            prefix.wire_ops.setdefault(op.wires[0], []).append(op)
        else:
            return prefix, circuit.ops[i:]
    return prefix, []


def compile_circuit(circuit: Circuit, from_zero: bool = True) -> Program:
    """Compile ``circuit``; ``from_zero`` uses a product-state prefix from ``|0...0>``.

    Raises ``ValueError`` for an amplitude embedding that is not in the prefix (or any
    amplitude embedding when ``from_zero`` is false, i.e. with a given initial state).
    """
    if from_zero:
        prefix, rest = _split_prefix(circuit)
    else:
        prefix, rest = None, list(circuit.ops)
    return Program(circuit.n_qubits, prefix, _steps(_lower(rest)))

