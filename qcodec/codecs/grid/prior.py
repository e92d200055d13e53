"""A learned start for the grid codec's context model, fitted on other images.

Fitting a grid model from a randomly initialised context model is erratic: on Kodak crops
the seed alone moved the rate-distortion cost by 6-14 %, and the context model's
initialisation was the cause (``docs/grid.md``). The encoder therefore starts the context
model from a *prior*: the context model of grid fits to a few training images (BSDS300,
never Kodak), chained so that each fit starts from the previous one's context model. It is
only a starting point: fitting moves it, and the encoder sends the fitted weights as before,
so streams and the decoder do not depend on it.

Prior file (``torch.load(weights_only=True)``)::

    format    CONTEXT_PRIOR_FORMAT
    version   CONTEXT_PRIOR_VERSION
    hidden, layers   the context model's width and depth
    state     its weights, float32, ``ContextModel.state_dict()`` names
    recipe    how it was made (PriorConfig fields, data folder name, image names)

The bundled prior (:data:`BUNDLED_PRIOR`) was made with ``qcodec train grid-context``
(the command is in ``docs/grid.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from qcodec.codecs.grid.fit import GridFitConfig, fit_grid
from qcodec.codecs.grid.network import ContextModel, GridModel
from qcodec.data.download import file_digest
from qcodec.data.files import save_torch_atomic
from qcodec.data.image_folder import read_training_image, training_image_paths
from qcodec.errors import InvalidInputError

CONTEXT_PRIOR_FORMAT = "qcodec-grid-context"
CONTEXT_PRIOR_VERSION = 1
BUNDLED_PRIOR = Path(__file__).parent / "weights" / "grid-context.pt"


@dataclass(frozen=True)
class PriorConfig:
    """How to make a context prior.

    Attributes:
        images: how many training images to fit in turn (picked at random with ``seed``).
        lmbda: rate-distortion lambda of the fits.
        fit_steps: fitting steps per image (the codec's recipe otherwise).
        hidden, layers: the context model's width and depth.
        seed: seed of the image pick, the first context model and the fits.
    """

    images: int = 2
    lmbda: float = 0.002
    fit_steps: int = 600
    hidden: int = 16
    layers: int = 2
    seed: int = 0


PriorProgress = Callable[[str, int, int], None]
"""``(what, step, total)``: ``what`` names the image being fitted."""


def train_context_prior(images: list[torch.Tensor], config: PriorConfig, progress: PriorProgress | None = None) -> ContextModel:
    """Fit a grid model to each of ``images`` in turn and return the last fit's context model.

    Each image is ``(1, C, H, W)`` in ``[0, 1]`` (``C`` 1 or 3) and is fitted with the
    codec's recipe (``config.lmbda``, ``config.fit_steps`` steps); the first fit starts from a
    random context model (seed ``config.seed``), every later one from the previous fit's.
    """
    torch.manual_seed(config.seed)
    context = ContextModel(config.hidden, config.layers)
    fit = replace(GridFitConfig(), lmbda=config.lmbda, steps=config.fit_steps)
    for index, image in enumerate(images):
        height, width = image.shape[-2:]
        model = GridModel(height, width, image.shape[1], context_hidden=config.hidden, context_layers=config.layers)
        model.context = context
        report = None
        if progress is not None:
            name = f"image {index + 1}/{len(images)}"
            report = lambda event, name=name: progress(name, event.step, event.total)  # noqa: E731
        fit_grid(model, image, fit, seed=config.seed + index, progress=report)
    return context.eval()


def save_context_prior(context: ContextModel, path: Path, recipe: dict[str, Any]) -> None:
    """Write ``context`` as a prior file at ``path`` (atomically)."""
    payload = {
        "format": CONTEXT_PRIOR_FORMAT,
        "version": CONTEXT_PRIOR_VERSION,
        "hidden": context.hidden,
        "layers": len(context.mlp) + 1,
        "state": {k: v.detach().to(torch.float32).clone() for k, v in context.state_dict().items()},
        "recipe": recipe,
    }
    save_torch_atomic(path, payload)


@lru_cache(maxsize=4)
def load_context_prior(path: Path = BUNDLED_PRIOR) -> ContextModel:
    """The context model stored in prior file ``path`` (eval mode; do not modify it).

    Raises:
        InvalidInputError: the file is missing or is not a prior file.
    """
    try:
        payload = torch.load(path, weights_only=True)
        if payload.get("format") != CONTEXT_PRIOR_FORMAT or payload.get("version") != CONTEXT_PRIOR_VERSION:
            raise ValueError("not a context prior of this version")
        context = ContextModel(int(payload["hidden"]), int(payload["layers"]))
        context.load_state_dict(payload["state"])
    except FileNotFoundError:
        raise InvalidInputError(f"no such context prior file: {path}") from None
    except Exception as exc:  # torch.load and load_state_dict raise assorted types
        raise InvalidInputError(f"{path} is not a grid context prior file ({exc})") from None
    return context.eval()


@lru_cache(maxsize=4)
def prior_checksum(path: Path = BUNDLED_PRIOR) -> str:
    """First 8 hex digits of the SHA-256 of prior file ``path`` (what identifies it in caches)."""
    return file_digest(path, "sha256")[:8]


def start_context_(model: GridModel, prior: ContextModel | None = None) -> bool:
    """Copy ``prior`` (default: the bundled one) into ``model.context`` if their shapes match.

    Returns whether it did; a model of another width or depth keeps its random start.
    """
    prior = load_context_prior() if prior is None else prior
    if prior.hidden != model.context.hidden or len(prior.mlp) != len(model.context.mlp):
        return False
    model.context.load_state_dict(prior.state_dict())
    return True


def pick_training_images(folder: Path, count: int, seed: int) -> tuple[list[str], list[torch.Tensor]]:
    """``count`` images of ``folder`` picked at random with ``seed``: their names and ``(1, 3, H, W)`` tensors in ``[0, 1]``.

    Raises:
        InvalidInputError: the folder is missing, holds fewer than ``count`` images, or one does not read.
    """
    paths = training_image_paths(folder)
    if len(paths) < count:
        raise InvalidInputError(f"{folder} holds {len(paths)} images, fewer than the {count} asked for")
    picks = sorted(torch.randperm(len(paths), generator=torch.Generator().manual_seed(seed))[:count].tolist())
    names = [paths[index].name for index in picks]
    return names, [read_training_image(paths[index])[None].float() / 255.0 for index in picks]


def prior_recipe(config: PriorConfig, data: Path, names: list[str]) -> dict[str, Any]:
    """What a prior file records about its training."""
    return {**asdict(config), "data": data.resolve().name, "image_names": names}

