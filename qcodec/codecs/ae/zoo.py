"""Autoencoder model files: the bundled quality levels and user-trained ones.

A model file (``.pt``, read with ``torch.load(weights_only=True)``) is a dict::

    format      "qcodec-ae"
    version     MODEL_FORMAT_VERSION
    model_id    u8, the quality level it serves (1 = lowest rate)
    lmbda       the rate-distortion lambda it was trained with
    channels, latent_channels    N and M of the network
    state       the network's weights, float16
    table_lo    (M,) int32: first integer of each channel's support
    table_freqs (M, K) int32: each channel's integer frequencies (sum 2**16), zero-padded
    table_size  (M,) int32: support length of each channel
    recipe      how it was trained (data folder name, steps, patch, batch, ...)

A stream names its model by ``model_id``, ``version`` and a 32-bit checksum of the file's
bytes; decoding finds the file among the bundled models and the files or folders listed in
the ``QCODEC_MODEL_PATH`` environment variable (``os.pathsep``-separated), and refuses a
stream whose model it cannot find.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from qcodec.codecs.ae.network import FactorizedAutoencoder
from qcodec.coding.entropy import TABLE_PRECISION, FrequencyTable, frequency_table
from qcodec.data.files import save_torch_atomic
from qcodec.errors import BitstreamError, InvalidInputError

MODEL_FORMAT = "qcodec-ae"
MODEL_FORMAT_VERSION = 1
BUNDLED_DIR = Path(__file__).parent / "weights"
MODEL_PATH_ENV = "QCODEC_MODEL_PATH"
TAIL_MASS = 1e-9
"""Probability left outside a channel's coded support on each side (values beyond are clamped)."""
SUPPORT_LIMIT = 1023
"""Largest latent magnitude a table may cover; export refuses a density that needs more."""


@dataclass
class AEModel:
    """A loaded model file: the network (float32, eval mode, CPU) and its coding tables."""

    model_id: int
    version: int
    checksum: int
    lmbda: float
    network: FactorizedAutoencoder
    tables: list[FrequencyTable]
    recipe: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def quality(self) -> int:
        return self.model_id


def latent_tables(network: FactorizedAutoencoder) -> list[FrequencyTable]:
    """Integer frequency tables of each latent channel's learned density.

    Each table covers the integers whose bins hold all but at most :data:`TAIL_MASS` of the
    density on each side.

    Raises:
        InvalidInputError: a channel's density reaches beyond ``±SUPPORT_LIMIT``.
    """
    masses = network.density.bin_masses(-SUPPORT_LIMIT, SUPPORT_LIMIT).numpy()
    below_support = network.density.cdf(-SUPPORT_LIMIT - 0.5).numpy()
    tables = []
    for channel, (row, below) in enumerate(zip(masses, below_support)):
        cdf = np.cumsum(row)
        first = int(np.searchsorted(below + cdf, TAIL_MASS))
        last = int(np.searchsorted(below + cdf, 1.0 - TAIL_MASS))
        if first == 0 or last >= len(row) - 1:
            raise InvalidInputError(f"latent channel {channel}'s density is wider than ±{SUPPORT_LIMIT}; cannot build its table")
        tables.append(frequency_table(row[first : last + 1], first - SUPPORT_LIMIT))
    return tables


def save_model_file(network: FactorizedAutoencoder, path: Path, model_id: int, lmbda: float, recipe: dict[str, Any]) -> None:
    """Export ``network`` as a model file at ``path`` (weights rounded to float16, tables from the rounded weights)."""
    if not 1 <= model_id <= 255:
        raise InvalidInputError(f"model id (quality) must be 1..255, got {model_id}")
    state = {k: v.detach().to(torch.float16) for k, v in network.state_dict().items()}
    rounded = FactorizedAutoencoder(network.channels, network.latent_channels)
    rounded.load_state_dict({k: v.float() for k, v in state.items()})
    tables = latent_tables(rounded)
    width = max(len(t.freqs) for t in tables)
    freqs = np.zeros((len(tables), width), dtype=np.int32)
    for row, table in zip(freqs, tables):
        row[: len(table.freqs)] = table.freqs
    payload = {
        "format": MODEL_FORMAT,
        "version": MODEL_FORMAT_VERSION,
        "model_id": model_id,
        "lmbda": float(lmbda),
        "channels": network.channels,
        "latent_channels": network.latent_channels,
        "state": state,
        "table_lo": torch.tensor([t.lo for t in tables], dtype=torch.int32),
        "table_freqs": torch.from_numpy(freqs),
        "table_size": torch.tensor([len(t.freqs) for t in tables], dtype=torch.int32),
        "recipe": recipe,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    save_torch_atomic(path, payload)


def checksum(data: bytes) -> int:
    """The 32-bit model checksum a stream carries: the first 4 bytes of SHA-256, big-endian."""
    return int.from_bytes(hashlib.sha256(data).digest()[:4], "big")


@lru_cache(maxsize=32)
def _load(path: Path, mtime_ns: int) -> AEModel:
    data = path.read_bytes()
    try:
        raw = torch.load(io.BytesIO(data), weights_only=True)
        if not isinstance(raw, dict) or raw.get("format") != MODEL_FORMAT:
            raise ValueError("not a qcodec-ae dict")
        if raw["version"] != MODEL_FORMAT_VERSION:
            raise InvalidInputError(
                f"{path} is model format version {raw['version']}; this qcodec reads {MODEL_FORMAT_VERSION}"
            )
        if not 1 <= raw["model_id"] <= 255:
            raise ValueError("model id out of range")
        network = FactorizedAutoencoder(raw["channels"], raw["latent_channels"])
        network.load_state_dict({k: v.float() for k, v in raw["state"].items()})
        tables = [
            FrequencyTable(int(lo), freqs[:size].numpy().copy())
            for lo, freqs, size in zip(raw["table_lo"].tolist(), raw["table_freqs"], raw["table_size"].tolist())
        ]
        if len(tables) != network.latent_channels or any(t.freqs.sum() != 1 << TABLE_PRECISION or t.freqs.min() < 1 for t in tables):
            raise ValueError("coding tables do not match the network")
        model = AEModel(raw["model_id"], raw["version"], checksum(data), float(raw["lmbda"]), network.eval(), tables, raw["recipe"], path)
    except InvalidInputError:
        raise
    except Exception as exc:  # torch and malformed dicts fail with assorted exception types
        raise InvalidInputError(f"{path} is not a qcodec autoencoder model file ({exc.__class__.__name__})") from None
    return model


def load_model_file(path: str | Path) -> AEModel:
    """Load (and cache) the model file at ``path``."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"model file {path} does not exist")
    return _load(path.resolve(), path.stat().st_mtime_ns)


def _model_files(folder: Path) -> list[Path]:
    """Model files in ``folder``: ``ae-*.pt``, sorted by name."""
    return sorted(folder.glob("ae-*.pt"))


def _search_path() -> list[Path]:
    extra = [Path(p) for p in os.environ.get(MODEL_PATH_ENV, "").split(os.pathsep) if p]
    files: list[Path] = []
    for entry in [BUNDLED_DIR, *extra]:
        if entry.is_dir():
            files += _model_files(entry)
        elif entry.is_file():
            files.append(entry)
    return files


def bundled_models() -> list[AEModel]:
    """The models shipped with qcodec, by quality (1 = lowest rate)."""
    return sorted((load_model_file(p) for p in _model_files(BUNDLED_DIR)), key=lambda m: m.model_id)


def find_model(model_id: int, version: int, digest: int) -> AEModel:
    """The model a stream names; :class:`BitstreamError` if no known file matches."""
    for path in _search_path():
        try:
            model = load_model_file(path)
        except InvalidInputError:  # a broken file elsewhere on the path must not block this stream
            continue
        if (model.model_id, model.version, model.checksum) == (model_id, version, digest):
            return model
    raise BitstreamError(
        f"stream needs autoencoder model {model_id} (version {version}, checksum {digest:08x}), "
        f"which this qcodec does not have; put its file in {MODEL_PATH_ENV}"
    )
