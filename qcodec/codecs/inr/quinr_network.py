"""quINR (Fujihashi & Koike-Akino, AAAI 2025): a sine embedding feeding a parameterized quantum circuit.

::

    (x, y) (N, 2) --Linear(2, M)--> sin(omega_0 * .) --> h (N, M)
        --> QNN on N_q qubits: L x [folded-angle embedding of h (shuffled per layer)
                                    + Sim et al. entangling layer]       (qcodec.quantum)
        --> basis-state probabilities p (N, 2**N_q)
        --> last N_out states p[:, -N_out:] --> exp(s) * p + b --> QReLU --> pixels (N, N_out)

Choices the paper leaves open (``docs/quinr.md`` justifies them; each is an option):

- **readout scale**: each output channel gets a learnable affine map ``exp(s_c) p + b_c``,
  the scale kept in log form (``s`` starts at 0, ``b`` at 0.5, mid-grey), so Adam can move it
  by orders of magnitude; ``readout="fixed"`` uses the constant ``2**(N_q-1) p`` instead
  (a uniform state gives ``2**-N_q`` per basis state).
- **QReLU**: Parisi et al.'s ``x if x > 0 else 0.01 x - 2 x`` (``"qrelu"``), their
  modified form ``0.01 x - x`` (``"m-qrelu"``), or none (``"none"``).
- **shuffle**: re-upload ``h`` cyclically shifted by the layer index (see
  :func:`qcodec.quantum.ansatz.reupload_order`); ``shuffle=False`` re-uploads it unchanged.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from qcodec.codecs.inr.cost import NetworkCost
from qcodec.quantum import Probs, TorchSimulator, quinr_circuit

ACTIVATIONS = ("qrelu", "m-qrelu", "none")
READOUTS = ("affine", "fixed")


def qrelu(x: torch.Tensor, variant: str = "qrelu") -> torch.Tensor:
    """Quantum ReLU of Parisi et al. (2022): identity for ``x > 0``, ``0.01 x - 2 x`` (or ``0.01 x - x``) below.

    >>> qrelu(torch.tensor([0.5, -1.0])).tolist()
    [0.5, 1.9900000095367432]
    """
    if variant == "none":
        return x
    slope = {"qrelu": 0.01 - 2.0, "m-qrelu": 0.01 - 1.0}[variant]
    return torch.where(x > 0, x, slope * x)


class QuINR(nn.Module):
    """The quINR network (see the module docstring for the data flow).

    Args:
        n_qubits: ``N_q``.
        n_layers: QNN layers (embedding + entangling).
        embed_size: ``M``, the sine embedding's size (packed into ``ceil(M / N_q)`` folds).
        out_features: ``N_out`` (3 for RGB, 1 for grayscale); at most ``2**N_q``.
        omega_0: the sine embedding's frequency.
        shuffle: shuffled data re-uploading.
        activation: ``"qrelu"``, ``"m-qrelu"`` or ``"none"``.
        readout: ``"affine"`` (learnable scale and offset per channel) or ``"fixed"``.
        backend: ``"torch"`` (qcodec's simulator) or a PennyLane device name such as
            ``"default.qubit"`` (slow; for checking and other devices).

    Parameters, in coding order: ``embed.weight (M, 2)``, ``embed.bias (M,)``,
    ``theta (n_layers * (4 N_q + N_q (N_q - 1) / 2),)`` and, with the affine readout,
    ``out_log_scale (N_out,)``, ``out_bias (N_out,)`` (PyTorch's ``named_parameters()`` order:
    ``theta``, ``out_log_scale``, ``out_bias``, ``embed.weight``, ``embed.bias``).

    Shapes: ``(N, 2) -> (N, N_out)``.

    >>> QuINR(n_qubits=6, n_layers=4, embed_size=24).num_parameters()
    234
    """

    def __init__(
        self,
        n_qubits: int,
        n_layers: int,
        embed_size: int,
        out_features: int = 3,
        omega_0: float = 30.0,
        shuffle: bool = True,
        activation: str = "qrelu",
        readout: str = "affine",
        backend: str = "torch",
    ) -> None:
        super().__init__()
        if out_features > 2**n_qubits:
            raise ValueError(f"{n_qubits} qubits cannot give {out_features} outputs")
        if activation not in ACTIVATIONS or readout not in READOUTS:
            raise ValueError(f"activation must be one of {ACTIVATIONS} and readout one of {READOUTS}")
        self.omega_0 = omega_0
        self.out_features = out_features
        self.activation = activation
        self.embed = nn.Linear(2, embed_size)
        with torch.no_grad():  # SIREN first-layer initialisation
            self.embed.weight.uniform_(-0.5, 0.5)
            self.embed.bias.uniform_(-0.5, 0.5)
        circuit = quinr_circuit(n_qubits, n_layers, embed_size, shuffle=shuffle)
        self.theta = nn.Parameter(torch.rand(circuit.n_params) * 2 * math.pi)
        if readout == "affine":
            self.out_log_scale = nn.Parameter(torch.zeros(out_features))
            self.out_bias = nn.Parameter(torch.full((out_features,), 0.5))
        else:
            self.register_buffer("out_log_scale", torch.full((out_features,), (n_qubits - 1) * math.log(2.0)))
            self.register_buffer("out_bias", torch.zeros(out_features))
        if backend == "torch":
            self.qnn = TorchSimulator(circuit, Probs())
        else:
            from qcodec.quantum import PennyLaneSimulator

            self.qnn = PennyLaneSimulator(circuit, Probs(), device=backend)

    def quantum_parameters(self) -> list[nn.Parameter]:
        """The circuit's rotation angles (trained with their own learning rate)."""
        return [self.theta]

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        h = torch.sin(self.omega_0 * self.embed(coords))
        probs = self.qnn(self.theta, h)
        values = torch.exp(self.out_log_scale) * probs[:, -self.out_features :] + self.out_bias
        return qrelu(values, self.activation)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())



class TiledQuINR(nn.Module):
    """quINR that scales with the rate: one circuit per tile, read out in full by a linear head.

    ::

        local (x, y) of each tile (B, P, 2) --Linear(2, M) per tile--> sin(omega_0 .) --> h (B, P, M)
            --> the paper's QNN on N_q qubits, the tile's own angles theta_p (L re-uploading layers)
            --> all 2**N_q basis-state probabilities (B, P, 2**N_q)
            --> one linear head shared by every tile --> pixels (B, P, N_out)

    What changed from :class:`QuINR` (the paper's model), each measured in ``docs/quinr.md``:
    every probability feeds a learned linear map instead of one basis state per channel
    passing a QReLU; the image is cut into tiles (:class:`~qcodec.codecs.inr.coords.TileGrid`),
    each with its own embedding and angles, so capacity grows with the tile count; small circuits
    (4 qubits by default) keep each evaluation cheap. All tiles' circuits run in one batched
    simulator call with per-tile parameters (``params (P, n_params)``).

    Parameters, in coding order: ``theta (P, n_params)``, ``embed_weight (P, M, 2)``,
    ``embed_bias (P, M)``, ``head_weight (1, N_out, 2**N_q)``, ``head_bias (1, N_out)``.

    >>> TiledQuINR(tiles=4, n_qubits=4, n_layers=4, embed_size=8).num_parameters()
    499
    """

    def __init__(
        self,
        tiles: int,
        n_qubits: int,
        n_layers: int,
        embed_size: int,
        out_features: int = 3,
        omega_0: float = 30.0,
    ) -> None:
        super().__init__()
        self.omega_0 = omega_0
        circuit = quinr_circuit(n_qubits, n_layers, embed_size)
        dim = 2**n_qubits
        self.theta = nn.Parameter(torch.rand(tiles, circuit.n_params) * 2 * math.pi)
        self.embed_weight = nn.Parameter(torch.empty(tiles, embed_size, 2).uniform_(-0.5, 0.5))  # SIREN's first layer
        self.embed_bias = nn.Parameter(torch.empty(tiles, embed_size).uniform_(-0.5, 0.5))
        self.head_weight = nn.Parameter(torch.randn(1, out_features, dim) * 0.1 / math.sqrt(dim))
        self.head_bias = nn.Parameter(torch.full((1, out_features), 0.5))
        self.qnn = TorchSimulator(circuit, Probs())

    def quantum_parameters(self) -> list[nn.Parameter]:
        """The circuits' rotation angles (trained with their own learning rate)."""
        return [self.theta]

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        pre = torch.einsum("pmi,bpi->bpm", self.embed_weight, coords) + self.embed_bias
        probs = self.qnn(self.theta, torch.sin(self.omega_0 * pre))
        head = self.head_weight.expand(coords.shape[1], -1, -1)
        return torch.einsum("pcd,bpd->bpc", head, probs) + self.head_bias

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


STATE_COPIES = 16
"""Complex64 state vectors per sample the simulator may hold at its peak besides four per
embedding fold, for memory estimates (measured up to about 3.4 per fold,
``benchmarks/bench_decode.py``)."""

FUSED_MATRIX_COPIES = 2
"""Dense ``2**N_q x 2**N_q`` complex64 matrices per layer held for the fused entangling layers
(circuits of up to :data:`MAX_FUSE_QUBITS` qubits)."""

MAX_FUSE_QUBITS = 10
"""The simulator's default ``max_fuse_qubits``: larger circuits apply their gates one by one."""


def quinr_cost(n_qubits: int, n_layers: int, embed_size: int, out_features: int, affine_readout: bool) -> NetworkCost:
    """What a :class:`QuINR` costs to evaluate, without building it.

    Real multiply-accumulates of the circuit as :class:`~qcodec.quantum.TorchSimulator` runs it:
    per layer the fused entangling unitary as a dense complex matrix-vector product
    (``4 * 4**N_q``) and each input-dependent rotation as two complex MACs per amplitude
    (``8 * 2**N_q``); then ``2 * 2**N_q`` for the probabilities, plus the ``2 M`` of the
    embedding. Activations: the embedding's three float copies, :data:`STATE_COPIES` states and
    four per embedding fold (``ceil(M / N_q)`` folds a layer); fixed: the fused entangling
    matrices (:data:`FUSED_MATRIX_COPIES` per layer).
    """
    dim = 2**n_qubits
    macs = 2 * embed_size + n_layers * (4 * dim * dim + 8 * dim * embed_size) + 2 * dim
    parameters = 3 * embed_size + _angles(n_qubits, n_layers) + (2 * out_features if affine_readout else 0)
    folds = n_layers * -(-embed_size // n_qubits)
    fused = n_layers * FUSED_MATRIX_COPIES * 8.0 * dim * dim if n_qubits <= MAX_FUSE_QUBITS else 0.0
    activations = 12.0 * embed_size + 8.0 * (STATE_COPIES + 4 * folds) * dim
    return NetworkCost(float(macs), parameters, 5 if affine_readout else 3, activations, fused)


def tiled_quinr_cost(tiles: int, n_qubits: int, n_layers: int, embed_size: int, out_features: int) -> NetworkCost:
    """:func:`quinr_cost` of a :class:`TiledQuINR`: the same circuit per pixel, then the linear head
    (``2**N_q * N_out`` MACs) instead of the paper's readout; parameters of every tile, one head."""
    circuit = quinr_cost(n_qubits, n_layers, embed_size, out_features, False)
    dim = 2**n_qubits
    parameters = tiles * (_angles(n_qubits, n_layers) + 3 * embed_size) + (dim + 1) * out_features
    return NetworkCost(
        circuit.macs_per_pixel + dim * out_features, parameters, 5, circuit.activation_bytes + 4.0 * dim, tiles * circuit.fixed_bytes
    )


def _angles(n_qubits: int, n_layers: int) -> int:
    """Trainable angles of :func:`~qcodec.quantum.quinr_circuit` (one Sim entangling layer per re-upload)."""
    return n_layers * (4 * n_qubits + n_qubits * (n_qubits - 1) // 2)
