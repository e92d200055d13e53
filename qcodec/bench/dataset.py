"""The images a benchmark runs on: ``kodak`` or a folder, optionally a subset (``--images``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qcodec.data.files import read_bytes
from qcodec.data.image_folder import IMAGE_SUFFIXES, image_files
from qcodec.data.image_io import Image, decode_image_bytes
from qcodec.data.kodak import KODAK_COUNT, kodak_paths
from qcodec.errors import InvalidInputError


@dataclass(frozen=True)
class BenchImage:
    """One benchmark image.

    Attributes:
        name: the file name without extension (``kodim02``).
        path: where it is read from.
        digest: SHA-256 of its decoded pixels and shape (the cache key; independent of the file format).
        width, height, channels: its size in pixels; channels 1 (grey) or 3 (RGB).
        notes: conversions applied on reading (see :mod:`qcodec.data.image_io`).
    """

    name: str
    path: Path
    digest: str
    width: int
    height: int
    channels: int
    notes: tuple[str, ...] = ()


def read_image(path: Path) -> Image:
    """Decode the image file at ``path`` (``InvalidInputError`` if it is not a usable image)."""
    return decode_image_bytes(read_bytes(path), str(path))


def pixel_digest(pixels: np.ndarray) -> str:
    """SHA-256 hex digest of an image's shape and ``uint8`` samples."""
    digest = hashlib.sha256(repr(tuple(pixels.shape)).encode())
    digest.update(np.ascontiguousarray(pixels, dtype=np.uint8).tobytes())
    return digest.hexdigest()


def parse_selection(text: str | None, count: int) -> list[int] | None:
    """1-based image numbers from ``--images`` (``"2,15"``, ``"1-4,9"``); ``None`` means all ``count``.

    Raises:
        InvalidInputError: not numbers, a number outside 1..count, or a repeated number.
    """
    if text is None:
        return None
    chosen: list[int] = []
    try:
        for part in text.split(","):
            first, _, last = part.strip().partition("-")
            low = int(first)
            high = int(last) if last else low
            if high < low:
                raise ValueError
            chosen.extend(range(low, high + 1))
    except ValueError:
        raise InvalidInputError(f"--images must be numbers or ranges like 2,15 or 1-4, got {text!r}") from None
    bad = next((i for i in chosen if not 1 <= i <= count), None)
    if bad is not None:
        raise InvalidInputError(f"--images: image {bad} does not exist (the dataset has images 1-{count})")
    if len(set(chosen)) != len(chosen):
        raise InvalidInputError(f"--images lists an image twice: {text!r}")
    return chosen


def folder_images(folder: Path) -> list[Path]:
    """The image files directly in ``folder``, sorted by name.

    Raises:
        InvalidInputError: the folder is missing or holds no image files.
    """
    if not folder.is_dir():
        raise InvalidInputError(f"dataset must be 'kodak' or a folder of images; no such folder: {folder}")
    files = image_files(folder)
    if not files:
        raise InvalidInputError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {folder}")
    return files


def load_images(dataset: str, data_dir: Path | None = None, selection: str | None = None) -> list[BenchImage]:
    """Resolve a benchmark's images: read each once, hash its pixels.

    ``dataset`` is ``kodak`` (downloaded and cached, or from ``data_dir``; ``--images``
    numbers are Kodak's own, 1-24), a folder (``--images`` numbers its files in name order)
    or one image file.

    Raises:
        InvalidInputError: a bad dataset, folder, selection or image.
    """
    if dataset.lower() == "kodak":
        paths = kodak_paths(parse_selection(selection, KODAK_COUNT), data_dir)
    else:
        if data_dir is not None:
            raise InvalidInputError("--data-dir is for 'kodak'; give a folder dataset as the argument itself")
        single = Path(dataset)
        files = [single] if single.is_file() else folder_images(single)
        chosen = parse_selection(selection, len(files))
        paths = files if chosen is None else [files[i - 1] for i in chosen]
    images = []
    for path in paths:
        image = read_image(path)
        images.append(
            BenchImage(
                name=path.stem,
                path=path,
                digest=pixel_digest(image.pixels),
                width=image.width,
                height=image.height,
                channels=image.channels,
                notes=tuple(image.notes),
            )
        )
    names = [i.name for i in images]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise InvalidInputError(f"two images in {dataset} are both called {duplicate!r}")
    return images
