"""PennyLane backend: the same :class:`~qcodec.quantum.circuit.Circuit` as a QNode.

Used as the reference for the torch simulator (tests, benchmark) and to run circuits
on any PennyLane device (``"default.qubit"``, ``"lightning.qubit"``, hardware plugins).
Per-sample inputs use PennyLane parameter broadcasting: ``inputs (B, n_inputs)`` makes
every input-dependent gate angle a length-``B`` vector.

>>> import torch
>>> from qcodec.quantum import Circuit, Input, Probs
>>> c = Circuit(2).ry(0, Input(0)).cnot(0, 1)
>>> qnode = make_qnode(c, Probs())
>>> qnode(None, torch.tensor([[torch.pi / 2]], dtype=torch.float64)).round(decimals=4)
tensor([[0.5000, 0.0000, 0.0000, 0.5000]], dtype=torch.float64)
"""

from __future__ import annotations

import math
from typing import Any

import pennylane as qml
import torch

from qcodec.quantum.circuit import AmplitudeEmbedding, Circuit, Const, Param
from qcodec.quantum.measurements import Expval, Measurement, Probs, State

Tensor = torch.Tensor

_PAULIS = {"X": qml.PauliX, "Y": qml.PauliY, "Z": qml.PauliZ}


def _angle(a, params, inputs):
    if isinstance(a, Const):
        return a.value
    if isinstance(a, Param):
        if params is None:
            raise ValueError("the circuit needs params")
        v = params[a.index]
    else:
        if inputs is None:
            raise ValueError("the circuit needs inputs")
        v = inputs[..., a.index]
    return v if a.scale == 1.0 else v * a.scale


def apply_circuit(circuit: Circuit, params: Any = None, inputs: Any = None) -> None:
    """Queue the circuit's gates on the active PennyLane tape (call inside a QNode).

    Args:
        circuit: the circuit description.
        params: trainable parameters ``(n_params,)``.
        inputs: per-sample features ``(n_inputs,)`` or ``(B, n_inputs)`` (broadcast).
    """
    for op in circuit.ops:
        if isinstance(op, AmplitudeEmbedding):
            if inputs is None:
                raise ValueError("the circuit needs inputs")
            qml.AmplitudeEmbedding(
                inputs[..., list(op.features)], wires=list(op.wires), pad_with=op.pad_with, normalize=op.normalize
            )
        else:
            vals = [_angle(a, params, inputs) for a in op.angles]
            like = next((v for v in vals if isinstance(v, Tensor)), None)
            if like is not None:  # PennyLane cannot mix floats and tensors in e.g. Rot
                vals = [v if isinstance(v, Tensor) else torch.tensor(v, dtype=like.dtype) for v in vals]
            getattr(qml, op.name)(*vals, wires=list(op.wires))


def pennylane_measurements(measurement: Measurement, n_qubits: int) -> list:
    """PennyLane measurement processes equivalent to ``measurement``."""
    if isinstance(measurement, State):
        return [qml.state()]
    if isinstance(measurement, Probs):
        wires = list(range(n_qubits)) if measurement.wires is None else list(measurement.wires)
        return [qml.probs(wires=wires)]
    if isinstance(measurement, Expval):
        return [qml.expval(_PAULIS[p](w)) for p, w in measurement.observables(n_qubits)]
    raise ValueError(f"unsupported measurement {measurement!r}")


def make_qnode(
    circuit: Circuit,
    measurement: Measurement | None = None,
    device: str | Any = "default.qubit",
    *,
    interface: str = "torch",
    diff_method: str = "backprop",
    **qnode_kwargs: Any,
) -> qml.QNode:
    """Build ``qnode(params, inputs=None, initial_state=None)`` running ``circuit``.

    Args:
        circuit: the circuit description.
        measurement: :class:`State` (default), :class:`Probs` or :class:`Expval`; an
            ``Expval`` returns PennyLane's tuple of one tensor per wire.
        device: a PennyLane device name (created with ``circuit.n_qubits`` wires) or a device.
        interface: PennyLane interface (``"torch"``).
        diff_method: e.g. ``"backprop"`` (default.qubit), ``"adjoint"``, ``"parameter-shift"``.
        **qnode_kwargs: passed to :class:`qml.QNode`.
    """
    measurement = measurement if measurement is not None else State()
    dev = qml.device(device, wires=circuit.n_qubits) if isinstance(device, str) else device
    n = circuit.n_qubits

    def qfunc(params=None, inputs=None, initial_state=None):
        if initial_state is not None:
            qml.StatePrep(initial_state, wires=list(range(n)))
        apply_circuit(circuit, params, inputs)
        ms = pennylane_measurements(measurement, n)
        return ms[0] if len(ms) == 1 else tuple(ms)

    return qml.QNode(qfunc, dev, interface=interface, diff_method=diff_method, **qnode_kwargs)


class PennyLaneSimulator:
    """A QNode with :class:`~qcodec.quantum.simulator.TorchSimulator`'s call convention.

    ``sim(params (n_params,), inputs (*batch, n_inputs), initial_state (*batch, 2**n))``
    returns a tensor ``(*batch, *measurement_shape)`` laid out exactly like the torch
    simulator's output (Pauli expectations stacked on the last axis).
    """

    def __init__(
        self,
        circuit: Circuit,
        measurement: Measurement | None = None,
        device: str | Any = "default.qubit",
        *,
        diff_method: str = "backprop",
        **qnode_kwargs: Any,
    ) -> None:
        self.circuit = circuit.copy()
        self.measurement = measurement if measurement is not None else State()
        self.qnode = make_qnode(self.circuit, self.measurement, device, diff_method=diff_method, **qnode_kwargs)

    def __call__(self, params: Tensor | None = None, inputs: Tensor | None = None,
                 initial_state: Tensor | None = None) -> Tensor:
        """Run the QNode; see the class docstring for shapes."""
        if params is not None and params.dim() != 1:
            raise ValueError("PennyLaneSimulator takes one parameter vector (n_params,)")
        ref = inputs if inputs is not None else initial_state
        tail = 0 if ref is None else 1
        batch = () if ref is None else tuple(ref.shape[: ref.dim() - tail])
        flat = len(batch) > 0
        b = math.prod(batch)
        x = None if inputs is None else (inputs.reshape(b, -1) if flat else inputs)
        s = None if initial_state is None else (initial_state.reshape(b, -1) if flat else initial_state)
        out = self.qnode(params, x, s)
        if isinstance(self.measurement, Expval):
            out = torch.stack(list(out), dim=-1) if isinstance(out, (tuple, list)) else out[..., None]
        if flat and out.dim() == len(self.measurement.shape(self.circuit.n_qubits)):
            out = out.expand(b, *out.shape)  # nothing was broadcast: same result for every sample
        return out.reshape(*batch, *out.shape[1:]) if flat else out
