"""Per-image benchmark results on disk, so an interrupted run resumes where it stopped.

One small JSON file per (codec, rate point options, codec library versions, image
content hash, qcodec version), under ``<cache>/bench/`` by default (see
:func:`qcodec.data.download.cache_dir`), and beside it the coded file (``<key>.bin``: the
JPEG, ``.qic``, ... bytes) that galleries and comparison sheets decode again. Each file is
written atomically as soon as its result is known; a damaged or unreadable entry is treated
as missing and recomputed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from qcodec import __version__
from qcodec.data.download import cache_dir
from qcodec.data.files import make_folder, write_bytes_atomic


def default_cache_root() -> Path:
    """``<qcodec cache>/bench``."""
    return cache_dir() / "bench"


def result_key(codec: str, version: str, options: Mapping[str, Any], image_digest: str) -> str:
    """The cache key (SHA-256 hex) of one codec run on one image."""
    identity = {
        "codec": codec,
        "codec_version": version,
        "options": dict(options),
        "image": image_digest,
        "qcodec": __version__,
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


class ResultCache:
    """Cached per-image result rows by :func:`result_key`; ``root=None`` disables caching."""

    def __init__(self, root: Path | None) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / key[:2] / f"{key}.json"

    def load(self, key: str) -> dict[str, Any] | None:
        """The stored row for ``key``, or ``None``."""
        if self.root is None:
            return None
        try:
            row = json.loads(self._path(key).read_text())
        except (OSError, ValueError):
            return None
        return row if isinstance(row, dict) else None

    def load_file(self, key: str) -> bytes | None:
        """The coded file stored with ``key``'s row, or ``None`` (older entries have none)."""
        if self.root is None:
            return None
        try:
            return self._path(key).with_suffix(".bin").read_bytes()
        except OSError:
            return None

    def store(self, key: str, row: Mapping[str, Any], data: bytes | None = None) -> None:
        """Save ``row`` (and the coded file ``data``) under ``key``, atomically; the row last, so
        a row never points at a missing file of this run.

        Raises:
            InvalidInputError: the cache directory cannot be created or written.
        """
        if self.root is None:
            return
        path = self._path(key)
        make_folder(path.parent)
        if data is not None:
            write_bytes_atomic(path.with_suffix(".bin"), data)
        write_bytes_atomic(path, json.dumps(row, sort_keys=True).encode())
