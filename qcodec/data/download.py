"""Download-once data files: a cache directory, checksums, and local copies for offline use.

The cache lives in ``$QCODEC_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/qcodec``, else
``~/.cache/qcodec``. A file is downloaded only when it is missing from the cache; every
file (downloaded, cached or from a user's local copy) is checked against its published
checksum before use.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

from qcodec.data.files import write_bytes_atomic
from qcodec.errors import InvalidInputError


def cache_dir() -> Path:
    """The qcodec cache directory (created on demand by :func:`fetch`)."""
    if os.environ.get("QCODEC_CACHE_DIR"):
        return Path(os.environ["QCODEC_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "qcodec"


def file_digest(path: Path, algorithm: str) -> str:
    """Hex digest of a file (``algorithm`` is ``"md5"`` or ``"sha256"``)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, checksum: str, algorithm: str = "sha256") -> None:
    """Raise :class:`InvalidInputError` unless ``path`` exists and has ``checksum``."""
    if not path.is_file():
        raise InvalidInputError(f"missing data file: {path}")
    actual = file_digest(path, algorithm)
    if actual != checksum:
        raise InvalidInputError(f"checksum mismatch for {path} ({algorithm} {actual}, expected {checksum})")


def fetch(url: str, subdir: str, checksum: str, algorithm: str = "sha256", filename: str | None = None) -> Path:
    """The path of ``url``'s file in the cache (``<cache>/<subdir>/<filename>``), downloading it if needed.

    Raises:
        InvalidInputError: the download failed or the file's checksum is wrong.
    """
    target = cache_dir() / subdir / (filename or url.rsplit("/", 1)[-1])
    if target.is_file() and file_digest(target, algorithm) == checksum:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - fixed https URLs
            data = response.read()
    except (urllib.error.URLError, OSError) as exc:
        raise InvalidInputError(f"cannot download {url} ({exc}); pass --data-dir with a local copy") from None
    actual = hashlib.new(algorithm, data).hexdigest()
    if actual != checksum:
        raise InvalidInputError(f"downloaded {url} has the wrong checksum ({actual}, expected {checksum})")
    write_bytes_atomic(target, data)
    return target
