"""Quantum circuits described once, run by a fast batched torch simulator or by PennyLane.

* :mod:`~qcodec.quantum.circuit`: :class:`Circuit` builder; angles come from
  :class:`Param` (trainable), :class:`Input` (per-sample feature) or :class:`Const`.
* :mod:`~qcodec.quantum.simulator`: :class:`TorchSimulator` (batched state vectors,
  fused trainable unitaries, autograd w.r.t. params and inputs).
* :mod:`~qcodec.quantum.measurements`: :class:`State`, :class:`Probs`, :class:`Expval`.
* :mod:`~qcodec.quantum.ansatz`: :func:`quinr_circuit` and its building blocks.
* :mod:`~qcodec.quantum.pennylane_backend`: :func:`make_qnode`, :class:`PennyLaneSimulator`
  (imported lazily: importing PennyLane takes seconds).

>>> import torch
>>> from qcodec.quantum import Probs, TorchSimulator, quinr_circuit
>>> circuit = quinr_circuit(n_qubits=6, n_layers=4, embed_size=12)
>>> sim = TorchSimulator(circuit, Probs())
>>> sim(torch.randn(circuit.n_params), torch.randn(32, 12)).shape
torch.Size([32, 64])
"""

from typing import Any

from qcodec.quantum.ansatz import folded_angle_embedding, quinr_circuit, sim_entangling_layer
from qcodec.quantum.circuit import AmplitudeEmbedding, Angle, Circuit, Const, Input, Operation, Param
from qcodec.quantum.gates import GATES, gate_matrix
from qcodec.quantum.measurements import Expval, Measurement, Probs, State, fidelity, probabilities
from qcodec.quantum.simulator import TorchSimulator, simulate

__all__ = [
    "GATES",
    "AmplitudeEmbedding",
    "Angle",
    "Circuit",
    "Const",
    "Expval",
    "Input",
    "Measurement",
    "Operation",
    "Param",
    "PennyLaneSimulator",
    "Probs",
    "State",
    "TorchSimulator",
    "fidelity",
    "folded_angle_embedding",
    "gate_matrix",
    "make_qnode",
    "probabilities",
    "quinr_circuit",
    "sim_entangling_layer",
    "simulate",
]

_LAZY = {"make_qnode", "PennyLaneSimulator", "apply_circuit"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from qcodec.quantum import pennylane_backend

        return getattr(pennylane_backend, name)
    raise AttributeError(f"module 'qcodec.quantum' has no attribute {name!r}")
