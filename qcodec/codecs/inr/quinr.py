"""quINR: overfit a hybrid quantum-classical INR to the image and send its weights.

Model section layout: ``qubits`` (u8), ``layers`` (u8), ``embed`` (u16), ``flags`` (u8:
bit 0 shuffle, bits 1-2 activation index in :data:`~qcodec.codecs.inr.quinr_network.ACTIVATIONS`,
bit 3 fixed readout). The quantum angles, the classical embedding layer and the readout
go through the same quantizer and entropy coder as COIN's weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from torch import nn

from qcodec.codecs.inr.codec import COMMON_OPTIONS, Arch, INRCodec, INRSettings, NetworkCost
from qcodec.codecs.inr.fit import FitConfig
from qcodec.codecs.inr.quinr_network import ACTIVATIONS, READOUTS, QuINR, quinr_cost
from qcodec.coding.bitstream import ByteReader, ByteWriter
from qcodec.data.image_io import Image
from qcodec.errors import BitstreamError, InvalidInputError

QUINR_PRESETS: dict[str, Arch] = {
    "tiny": {"qubits": 6, "layers": 4, "embed": 24},
    "small": {"qubits": 6, "layers": 4, "embed": 48},
    "medium": {"qubits": 6, "layers": 4, "embed": 96},
    "large": {"qubits": 6, "layers": 4, "embed": 192},
    "xlarge": {"qubits": 8, "layers": 4, "embed": 256},
}
"""Sizes along the paper's rate knob, the embedding size M (6 qubits, 4 re-uploading layers)."""

FRONTIER_EMBEDS = (12, 18, 24, 36, 48, 72, 96, 144, 192, 288, 384)
"""Embedding sizes ``--bpp`` chooses among (6 qubits, 4 layers), as the paper draws its RD curve."""


def _param_groups(model: nn.Module, lr: float) -> list[dict]:
    """The paper's AdamW setting: lr 1e-1 for the quantum angles, ``lr`` for the classical layers."""
    quantum = list(model.quantum_parameters())
    ids = {id(p) for p in quantum}
    classical = [p for p in model.parameters() if id(p) not in ids]
    return [{"params": quantum, "lr": QuinrCodec.quantum_lr}, {"params": classical, "lr": lr}]


class QuinrCodec(INRCodec):
    """quINR (see :class:`~qcodec.codecs.inr.quinr_network.QuINR`); circuits run on qcodec's batched simulator."""

    name = "quinr"
    codec_id = 2
    description = "quINR: sine embedding + simulated parameterized quantum circuit, weights coded like COIN's"
    options = {
        **COMMON_OPTIONS,
        "qubits": "number of qubits N_q",
        "layers": "QNN layers (embedding + entangling)",
        "embed": "sine embedding size M",
        "backend": "torch (qcodec's simulator) or a PennyLane device name for fitting",
        "shuffle": "shuffled data re-uploading (default on)",
        "activation": "output activation: qrelu, m-qrelu or none",
        "readout": "probability-to-pixel map: affine (learnable) or fixed",
    }
    arch_limits = {"qubits": (2, 12), "layers": (1, 64), "embed": (1, 1024)}
    presets = QUINR_PRESETS
    default_preset = "tiny"
    default_fit = FitConfig(steps=300, lr=1e-2, batch_size=4096, optimizer="adamw", param_groups=_param_groups)
    default_bits = 8
    default_qat_steps = 30
    quantum_lr = 1e-1

    def settings(self, options: Mapping[str, Any], image: Image) -> INRSettings:
        flags = {k: options[k] for k in ("shuffle", "activation", "readout") if options.get(k) is not None}
        settings = super().settings({k: v for k, v in options.items() if k not in flags}, image)
        arch = dict(settings.arch)
        if "shuffle" in flags:
            arch["shuffle"] = int(bool(flags["shuffle"]))
        if "activation" in flags:
            if flags["activation"] not in ACTIVATIONS:
                raise InvalidInputError(f"--activation must be one of {', '.join(ACTIVATIONS)}")
            arch["activation"] = ACTIVATIONS.index(flags["activation"])
        if "readout" in flags:
            if flags["readout"] not in READOUTS:
                raise InvalidInputError(f"--readout must be one of {', '.join(READOUTS)}")
            arch["fixed_readout"] = int(flags["readout"] == "fixed")
        return replace(settings, arch=arch)

    def build_model(self, arch: Arch, channels: int, backend: str = "torch") -> nn.Module:
        try:
            return QuINR(
                arch["qubits"],
                arch["layers"],
                arch["embed"],
                out_features=channels,
                shuffle=bool(arch.get("shuffle", 1)),
                activation=ACTIVATIONS[arch.get("activation", 0)],
                readout="fixed" if arch.get("fixed_readout", 0) else "affine",
                backend=backend,
            )
        except Exception as exc:  # PennyLane reports unknown devices with its own exception types
            if backend == "torch":
                raise
            raise InvalidInputError(f"cannot use PennyLane device {backend!r} ({exc})") from None

    def network_cost(self, arch: Arch, channels: int) -> NetworkCost:
        return NetworkCost(*quinr_cost(arch["qubits"], arch["layers"], arch["embed"], channels, not arch.get("fixed_readout", 0)))

    def write_arch(self, writer: ByteWriter, arch: Arch) -> None:
        writer.u8(arch["qubits"])
        writer.u8(arch["layers"])
        writer.u16(arch["embed"])
        flags = arch.get("shuffle", 1) | (arch.get("activation", 0) << 1) | (arch.get("fixed_readout", 0) << 3)
        writer.u8(flags)

    def read_arch(self, reader: ByteReader) -> Arch:
        arch = {"qubits": reader.u8(), "layers": reader.u8(), "embed": reader.u16()}
        flags = reader.u8()
        reader.expect_end()
        arch.update(shuffle=flags & 1, activation=(flags >> 1) & 3, fixed_readout=(flags >> 3) & 1)
        valid = all(low <= arch[k] <= high for k, (low, high) in self.arch_limits.items())
        if not valid or arch["activation"] >= len(ACTIVATIONS) or flags >> 4:
            raise BitstreamError(f"invalid quINR architecture in stream ({arch})")
        return arch

    def candidate_archs(self) -> list[Arch]:
        return [{"qubits": 6, "layers": 4, "embed": m} for m in FRONTIER_EMBEDS]
