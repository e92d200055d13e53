"""MNIST (LeCun et al. 1998) as uint8 tensors, from the official gzip IDX files.

Sources, in the order :func:`load_mnist` tries them:

1. ``data_dir`` given: the IDX files in it (``t10k-images-idx3-ubyte.gz`` etc., gzip or
   uncompressed), or in its ``mnist/`` sub-folder (so a folder of several data sets works too).
   Each gzip file found is checked against its published md5; nothing is downloaded.
2. no ``data_dir``: the files are downloaded once into ``<cache>/mnist/``
   (:func:`qcodec.data.download.fetch`), trying each of :data:`MIRRORS` in turn.

Offline copies may hold only the 10,000-image test split (``../shared/datasets/mnist``);
:func:`has_split` tells, and :func:`split_indices` makes a seeded train / held-out split of it.

Images come back as ``(N, 1, 28, 28)`` uint8 in file order, labels as ``(N,)`` int64.

>>> from pathlib import Path
>>> data = load_mnist("test", Path("../shared/datasets/mnist"))  # doctest: +SKIP
>>> data.images.shape, data.labels[:5].tolist()  # doctest: +SKIP
(torch.Size([10000, 1, 28, 28]), [7, 2, 1, 0, 4])
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from qcodec.data.download import fetch, verify
from qcodec.errors import InvalidInputError

MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
"""Base URLs serving the official files (the S3 and GCS copies are the ones torchvision and TF use)."""

FILES: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "train": (("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
              ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432")),
    "test": (("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
             ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c")),
}
"""Per split: (images file, md5), (labels file, md5) of the official gzip IDX files."""

CLASSES: tuple[str, ...] = tuple(str(d) for d in range(10))
SPLITS = ("train", "test")


class LabelledImages(NamedTuple):
    """A labelled split (MNIST, CIFAR-10): ``images (N, C, H, W) uint8``, ``labels (N,) int64``, and where it came from."""

    images: torch.Tensor
    labels: torch.Tensor
    source: str


def parse_idx(data: bytes) -> np.ndarray:
    """Decode an (uncompressed) IDX file: big-endian header, then the array.

    Raises:
        InvalidInputError: not an unsigned-byte IDX file, or its length disagrees with its header.
    """
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise InvalidInputError("not an unsigned-byte IDX file (bad magic number)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise InvalidInputError("truncated IDX header")
    shape = tuple(int.from_bytes(data[4 + 4 * k: 8 + 4 * k], "big") for k in range(ndim))
    if len(data) - header != int(np.prod(shape)):
        raise InvalidInputError(f"IDX payload has {len(data) - header} bytes, header says shape {shape}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _root(data_dir: Path) -> Path:
    """``data_dir`` itself, or its ``mnist/`` sub-folder when only that holds IDX files."""
    if not data_dir.is_dir():
        raise InvalidInputError(f"MNIST data directory does not exist: {data_dir}")
    if not any(data_dir.glob("*-ubyte*")) and (data_dir / "mnist").is_dir():
        return data_dir / "mnist"
    return data_dir


def _local_file(root: Path, name: str, md5: str) -> Path | None:
    """The gzip file (md5-checked) or its uncompressed twin in ``root``, or None."""
    if (root / name).is_file():
        verify(root / name, md5, "md5")
        return root / name
    plain = root / name.removesuffix(".gz")
    return plain if plain.is_file() else None


def _download(name: str, md5: str) -> Path:
    errors = []
    for base in MIRRORS:
        try:
            return fetch(base + name, "mnist", md5, "md5")
        except InvalidInputError as exc:
            errors.append(str(exc))
    raise InvalidInputError(f"cannot download MNIST {name} from any mirror; pass --data-dir with a local copy "
                            f"({errors[-1]})")


def _read(path: Path) -> np.ndarray:
    try:
        raw = path.read_bytes()
        return parse_idx(gzip.decompress(raw) if path.suffix == ".gz" else raw)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InvalidInputError(f"cannot read {path}: {exc}") from None


def has_split(split: str, data_dir: Path | None) -> bool:
    """Whether ``split`` can be loaded: always with no ``data_dir`` (downloadable), else if its files are there."""
    _check_split(split)
    if data_dir is None:
        return True
    root = _root(Path(data_dir))
    return all((root / n).is_file() or (root / n.removesuffix(".gz")).is_file() for n, _ in FILES[split])


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise InvalidInputError(f"unknown MNIST split {split!r}; use 'train' or 'test'")


def load_mnist(split: str = "test", data_dir: str | Path | None = None, download: bool = True) -> LabelledImages:
    """Load an MNIST split as tensors (see the module docstring for the sources).

    Args:
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000).
        data_dir: a local copy (never downloads); ``None`` uses the cache.
        download: with no ``data_dir``, download files missing from the cache.

    Returns:
        :class:`LabelledImages` with ``images (N, 1, 28, 28) uint8`` and ``labels (N,) int64``.

    Raises:
        InvalidInputError: unknown split, missing files, checksum or download failure, bad IDX data.
    """
    _check_split(split)
    paths: list[Path] = []
    if data_dir is None:
        if not download:
            raise InvalidInputError("no MNIST data directory given and downloading is off")
        paths = [_download(name, md5) for name, md5 in FILES[split]]
        source = f"official MNIST {split} split (cache {paths[0].parent})"
    else:
        root = _root(Path(data_dir))
        for name, md5 in FILES[split]:
            path = _local_file(root, name, md5)
            if path is None:
                raise InvalidInputError(f"no MNIST {split} split in {root}: {name} is missing")
            paths.append(path)
        source = f"MNIST {split} split from {root}"
    images, labels = (_read(p) for p in paths)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.shape != (images.shape[0],):
        raise InvalidInputError(f"unexpected MNIST shapes: images {images.shape}, labels {labels.shape}")
    if labels.max(initial=0) > 9:
        raise InvalidInputError("MNIST labels must be digits 0-9")
    return LabelledImages(
        torch.from_numpy(images.copy()).unsqueeze(1),
        torch.from_numpy(labels.astype(np.int64)),
        source,
    )


def split_indices(n: int, held_out: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded random split of ``range(n)``: ``(train (n - held_out,), held_out (held_out,))`` int64 indices.

    The same ``(n, held_out, seed)`` always gives the same split (torch's CPU generator).
    """
    if not 0 < held_out < n:
        raise InvalidInputError(f"cannot hold out {held_out} of {n} images")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return order[: n - held_out], order[n - held_out:]
