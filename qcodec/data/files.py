"""Safe file writing: outputs appear whole or not at all."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from qcodec.errors import InvalidInputError


def make_folder(folder: str | os.PathLike[str]) -> None:
    """Create ``folder`` and its parents if missing.

    Raises:
        InvalidInputError: it cannot be created (one line naming it and why).
    """
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(f"cannot create folder {folder}: {exc.strerror}") from None


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory.

    The temporary file is renamed over ``path`` only after it was written and flushed,
    so a failure or an interrupt never leaves a partial or half-overwritten output.

    Raises:
        InvalidInputError: the target directory does not exist or is not writable.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise InvalidInputError(f"output directory does not exist: {directory}")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise InvalidInputError(f"cannot write to {directory}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_name, 0o666 & ~umask)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """Read a whole file, turning OS errors into one-line :class:`InvalidInputError`."""
    target = Path(path)
    if not target.exists():
        raise InvalidInputError(f"no such file: {target}")
    if target.is_dir():
        raise InvalidInputError(f"is a directory, not a file: {target}")
    try:
        return target.read_bytes()
    except OSError as exc:
        raise InvalidInputError(f"cannot read {target}: {exc.strerror}") from exc


def save_torch_atomic(path: str | os.PathLike[str], obj: Any) -> None:
    """``torch.save(obj)`` to ``path`` through :func:`write_bytes_atomic` (whole or not at all).

    Raises:
        InvalidInputError: the target directory does not exist or is not writable.
    """
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    write_bytes_atomic(path, buffer.getvalue())
