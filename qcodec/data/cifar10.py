"""CIFAR-10 (Krizhevsky 2009) as uint8 tensors, from the official archive or an image folder.

Sources, in the order :func:`load_cifar10` tries them:

1. ``data_dir`` given, holding ``train/<class>/*.{png,jpg}`` and ``test/<class>/*`` (image-folder
   layout, e.g. the offline subset in ``../shared/datasets/cifar10``);
2. ``data_dir`` given, holding the official ``cifar-10-python.tar.gz`` or its extracted
   ``cifar-10-batches-py/`` folder;
3. no ``data_dir``: the official archive, downloaded once into the qcodec cache
   (:func:`qcodec.data.download.fetch`) and checked against its published md5.

Images come back as ``(N, 3, 32, 32)`` uint8 in class-then-file order, labels as ``(N,)``
int64 indices into :data:`CLASSES`. ``per_class`` keeps the first ``n`` images of each class
(in the source's order), so subsets are deterministic and balanced.

>>> from pathlib import Path
>>> data = load_cifar10("test", Path("../shared/datasets/cifar10"), per_class=2)  # doctest: +SKIP
>>> data.images.shape, data.labels.tolist()  # doctest: +SKIP
(torch.Size([20, 3, 32, 32]), [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9])
"""

from __future__ import annotations

import pickle
import tarfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from qcodec.data.download import fetch, verify
from qcodec.data.image_folder import image_files
from qcodec.data.mnist import LabelledImages
from qcodec.errors import InvalidInputError

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"
ARCHIVE = "cifar-10-python.tar.gz"
BATCH_DIR = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCHES = ("test_batch",)

CLASSES: tuple[str, ...] = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
"""Class names in label order (as in the official ``batches.meta``)."""

MEAN: tuple[float, float, float] = (0.4914, 0.4822, 0.4465)
STD: tuple[float, float, float] = (0.2470, 0.2435, 0.2616)
"""Per-channel mean and standard deviation of the official training set, pixels in [0, 1]."""

SPLITS = ("train", "test")


def normalize(images: torch.Tensor) -> torch.Tensor:
    """``uint8 (N, 3, H, W) -> float32 (N, 3, H, W)``, scaled to [0, 1] then standardised with :data:`MEAN`/:data:`STD`."""
    x = images.to(torch.float32) / 255.0
    mean = torch.tensor(MEAN, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(STD, dtype=torch.float32).view(1, 3, 1, 1)
    return (x - mean) / std


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise InvalidInputError(f"unknown CIFAR-10 split {split!r}; use 'train' or 'test'")


def _take_per_class(images: np.ndarray, labels: np.ndarray, per_class: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Keep the first ``per_class`` of each class, then order by class (stable within a class)."""
    order = np.argsort(labels, kind="stable")
    if per_class is not None:
        ranks = np.zeros(labels.size, dtype=np.int64)
        seen: dict[int, int] = {}
        for index in order:
            label = int(labels[index])
            ranks[index] = seen.get(label, 0)
            seen[label] = ranks[index] + 1
        order = order[ranks[order] < per_class]
    return images[order], labels[order]


def _from_batches(read: dict[str, bytes], split: str) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for batch in TRAIN_BATCHES if split == "train" else TEST_BATCHES:
        if batch not in read:
            raise InvalidInputError(f"CIFAR-10 archive lacks {BATCH_DIR}/{batch}")
        entry = pickle.loads(read[batch], encoding="bytes")  # noqa: S301 - checksum-verified official archive
        images.append(np.asarray(entry[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.append(np.asarray(entry[b"labels"], dtype=np.int64))
    return np.concatenate(images), np.concatenate(labels)


def _read_archive(path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    wanted = set(TRAIN_BATCHES if split == "train" else TEST_BATCHES)
    read: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                name = member.name.rsplit("/", 1)[-1]
                if name in wanted and member.isfile():
                    handle = archive.extractfile(member)
                    if handle is not None:
                        read[name] = handle.read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise InvalidInputError(f"cannot read CIFAR-10 archive {path}: {exc}") from None
    return _from_batches(read, split)


def _read_batch_dir(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    names = TRAIN_BATCHES if split == "train" else TEST_BATCHES
    return _from_batches({n: (folder / n).read_bytes() for n in names if (folder / n).is_file()}, split)


def _read_image_folder(folder: Path, per_class: int | None) -> tuple[np.ndarray, np.ndarray]:
    present = sorted(p.name for p in folder.iterdir() if p.is_dir())
    unknown = [name for name in present if name not in CLASSES]
    if unknown:
        raise InvalidInputError(f"{folder} has folders that are not CIFAR-10 classes: {', '.join(unknown)}")
    images, labels = [], []
    for label, name in enumerate(CLASSES):
        files = image_files(folder / name) if name in present else []
        for path in files[:per_class] if per_class is not None else files:
            try:
                with Image.open(path) as image:
                    pixels = np.asarray(image.convert("RGB"), dtype=np.uint8)
            except OSError as exc:
                raise InvalidInputError(f"cannot read image {path}: {exc}") from None
            if pixels.shape != (32, 32, 3):
                raise InvalidInputError(f"{path} is {pixels.shape[1]}x{pixels.shape[0]}, CIFAR-10 images are 32x32")
            images.append(pixels.transpose(2, 0, 1))
            labels.append(label)
    if not images:
        raise InvalidInputError(f"no images found under {folder}")
    return np.stack(images), np.asarray(labels, dtype=np.int64)


def load_cifar10(
    split: str = "train",
    data_dir: str | Path | None = None,
    per_class: int | None = None,
    download: bool = True,
) -> LabelledImages:
    """Load a CIFAR-10 split as tensors (see the module docstring for the sources).

    Args:
        split: ``"train"`` or ``"test"``.
        data_dir: a local copy (image folder, official archive, or extracted batches);
            ``None`` uses the cached official archive.
        per_class: keep the first ``n`` images of each class; ``None`` keeps all.
        download: with no ``data_dir``, download the archive when it is not cached.

    Returns:
        :class:`LabelledImages` with ``images (N, 3, 32, 32) uint8`` and ``labels (N,) int64``.

    Raises:
        InvalidInputError: unknown split, nothing usable at ``data_dir``, download or checksum failure.
    """
    _check_split(split)
    if per_class is not None and per_class < 1:
        raise InvalidInputError(f"images per class must be at least 1, got {per_class}")
    if data_dir is None:
        if not download:
            raise InvalidInputError("no CIFAR-10 data directory given and downloading is off")
        path = fetch(URL, "cifar10", MD5, "md5")
        images, labels = _read_archive(path, split)
        return LabelledImages(*map(torch.from_numpy, _take_per_class(images, labels, per_class)), f"{URL} ({split})")
    root = Path(data_dir)
    if not root.is_dir():
        raise InvalidInputError(f"CIFAR-10 data directory does not exist: {root}")
    if (root / split).is_dir():
        images, labels = _read_image_folder(root / split, per_class)
        return LabelledImages(torch.from_numpy(images), torch.from_numpy(labels), f"{root / split} (image folder)")
    for folder in (root / BATCH_DIR, root):
        if (folder / TEST_BATCHES[0]).is_file():
            images, labels = _read_batch_dir(folder, split)
            selected = _take_per_class(images, labels, per_class)
            return LabelledImages(*map(torch.from_numpy, selected), f"{folder} (official batches, {split})")
    if (root / ARCHIVE).is_file():
        verify(root / ARCHIVE, MD5, "md5")
        images, labels = _read_archive(root / ARCHIVE, split)
        selected = _take_per_class(images, labels, per_class)
        return LabelledImages(*map(torch.from_numpy, selected), f"{root / ARCHIVE} ({split})")
    raise InvalidInputError(
        f"no CIFAR-10 data in {root}: expected {split}/<class>/ image folders, {BATCH_DIR}/ or {ARCHIVE}"
    )
