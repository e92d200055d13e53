"""Medical MNIST (apolanco3225, 2017): 58,954 64x64 grayscale medical images in 6 classes.

The data set is published as an image folder (``<class>/NNNNNN.jpeg``; on Kaggle and in
the GitHub repository named in :data:`SOURCE`), with no official archive or checksum, so
:func:`load_medmnist` reads a local copy only: pass the folder holding the six class
folders (or a folder holding it as ``medical-mnist/``). The offline subset in
``../shared/datasets/medical-mnist`` has the first 1,000 images of each class.

There is no official train/test split; :func:`qcodec.data.mnist.split_indices` makes a
seeded one.

>>> data = load_medmnist(Path("../shared/datasets/medical-mnist"), per_class=10)  # doctest: +SKIP
>>> data.images.shape, data.labels.bincount().tolist()  # doctest: +SKIP
(torch.Size([60, 1, 64, 64]), [10, 10, 10, 10, 10, 10])
"""

from __future__ import annotations

from pathlib import Path

from qcodec.data.image_folder import FolderImages, read_image_folder
from qcodec.errors import InvalidInputError

CLASSES: tuple[str, ...] = ("AbdomenCT", "BreastMRI", "CXR", "ChestCT", "Hand", "HeadCT")
"""Class folder names in label order (sorted, as torchvision's ``ImageFolder`` orders them)."""

SIZE = (64, 64)
SOURCE = "https://github.com/apolanco3225/Medical-MNIST-Classification (folder resized/)"
FOLDER_NAMES = ("medical-mnist", "medmnist", "resized")
"""Sub-folder names tried when ``data_dir`` holds the data set one level down."""


def _root(data_dir: Path) -> Path:
    if not data_dir.is_dir():
        raise InvalidInputError(f"Medical MNIST data directory does not exist: {data_dir}")
    if (data_dir / CLASSES[0]).is_dir():
        return data_dir
    for name in FOLDER_NAMES:
        if (data_dir / name / CLASSES[0]).is_dir():
            return data_dir / name
    raise InvalidInputError(f"no Medical MNIST class folders ({', '.join(CLASSES)}) in {data_dir}")


def load_medmnist(data_dir: str | Path | None, per_class: int | None = None) -> FolderImages:
    """Load Medical MNIST from an image folder.

    Args:
        data_dir: folder holding the six class folders (or holding it as ``medical-mnist/``).
        per_class: keep the first ``n`` images (sorted by file name) of each class.

    Returns:
        :class:`~qcodec.data.image_folder.FolderImages`: ``images (N, 1, 64, 64) uint8``,
        ``labels (N,) int64`` indexing :data:`CLASSES`.

    Raises:
        InvalidInputError: no ``data_dir`` (there is nothing to download), missing classes,
            unreadable or wrongly sized images.
    """
    if data_dir is None:
        raise InvalidInputError(f"Medical MNIST has no official archive to download; get the image folder from {SOURCE} "
                                "and pass --data-dir")
    return read_image_folder(_root(Path(data_dir)), CLASSES, mode="L", size=SIZE, per_class=per_class)
