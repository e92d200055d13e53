"""HQNN-Quanv (Senokosov et al. 2024, Sec. 2.3) and its baselines CNN1 and CNN4.

All three see 14x14 MNIST with pixels in ``[0, 1]``, turn it into feature maps with one
2x2, stride-2 kernel layer, flatten, and classify with one dense layer::

    HQNN-Quanv  (B, 1, 14, 14) -> quanvolution, 4 qubits  -> (B, 4, 7, 7) -> flatten 196 -> dense -> 10
    CNN4        (B, 1, 14, 14) -> conv 2x2 / 2, 4 filters -> (B, 4, 7, 7) -> flatten 196 -> dense -> 10
    CNN1        (B, 1, 14, 14) -> conv 2x2 / 2, 1 filter  -> (B, 1, 7, 7) -> flatten 49  -> dense -> 10

    quanvolution kernel (one 2x2 patch p0 p1 / p2 p3 -> 4 output channels):
        RY(pi p_j) on wire j -> RY(w_j) on wire j -> CNOT(0,1) CNOT(1,2) CNOT(2,3) -> <Z_j>
        which evaluates to  <Z_j> = prod_{k <= j} cos(pi p_k + w_k)

The first layer has 4 trainable weights in HQNN-Quanv and CNN1 and 16 in CNN4 (the
convolutions have no bias, so these are the paper's kernel counts). The paper does not
say which axis its 4 trainable rotations turn about; RY is our choice. Its text says the
quanvolution outputs "4x4" pixel channels; a 2x2 kernel on 14x14 input gives 7x7 at
stride 2 (non-overlapping patches, as in Henderson et al. 2019), which is what we use.
Images with ``C`` channels (CIFAR-10) give ``4 C`` quanvolution channels.

>>> from qcodec.eval.models.hqnn import count_parameters
>>> count_parameters(hqnn_quanv())
ParamCount(classical=1970, quantum=4)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from qcodec.errors import InvalidInputError
from qcodec.eval.models.hqnn import QuantumLayer, circuit_runner
from qcodec.quantum.circuit import Circuit
from qcodec.quantum.measurements import Expval

Tensor = torch.Tensor

QUANV_SIZE = 14
"""Side of the (bilinearly downscaled) MNIST images the quanvolutional models see."""


def quanv_circuit(n_qubits: int = 4) -> Circuit:
    """The quanvolution kernel: ``RY(pi x_j)`` embedding, one trainable ``RY`` per wire, a CNOT chain.

    Inputs ``(n_qubits,)`` are pixels in ``[0, 1]`` (scaled to ``[0, pi]`` by the embedding);
    ``n_qubits`` parameters; measure ``Expval("Z")`` for one output channel per wire.
    """
    circuit = Circuit(n_qubits).angle_embedding(None, range(n_qubits), rotation="Y", scale=math.pi)
    for wire in range(n_qubits):
        circuit.ry(wire)
    for wire in range(n_qubits - 1):
        circuit.cnot(wire, wire + 1)
    return circuit


class Quanv2d(QuantumLayer):
    """2x2 quanvolution with stride 2: ``(B, C, H, W) -> (B, 4 C, H/2, W/2)``.

    Every 2x2 patch (read row by row onto wires 0-3) runs through :func:`quanv_circuit`
    with the same 4 weights; wire ``j``'s ``<Z>`` is output channel ``j`` (for ``C > 1``
    input channels, each is processed alone: outputs ``4c .. 4c + 3`` come from channel
    ``c``). Weights initialised uniformly in ``[0, 2 pi)``.
    """

    def __init__(self, backend: str = "torch", kernel_size: int = 2) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.n_qubits = kernel_size * kernel_size
        self.backend = backend
        self.run = circuit_runner(quanv_circuit(self.n_qubits), Expval("Z"), backend)
        self.weight = nn.Parameter(torch.empty(self.n_qubits).uniform_(0.0, 2 * math.pi))

    def forward(self, x: Tensor) -> Tensor:
        """``x (B, C, H, W)`` pixels in [0, 1] -> ``(B, C k*k, H/k, W/k)`` expectations in [-1, 1]."""
        if x.dim() != 4:
            raise ValueError(f"Quanv2d expects (B, C, H, W) images, got {tuple(x.shape)}")
        k = self.kernel_size
        b, c, h, w = x.shape
        patches = F.unfold(x.reshape(b * c, 1, h, w), kernel_size=k, stride=k)  # (B*C, k*k, L)
        inputs = patches.transpose(1, 2).reshape(-1, 1, self.n_qubits)  # (B*C*L, P=1, k*k)
        out = self.run(self.weight[None], inputs)  # (B*C*L, 1, k*k)
        out = out.reshape(b * c, -1, self.n_qubits).transpose(1, 2)  # (B*C, k*k, L)
        return out.reshape(b, c * self.n_qubits, h // k, w // k)

    def extra_repr(self) -> str:
        return f"kernel={self.kernel_size}, qubits={self.n_qubits}, backend={self.backend!r}"


class KernelNet(nn.Module):
    """One 2x2 / stride-2 feature layer, flatten, one dense layer: ``(B, C, S, S) -> (B, n_classes)``.

    ``features`` is :class:`Quanv2d` (HQNN-Quanv) or a bias-free ``Conv2d`` + ReLU (CNN1,
    CNN4), producing ``channels`` maps of ``S/2 x S/2``.
    """

    def __init__(self, features: nn.Module, channels: int, size: int = QUANV_SIZE, n_classes: int = 10) -> None:
        super().__init__()
        if size % 2:
            raise InvalidInputError(f"image size must be even for a 2x2 stride-2 kernel, got {size}")
        self.features = features
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(channels * (size // 2) ** 2, n_classes))

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C, S, S)`` pixels in [0, 1] -> ``(B, n_classes)`` logits."""
        return self.head(self.features(x))


def hqnn_quanv(backend: str = "torch", in_channels: int = 1, size: int = QUANV_SIZE, n_classes: int = 10) -> KernelNet:
    """HQNN-Quanv: :class:`Quanv2d` (4 quantum weights) + dense ``4 C (S/2)^2 -> n_classes``."""
    return KernelNet(Quanv2d(backend), 4 * in_channels, size, n_classes)


def cnn_kernel(filters: int, in_channels: int = 1, size: int = QUANV_SIZE, n_classes: int = 10,
               relu: bool = False) -> KernelNet:
    """CNN1 (``filters=1``) or CNN4 (``filters=4``): bias-free 2x2 / stride-2 conv (``4 C filters`` weights) + dense.

    No activation by default, so the model mirrors HQNN-Quanv (kernel outputs straight into
    the dense layer); with ``relu=True`` a single bias-free filter often dies (all outputs 0)
    and CNN1's accuracy then swings between seeds by tens of points.
    """
    conv: nn.Module = nn.Conv2d(in_channels, filters, 2, stride=2, bias=False)
    if relu:
        conv = nn.Sequential(conv, nn.ReLU())
    return KernelNet(conv, filters, size, n_classes)


def downscale(images: Tensor, size: int = QUANV_SIZE) -> Tensor:
    """Bilinear resize ``(N, C, H, W) -> (N, C, size, size)`` (torchvision's ``Resize``, with antialiasing)."""
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
