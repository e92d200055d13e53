"""Image-folder data sets: ``root/<class>/<image>``, one sub-folder per class.

The layout of torchvision's ``ImageFolder``, used by the Medical MNIST release and by
the offline CIFAR-10 subset (``root/<split>/<class>/``). Classes are the sub-folders in
sorted order unless given; files are read in sorted order, so results are deterministic.

>>> data = read_image_folder(Path("../shared/datasets/medical-mnist"), mode="L", per_class=2)  # doctest: +SKIP
>>> data.images.shape, data.classes[:2]  # doctest: +SKIP
(torch.Size([12, 1, 64, 64]), ('AbdomenCT', 'BreastMRI'))
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image

from qcodec.data.files import read_bytes
from qcodec.data.image_io import decode_image_bytes
from qcodec.errors import InvalidInputError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".ppm", ".pgm", ".pnm", ".webp"})
"""File types image folders are scanned for (others are ignored)."""


class FolderImages(NamedTuple):
    """``images (N, C, H, W) uint8``, ``labels (N,) int64`` (indices into ``classes``), ``classes``."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]


def image_files(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def read_image_folder(
    root: Path,
    classes: Sequence[str] | None = None,
    mode: str = "RGB",
    size: tuple[int, int] | None = None,
    per_class: int | None = None,
) -> FolderImages:
    """Read every image under ``root/<class>/`` into one tensor.

    Args:
        root: folder with one sub-folder per class.
        classes: class names in label order; ``None`` = the sub-folders, sorted. Listed
            classes must all exist; sub-folders not listed are an error.
        mode: PIL mode every image is converted to: ``"L"`` (1 channel) or ``"RGB"`` (3).
        size: ``(height, width)`` every image must have (``None``: the first image's).
        per_class: keep the first ``n`` files (sorted by name) of each class.

    Returns:
        :class:`FolderImages` with ``images (N, C, H, W) uint8`` in class-then-file order.

    Raises:
        InvalidInputError: missing folder or class, unreadable image, mismatched size, no images.
    """
    if mode not in ("L", "RGB"):
        raise InvalidInputError(f"image mode must be 'L' or 'RGB', got {mode!r}")
    if per_class is not None and per_class < 1:
        raise InvalidInputError(f"images per class must be at least 1, got {per_class}")
    if not root.is_dir():
        raise InvalidInputError(f"image folder does not exist: {root}")
    present = sorted(p.name for p in root.iterdir() if p.is_dir())
    names = tuple(present) if classes is None else tuple(classes)
    missing = [c for c in names if c not in present]
    extra = [c for c in present if c not in names]
    if missing or extra:
        what = f"lacks class folders {', '.join(missing)}" if missing else f"has unknown class folders {', '.join(extra)}"
        raise InvalidInputError(f"{root} {what}")
    images: list[np.ndarray] = []
    labels: list[int] = []
    for label, name in enumerate(names):
        files = image_files(root / name)
        for path in files[:per_class] if per_class is not None else files:
            try:
                with Image.open(path) as image:
                    pixels = np.asarray(image.convert(mode), dtype=np.uint8)
            except OSError as exc:
                raise InvalidInputError(f"cannot read image {path}: {exc}") from None
            size = size or (pixels.shape[0], pixels.shape[1])
            if pixels.shape[:2] != tuple(size):
                raise InvalidInputError(f"{path} is {pixels.shape[1]}x{pixels.shape[0]}, expected {size[1]}x{size[0]}")
            images.append(pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1))
            labels.append(label)
    if not images:
        raise InvalidInputError(f"no images found under {root}")
    return FolderImages(torch.from_numpy(np.stack(images)), torch.tensor(labels, dtype=torch.int64), names)


def read_training_image(path: Path) -> torch.Tensor:
    """The image at ``path`` as ``uint8 (3, H, W)`` (grayscale repeated to three channels).

    Raises:
        InvalidInputError: the file does not read as an image.
    """
    try:
        pixels = decode_image_bytes(read_bytes(path), str(path)).pixels
    except InvalidInputError as exc:
        raise InvalidInputError(f"training image {path} cannot be read ({exc})") from None
    if pixels.shape[2] == 1:
        pixels = np.repeat(pixels, 3, axis=2)
    return torch.from_numpy(pixels.copy()).permute(2, 0, 1)


def training_image_paths(folder: Path) -> list[Path]:
    """The image files in ``folder`` (:func:`~qcodec.data.image_folder.image_files`).

    Raises:
        InvalidInputError: the folder does not exist.
    """
    if not folder.is_dir():
        raise InvalidInputError(f"training data folder {folder} does not exist")
    return image_files(folder)
