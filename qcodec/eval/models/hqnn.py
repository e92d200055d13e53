"""HQNN-Parallel (Senokosov et al. 2024, Sec. 2.2) and its classical counterparts.

The quantum layers are :class:`~qcodec.quantum.circuit.Circuit` descriptions run by the
batched :class:`~qcodec.quantum.simulator.TorchSimulator` (``backend="torch"``, the default)
or by a PennyLane QNode (``backend="pennylane"``); :func:`circuit_runner` is the one
place where the backend is chosen. Quanvolutional models are in :mod:`qcodec.eval.models.quanv`.

HQNN-Parallel on MNIST (``n = q * c = 20``)::

    image (B, 1, 28, 28)
      -> [conv 5x5 pad 2 -> BN -> ReLU -> maxpool 2] x 2     (16, then 32 channels)
      -> flatten (B, 1568) -> dense 1568 -> n -> BN -> ReLU
      -> split into c chunks of q angles -> c PQCs in parallel -> concat (B, n)
      -> BN -> ReLU -> dense n -> classes (logits)

    PQC on q qubits:  RX(x_j) on wire j  ->  i x [Rot(phi, theta, omega) on every wire,
                      CNOT ring of range r_l]  ->  <Y_j> on every wire

45,194 parameters, 180 of them quantum (``q * 3i * c`` = 5 * 9 * 4), exactly Table 1.

>>> count_parameters(hqnn_parallel(MNIST_INPUT))
ParamCount(classical=45014, quantum=180)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from qcodec.errors import InvalidInputError
from qcodec.quantum.circuit import Circuit
from qcodec.quantum.measurements import Expval, Measurement
from qcodec.quantum.simulator import TorchSimulator

Tensor = torch.Tensor
Runner = Callable[[Tensor, Tensor], Tensor]

BACKENDS: tuple[str, ...] = ("torch", "pennylane")
"""Quantum backends: qcodec's batched torch simulator, or a PennyLane ``default.qubit`` QNode."""


@dataclass(frozen=True)
class InputSpec:
    """What a data set feeds a classifier: ``(channels, size, size)`` images and ``n_classes``.

    ``conv_channels`` are the output channels of HQNN-Parallel's conv blocks (each halves
    the image size): two blocks for 28x28 MNIST and 64x64 Medical MNIST, three for CIFAR-10,
    as in the paper.
    """

    channels: int
    size: int
    n_classes: int
    conv_channels: tuple[int, ...] = (16, 32)

    @property
    def n_features(self) -> int:
        """Length of the flattened conv output: ``conv_channels[-1] * (size / 2**blocks)**2``."""
        side = self.size // 2 ** len(self.conv_channels)
        return self.conv_channels[-1] * side * side


MNIST_INPUT = InputSpec(1, 28, 10)
MEDMNIST_INPUT = InputSpec(1, 64, 6)
CIFAR10_INPUT = InputSpec(3, 32, 10, (16, 32, 64))

BIG_CNN_WIDTH = 201
"""Width n of the bigger CNN: the counterpart's architecture with n = 201 has 372,139
parameters on MNIST, the closest this architecture comes to the paper's 372,234."""


# --------------------------------------------------------------------- circuits
def strongly_entangling_circuit(n_qubits: int, depth: int) -> Circuit:
    """One HQNN-Parallel PQC: RX angle embedding, ``depth`` strongly entangling layers.

    Equal to ``qml.AngleEmbedding(x, wires, rotation="X")`` followed by
    ``qml.StronglyEntanglingLayers(w, wires)`` with ``w`` of shape ``(depth, n_qubits, 3)``:
    layer ``l`` applies ``Rot(w[l, j, 0], w[l, j, 1], w[l, j, 2])`` to every wire ``j``,
    then ``CNOT(j, (j + r_l) mod n_qubits)`` for every ``j`` with range
    ``r_l = l mod (n_qubits - 1) + 1`` (PennyLane's default: layer 0 is the
    nearest-neighbour ring). Inputs ``(n_qubits,)``; ``3 * depth * n_qubits`` parameters,
    in the order of ``w.flatten()``.
    """
    if n_qubits < 1 or depth < 1:
        raise InvalidInputError(f"a PQC needs at least one qubit and one layer (got q={n_qubits}, i={depth})")
    circuit = Circuit(n_qubits).angle_embedding(None, range(n_qubits), rotation="X")
    for layer in range(depth):
        for wire in range(n_qubits):
            circuit.rot(wire)
        if n_qubits > 1:
            reach = layer % (n_qubits - 1) + 1
            for wire in range(n_qubits):
                circuit.cnot(wire, (wire + reach) % n_qubits)
    return circuit


class _PennyLaneRunner:
    """Run ``P`` parameter sets through one PennyLane QNode, one set after the other."""

    def __init__(self, circuit: Circuit, measurement: Measurement) -> None:
        from qcodec.quantum.pennylane_backend import PennyLaneSimulator

        self.sim = PennyLaneSimulator(circuit, measurement, "default.qubit", diff_method="backprop")

    def __call__(self, params: Tensor, inputs: Tensor) -> Tensor:
        outs = [self.sim(params[p], inputs[:, p]) for p in range(params.shape[0])]
        return torch.stack(outs, dim=1).to(inputs.dtype)


def circuit_runner(circuit: Circuit, measurement: Measurement, backend: str = "torch") -> Runner:
    """``run(params (P, n_params), inputs (B, P, n_inputs)) -> (B, P, n_out)`` on ``backend``.

    ``P`` independent parameter sets (parallel circuits) each see their own inputs. The
    torch simulator runs all of them in one batched pass; PennyLane runs one QNode call
    (broadcast over ``B``) per parameter set. Both are differentiable with autograd.
    """
    if backend == "torch":
        return TorchSimulator(circuit, measurement)
    if backend == "pennylane":
        return _PennyLaneRunner(circuit, measurement)
    raise InvalidInputError(f"unknown quantum backend {backend!r}; use {' or '.join(BACKENDS)}")


class QuantumLayer(nn.Module):
    """Marker base class: every parameter of a ``QuantumLayer`` is a quantum circuit weight."""


class ParallelPQC(QuantumLayer):
    """``c`` independent PQCs of ``q`` qubits side by side: ``(B, c * q) -> (B, c * q)``.

    Chunk ``k`` of the input (features ``k*q .. k*q + q - 1``) is angle-embedded into
    circuit ``k`` (:func:`strongly_entangling_circuit`), and output ``k*q + j`` is
    ``<Y_j>`` of that circuit, in ``[-1, 1]``. Weights ``(c, i, q, 3)``, ``q * 3i * c`` in
    all, initialised uniformly in ``[0, 2 pi)`` like PennyLane's ``TorchLayer``.

    >>> layer = ParallelPQC(n_qubits=5, depth=3, n_circuits=4)
    >>> layer(torch.zeros(8, 20)).shape, layer.weight.numel()
    (torch.Size([8, 20]), 180)
    """

    def __init__(self, n_qubits: int = 5, depth: int = 3, n_circuits: int = 4, backend: str = "torch") -> None:
        super().__init__()
        if n_circuits < 1:
            raise InvalidInputError(f"need at least one parallel circuit, got {n_circuits}")
        self.n_qubits, self.depth, self.n_circuits, self.backend = n_qubits, depth, n_circuits, backend
        self.circuit = strongly_entangling_circuit(n_qubits, depth)
        self.run = circuit_runner(self.circuit, Expval("Y"), backend)
        self.weight = nn.Parameter(torch.empty(n_circuits, depth, n_qubits, 3).uniform_(0.0, 2 * math.pi))

    @property
    def width(self) -> int:
        """``n = q * c``, the number of features in and out."""
        return self.n_qubits * self.n_circuits

    def forward(self, x: Tensor) -> Tensor:
        """``x (B, c*q)`` angles -> ``(B, c*q)`` Pauli-Y expectations."""
        if x.shape[-1] != self.width:
            raise ValueError(f"ParallelPQC expects (B, {self.width}) inputs, got {tuple(x.shape)}")
        inputs = x.reshape(x.shape[0], self.n_circuits, self.n_qubits)
        out = self.run(self.weight.reshape(self.n_circuits, -1), inputs)
        return out.reshape(x.shape[0], self.width)

    def extra_repr(self) -> str:
        return f"q={self.n_qubits}, i={self.depth}, c={self.n_circuits}, backend={self.backend!r}"


# ----------------------------------------------------------------------- models
def conv_blocks(in_channels: int, channels: Sequence[int]) -> nn.Sequential:
    """HQNN-Parallel's feature extractor: per entry, conv 5x5 (stride 1, pad 2) -> BN -> ReLU -> maxpool 2.

    ``(B, in_channels, H, W) -> (B, channels[-1], H / 2**k, W / 2**k)`` for ``k = len(channels)``.
    """
    layers: list[nn.Module] = []
    for out_channels in channels:
        layers += [nn.Conv2d(in_channels, out_channels, 5, padding=2), nn.BatchNorm2d(out_channels),
                   nn.ReLU(), nn.MaxPool2d(2)]
        in_channels = out_channels
    return nn.Sequential(*layers)


class ConvDenseNet(nn.Module):
    """Conv blocks, then ``dense F -> n -> BN -> ReLU -> middle -> BN -> ReLU -> dense n -> classes``.

    ``middle`` maps ``(B, n) -> (B, n)``: a :class:`ParallelPQC` (HQNN-Parallel) or a
    ``Linear(n, n)`` (the classical counterpart). Input ``(B, C, S, S)`` as in ``spec``,
    output logits ``(B, n_classes)``.
    """

    def __init__(self, spec: InputSpec, width: int, middle: nn.Module) -> None:
        super().__init__()
        if spec.size % 2 ** len(spec.conv_channels):
            raise InvalidInputError(f"image size {spec.size} is not divisible by 2**{len(spec.conv_channels)}")
        self.spec = spec
        self.features = conv_blocks(spec.channels, spec.conv_channels)
        self.encode = nn.Sequential(nn.Flatten(), nn.Linear(spec.n_features, width), nn.BatchNorm1d(width), nn.ReLU())
        self.middle = middle
        self.head = nn.Sequential(nn.BatchNorm1d(width), nn.ReLU(), nn.Linear(width, spec.n_classes))

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C, S, S)`` images -> ``(B, n_classes)`` logits."""
        return self.head(self.middle(self.encode(self.features(x))))


def hqnn_parallel(spec: InputSpec, n_qubits: int = 5, depth: int = 3, n_circuits: int = 4,
                  backend: str = "torch") -> ConvDenseNet:
    """HQNN-Parallel with ``c = n_circuits`` PQCs of ``q = n_qubits`` qubits and ``i = depth`` layers.

    The paper's best setting (default) is ``q = 5, i = 3, c = 4``.
    """
    pqc = ParallelPQC(n_qubits, depth, n_circuits, backend)
    return ConvDenseNet(spec, pqc.width, pqc)


def cnn_counterpart(spec: InputSpec, width: int = 20) -> ConvDenseNet:
    """The classical counterpart: HQNN-Parallel with the PQCs replaced by ``Linear(n, n)``.

    ``width = n`` (default 20, HQNN-Parallel's ``q * c``): 45,434 parameters on MNIST.
    """
    return ConvDenseNet(spec, width, nn.Linear(width, width))


def cnn_big(spec: InputSpec, width: int = BIG_CNN_WIDTH) -> ConvDenseNet:
    """The paper's bigger CNN (Table 1, 372,234 parameters on MNIST), rebuilt as the counterpart at ``n = 201``.

    The paper says its CNN is HQNN-Parallel with the quantum part replaced by a dense
    layer, but gives neither its width nor a layout with exactly 372,234 parameters; at
    ``n = 201`` the counterpart has 372,139 (0.03 % fewer).
    """
    return cnn_counterpart(spec, width)


class ParamCount(NamedTuple):
    """Trainable parameters: ``classical`` and ``quantum`` (inside :class:`QuantumLayer` modules)."""

    classical: int
    quantum: int

    @property
    def total(self) -> int:
        return self.classical + self.quantum


def count_parameters(model: nn.Module) -> ParamCount:
    """Trainable parameters of ``model``, split into classical and quantum."""
    quantum_ids = {id(p) for m in model.modules() if isinstance(m, QuantumLayer) for p in m.parameters()}
    params = [p for p in model.parameters() if p.requires_grad]
    quantum = sum(p.numel() for p in params if id(p) in quantum_ids)
    return ParamCount(sum(p.numel() for p in params) - quantum, quantum)
