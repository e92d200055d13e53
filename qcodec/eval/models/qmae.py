"""Quantum masked autoencoder (QMAE), its QAE baseline, and a small 16x16 image classifier.

Andrews & Mishra 2025, "Quantum Masked Autoencoders for Vision Learning"::

    image x (16,16) --mask one patch--> x_m --fill patch with mask token T (QMAE) or 0 (QAE)-->
      amplitude embedding |x_m> on n = 8 qubits
        -> U(theta)            encoder: Wang et al.'s 15-parameter block on every qubit pair
        -> reset trash -> |0>  (wire n-1 by default; the latent space is the other n-1 wires)
        -> U(theta)^dagger     decoder, same parameters
      rho_out  (mixed: one branch per trash outcome)

    loss = 1 - F,   F = <x| rho_out |x>   (the SWAP test's <Z> against |x>, the unmasked image)

Everything is exact state-vector algebra on a batch: the circuit's ``2**n x 2**n``
unitary is built once per forward pass from the 28 two-qubit blocks (their ``4 x 4``
matrices come from :class:`~qcodec.quantum.TorchSimulator` in one call with one
parameter set per block), then every image of the batch is one row of a matmul.

With the trash reset, the decoder input is ``sum_j |a_j, 0><a_j, 0|`` where
``U|x_m> = sum_j |a_j>|j>_trash`` (``|a_j>`` unnormalised), so

    F = sum_j |<U x|_(trash=0) . |a_j>|^2,    diag(rho_out) = sum_j |U^dagger |a_j, 0>|^2.

:func:`swap_test_fidelity` builds the paper's 2n+2-qubit circuit (input, reference,
ancilla, and a fresh qubit that the trash is swapped into) in PennyLane as the reference.

>>> model = QMAE(n_qubits=4, patch=(2, 2))     # 4 qubits: 4x4 images, 2x2 patches
>>> model.n_ansatz_params, model.n_params      # 6 pairs x 15, plus the 2x2 mask token
(90, 94)
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from itertools import combinations
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from qcodec.errors import InvalidInputError
from qcodec.quantum import Circuit, TorchSimulator
from qcodec.quantum.kernels import apply_2q

Tensor = torch.Tensor

BLOCK_PARAMS = 15
"""Trainable angles in one Wang et al. two-qubit block (9 RZ + 6 RY)."""


# --------------------------------------------------------------------------- ansatz
def wang_block(circuit: Circuit, a: int, b: int) -> Circuit:
    """Append Wang et al.'s two-qubit interaction block on wires ``a``, ``b`` (15 new parameters).

    18 gates: a general ``RZ RY RZ`` rotation on each wire, the three-CNOT entangling core
    ``CNOT(b,a) . [RZ(a) (x) RY(b)] . CNOT(a,b) . RY(b) . CNOT(b,a)``, and another
    ``RZ RY RZ`` on each wire: 9 ``RZ``, 6 ``RY``, 3 ``CNOT``. This is the Vatan-Williams
    decomposition of a general two-qubit unitary (with its fixed phases absorbed in the
    free rotations), so one block can reach any element of SU(4).
    """
    for w in (a, b):
        circuit.rz(w).ry(w).rz(w)
    circuit.cnot(b, a).rz(a).ry(b).cnot(a, b).ry(b).cnot(b, a)
    for w in (a, b):
        circuit.rz(w).ry(w).rz(w)
    return circuit


def qubit_pairs(n_qubits: int) -> list[tuple[int, int]]:
    """The pairs the ansatz visits, in order: ``(0,1), (0,2), ..., (n-2, n-1)``."""
    return list(combinations(range(n_qubits), 2))


def ansatz_param_count(n_qubits: int) -> int:
    """``p_a = n (n - 1) / 2 * 15`` (the paper's Eq. 3)."""
    return n_qubits * (n_qubits - 1) // 2 * BLOCK_PARAMS


def qmae_ansatz(n_qubits: int) -> Circuit:
    """The encoder ``U(theta)``: :func:`wang_block` on every pair of :func:`qubit_pairs`.

    Parameters ``15 k .. 15 k + 14`` belong to pair ``k``; ``n_params == ansatz_param_count(n)``.
    The decoder is ``qmae_ansatz(n).adjoint()``.
    """
    circuit = Circuit(n_qubits)
    for a, b in qubit_pairs(n_qubits):
        wang_block(circuit, a, b)
    return circuit


# --------------------------------------------------------------------------- masks
def patch_shape(image_size: int, fraction: float) -> tuple[int, int]:
    """Patch ``(height, width)`` covering ``fraction`` of an ``image_size`` square image.

    Square when possible (25 %: 8x8 of 16x16), else twice as tall as wide (12.5 %: 8x4;
    50 %: 16x8, the left or right half), else twice as wide as tall. The image is tiled
    by such patches; one of them is masked.
    """
    area = fraction * image_size * image_size
    side = math.isqrt(round(area))
    if side * side == round(area) and image_size % side == 0:
        return side, side
    for h, w in ((round(math.sqrt(2 * area)), round(math.sqrt(area / 2))),
                 (round(math.sqrt(area / 2)), round(math.sqrt(2 * area)))):
        if h * w == round(area) and h and w and image_size % h == 0 and image_size % w == 0:
            return h, w
    raise ValueError(f"no patch of {fraction:g} of a {image_size}x{image_size} image tiles it")


def patch_grid(image_size: int, patch: tuple[int, int]) -> Tensor:
    """Top-left corners ``(n_patches, 2)`` (row, column) of the patches tiling the image."""
    ys = torch.arange(0, image_size, patch[0])
    xs = torch.arange(0, image_size, patch[1])
    return torch.cartesian_prod(ys, xs)


# --------------------------------------------------------------------------- model
class QMAE(nn.Module):
    """Quantum masked autoencoder on ``2**(n_qubits/2)``-square images (QAE without a token).

    Args:
        n_qubits: qubits of the amplitude embedding; images are ``s x s`` with ``s*s = 2**n``.
        patch: mask-token (patch) size ``(H_p, W_p)``.
        trash_wires: wires reset to ``|0>`` between encoder and decoder (default: the last,
            the least significant bit of the pixel index, i.e. column parity).
        mask_token: learn a mask token (QMAE); ``False`` fills the patch with zeros (QAE).

    Parameters: ``theta (p_a,)`` and ``mask_token (H_p, W_p)`` (QMAE only), ``p = p_a + H_p W_p``.
    Images are real ``(B, s, s)``; states ``(B, 2**n)`` complex, pixel ``(r, c)`` at index ``r s + c``.
    """

    def __init__(
        self,
        n_qubits: int = 8,
        patch: tuple[int, int] = (8, 8),
        trash_wires: Sequence[int] | None = None,
        mask_token: bool = True,
    ) -> None:
        super().__init__()
        side = math.isqrt(2**n_qubits)
        if n_qubits < 2 or n_qubits % 2 or side * side != 2**n_qubits:
            raise ValueError(f"n_qubits must be even and at least 2, got {n_qubits}")
        self.n_qubits, self.image_size, self.patch = n_qubits, side, (int(patch[0]), int(patch[1]))
        trash = (n_qubits - 1,) if trash_wires is None else tuple(int(w) for w in trash_wires)
        if not trash or len(set(trash)) != len(trash) or any(not 0 <= w < n_qubits for w in trash) or len(trash) >= n_qubits:
            raise ValueError(f"trash_wires must be distinct wires in [0, {n_qubits}), fewer than all; got {trash}")
        self.trash_wires = trash
        self.pairs = qubit_pairs(n_qubits)
        self.theta = nn.Parameter(torch.zeros(len(self.pairs) * BLOCK_PARAMS))
        if mask_token:
            self.mask_token: nn.Parameter | None = nn.Parameter(torch.zeros(self.patch))
        else:
            self.register_parameter("mask_token", None)
        block = wang_block(Circuit(2), 0, 1)
        self._block_sim = TorchSimulator(block)
        # basis index -> (latent bits, trash bits) order: state[..., perm] is (2**k, 2**t) row-major
        latent = [w for w in range(n_qubits) if w not in trash]
        idx = torch.arange(2**n_qubits)
        bits = [(idx >> (n_qubits - 1 - w)) & 1 for w in (*latent, *trash)]
        order = sum(b << (n_qubits - 1 - i) for i, b in enumerate(bits))
        self.register_buffer("_perm", torch.argsort(order), persistent=False)

    # ----------------------------------------------------------------- counts
    @property
    def n_ansatz_params(self) -> int:
        """``p_a``: ansatz angles."""
        return self.theta.numel()

    @property
    def n_params(self) -> int:
        """``p = p_a + H_p W_p`` (QMAE) or ``p_a`` (QAE)."""
        return self.n_ansatz_params + (0 if self.mask_token is None else self.mask_token.numel())

    def circuit(self) -> Circuit:
        """The encoder as a backend-neutral :class:`~qcodec.quantum.Circuit` (parameters = ``theta``)."""
        return qmae_ansatz(self.n_qubits)

    def init_parameters(self, std: float = 0.1, generator: torch.Generator | None = None) -> None:
        """Draw ``theta ~ N(0, std^2)`` (near the all-zero circuit, a fixed qubit permutation)."""
        with torch.no_grad():
            self.theta.copy_(torch.randn(self.theta.shape, generator=generator) * std)

    # ----------------------------------------------------------------- circuit
    def unitary_rows(self) -> Tensor:
        """``U^T`` of the encoder, ``(2**n, 2**n)`` complex: ``states @ U^T`` applies ``U`` to rows."""
        n, dim = self.n_qubits, 2**self.n_qubits
        gates = self._block_sim.unitary(self.theta.reshape(len(self.pairs), BLOCK_PARAMS))  # (pairs, 4, 4)
        rows = torch.eye(dim, dtype=gates.dtype, device=gates.device)[None]
        for k, pair in enumerate(self.pairs):
            rows = apply_2q(rows, n, pair, gates[k : k + 1])
        return rows[0]

    def _split(self, states: Tensor) -> Tensor:
        """``(B, 2**n) -> (B, 2**latent, 2**trash)``."""
        t = len(self.trash_wires)
        return states[..., self._perm].reshape(*states.shape[:-1], -1, 2**t)

    def _decoder_rows(self, rows: Tensor) -> Tensor:
        """Rows of ``(U^dagger)^T = conj(U)`` for the basis states with trash ``|0>``: ``(2**latent, 2**n)``.

        ``latent @ _decoder_rows(rows)`` is ``U^dagger |latent, 0>`` for row vectors ``latent (B, 2**latent)``.
        """
        t = 2 ** len(self.trash_wires)
        return rows.mH[self._perm.reshape(-1, t)[:, 0]]

    def embed(self, images: Tensor) -> Tensor:
        """Amplitude embedding ``(B, s, s)`` real ``-> (B, 2**n)`` unit vectors (zero images stay 0)."""
        flat = images.reshape(images.shape[0], -1)
        return flat / flat.norm(dim=-1, keepdim=True).clamp_min(1e-12)

    def fidelity(self, inputs: Tensor, targets: Tensor, rows: Tensor | None = None) -> Tensor:
        """Exact ``F = <t| rho_out |t>`` for input images ``(B, s, s)`` and target images ``(B, s, s)`` -> ``(B,)``."""
        rows = self.unitary_rows() if rows is None else rows
        cd = rows.dtype
        enc = self._split(self.embed(inputs).to(cd) @ rows)  # (B, L, T)
        ref = self._split(self.embed(targets).to(cd) @ rows)[..., 0]  # (B, L): <U t| on trash = 0
        overlaps = torch.einsum("bl,blt->bt", ref.conj(), enc)
        return overlaps.real.square().add(overlaps.imag.square()).sum(-1)

    def output_probabilities(self, inputs: Tensor, rows: Tensor | None = None) -> Tensor:
        """``diag(rho_out)``: basis-state probabilities of the decoder output, ``(B, s, s) -> (B, 2**n)``."""
        rows = self.unitary_rows() if rows is None else rows
        enc = self._split(self.embed(inputs).to(rows.dtype) @ rows)  # (B, L, T)
        out = enc.transpose(1, 2) @ self._decoder_rows(rows)  # (B, T, D): U^dagger |a_j, 0>
        return out.real.square().add(out.imag.square()).sum(1)

    def density_matrix(self, inputs: Tensor) -> Tensor:
        """Full ``rho_out`` ``(B, 2**n, 2**n)`` (for tests; ``4**n`` memory per image)."""
        rows = self.unitary_rows()
        enc = self._split(self.embed(inputs).to(rows.dtype) @ rows)
        out = enc.transpose(1, 2) @ self._decoder_rows(rows)  # (B, T, D) row vectors
        return torch.einsum("bti,btj->bij", out, out.conj())

    # ----------------------------------------------------------------- masking
    def fill(self, images: Tensor, corners: Tensor) -> Tensor:
        """Replace the patch at ``corners (B, 2)`` (row, col) of ``images (B, s, s)`` by the token (or 0)."""
        b = images.shape[0]
        hp, wp = self.patch
        rows = corners[:, :1] + torch.arange(hp, device=images.device)[None]  # (B, hp)
        cols = corners[:, 1:] + torch.arange(wp, device=images.device)[None]  # (B, wp)
        bi = torch.arange(b, device=images.device)[:, None, None].expand(b, hp, wp)
        ri, ci = rows[:, :, None].expand(b, hp, wp), cols[:, None, :].expand(b, hp, wp)
        value = images.new_zeros(self.patch) if self.mask_token is None else self.mask_token.to(images.dtype)
        return images.index_put((bi, ri, ci), value.expand(b, hp, wp))

    def fill_region(self, images: Tensor, region: tuple[int, int, int, int]) -> Tensor:
        """Fill one rectangle ``(x, y, w, h)`` of every image with the token resized to ``h x w``
        (bilinear; the token as is when the sizes match) or with zeros (QAE)."""
        x, y, w, h = region
        out = images.clone()
        if self.mask_token is None:
            out[:, y : y + h, x : x + w] = 0
            return out
        token = self.mask_token.detach().to(images.dtype)
        if (h, w) != self.patch:
            token = F.interpolate(token[None, None], size=(h, w), mode="bilinear", align_corners=False)[0, 0]
        out[:, y : y + h, x : x + w] = token
        return out

    def forward(self, images: Tensor, corners: Tensor) -> Tensor:
        """Training loss terms: ``F`` of the filled masked images against the originals, ``(B,)``."""
        return self.fidelity(self.fill(images, corners), images)

    # ----------------------------------------------------------------- save / load
    def config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-serialisable)."""
        return {"n_qubits": self.n_qubits, "patch": list(self.patch), "trash_wires": list(self.trash_wires),
                "mask_token": self.mask_token is not None}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> QMAE:
        """Inverse of :meth:`config`."""
        return cls(int(config["n_qubits"]), tuple(config["patch"]), config["trash_wires"], bool(config["mask_token"]))


MODEL_FORMAT = "qcodec-qmae"
MODEL_VERSION = 1


def model_to_bytes(model: QMAE, meta: dict[str, Any] | None = None) -> bytes:
    """Serialise a trained model (config, ``theta``, mask token, free-form ``meta``) with ``torch.save``."""
    record = {
        "format": MODEL_FORMAT, "version": MODEL_VERSION, "config": model.config(),
        "theta": model.theta.detach().cpu().clone(),
        "mask_token": None if model.mask_token is None else model.mask_token.detach().cpu().clone(),
        "meta": dict(meta or {}),
    }
    buffer = io.BytesIO()
    torch.save(record, buffer)
    return buffer.getvalue()


def model_from_bytes(data: bytes, name: str = "model") -> tuple[QMAE, dict[str, Any]]:
    """Inverse of :func:`model_to_bytes` (loads tensors only: ``weights_only=True``).

    Raises:
        InvalidInputError: not a qcodec QMAE model file, or an unknown version.
    """
    try:
        record = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - any unpickling failure means "not our file"
        raise InvalidInputError(f"{name} is not a qcodec QMAE model file") from None
    if not isinstance(record, dict) or record.get("format") != MODEL_FORMAT:
        raise InvalidInputError(f"{name} is not a qcodec QMAE model file")
    if record.get("version") != MODEL_VERSION:
        raise InvalidInputError(f"{name} has QMAE model format version {record.get('version')}; this build reads {MODEL_VERSION}")
    try:
        model = QMAE.from_config(record["config"])
        with torch.no_grad():
            model.theta.copy_(record["theta"])
            if model.mask_token is not None:
                model.mask_token.copy_(record["mask_token"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise InvalidInputError(f"{name} is a damaged QMAE model file ({exc})") from None
    return model, dict(record.get("meta") or {})


READOUTS = ("probability", "amplitude")
"""Ways to turn measured basis-state probabilities into pixels (see :func:`probabilities_to_image`)."""


def probabilities_to_image(probs: Tensor, side: int, readout: str = "probability") -> Tensor:
    """Read a reconstruction out of measured probabilities: ``(B, s*s) -> (B, s, s)`` in ``[0, 1]``.

    ``readout="probability"`` (default): ``p / max(p)``, the measured probabilities (the
    normalised histogram of shots) rescaled so the brightest pixel is 1. For the input
    state ``p`` is proportional to ``x**2``, which for near-binary digits is close to ``x``.
    ``readout="amplitude"``: ``sqrt(p) / max(sqrt(p))``, proportional to ``x`` for a perfect
    reconstruction, but it lifts the decoder's low-probability haze (``p = 1e-2 max``
    becomes 0.1) over the whole background.
    """
    if readout not in READOUTS:
        raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}")
    img = probs.clamp_min(0)
    if readout == "amplitude":
        img = img.sqrt()
    return (img / img.amax(dim=-1, keepdim=True).clamp_min(1e-30)).reshape(-1, side, side)


# --------------------------------------------------------------------------- reference
def swap_test_fidelity(
    model: QMAE, inputs: Tensor, targets: Tensor, device: str = "default.qubit"
) -> Tensor:
    """The paper's circuit in PennyLane: ``<Z>`` of the SWAP-test ancilla, ``(B, s, s) x2 -> (B,)``.

    Wires ``0..n-1``: the (filled) input, amplitude-embedded, then ``U``, then each trash
    wire swapped with a fresh ``|0>`` wire (a reset), then ``U^dagger``; wires ``n..2n-1``:
    the target image; one ancilla: ``H``, controlled SWAPs of the two registers, ``H``.
    Takes ``2n + 1 + len(trash)`` qubits, so it is for small cases and tests only.
    """
    import pennylane as qml

    from qcodec.quantum.pennylane_backend import apply_circuit

    n, trash = model.n_qubits, model.trash_wires
    anc, fresh = 2 * n, [2 * n + 1 + i for i in range(len(trash))]
    enc = model.circuit()
    theta = model.theta.detach().to(torch.float64)
    dev = qml.device(device, wires=2 * n + 1 + len(trash))

    @qml.qnode(dev, interface="torch")
    def circuit(x: Tensor, t: Tensor) -> Any:
        qml.AmplitudeEmbedding(x, wires=range(n), normalize=True)
        qml.AmplitudeEmbedding(t, wires=range(n, 2 * n), normalize=True)
        apply_circuit(enc, theta)
        for w, f in zip(trash, fresh):
            qml.SWAP(wires=[w, f])
        apply_circuit(enc.adjoint(), theta)
        qml.Hadamard(anc)
        for i in range(n):
            qml.CSWAP(wires=[anc, i, n + i])
        qml.Hadamard(anc)
        return qml.expval(qml.PauliZ(anc))

    x = inputs.detach().reshape(inputs.shape[0], -1).to(torch.float64)
    t = targets.detach().reshape(targets.shape[0], -1).to(torch.float64)
    return torch.stack([torch.as_tensor(circuit(xi, ti)) for xi, ti in zip(x, t)])


# --------------------------------------------------------------------------- classifier
class _Block(nn.Module):
    """ResNet basic block ``(N, c_in, H, W) -> (N, c_out, H/s, W/s)``."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: Tensor) -> Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class SmallResNet(nn.Module):
    """A ResNet-8 for ``(N, 1, 16, 16)`` digits -> ``(N, 10)`` logits (the paper's ResNet18, shrunk)::

        conv3x3 c -> BN -> ReLU (no max-pool, as the paper's 16x16 adaptation)   (N, c, 16, 16)
          -> block(c) -> block(2c, stride 2) -> block(4c, stride 2)              (N, 4c, 4, 4)
          -> global average pool -> linear                                       (N, 10)

    ``c = 16`` gives 78 k parameters (ResNet18: 11 M), trainable on a CPU in seconds.
    """

    def __init__(self, width: int = 16, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        self.stages = nn.Sequential(_Block(width, width, 1), _Block(width, 2 * width, 2), _Block(2 * width, 4 * width, 2))
        self.head = nn.Linear(4 * width, classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.stages(self.stem(x)).mean(dim=(-1, -2)))
