"""Fill a masked rectangle of a small grayscale image with a trained QMAE.

The model works on 16x16 images (8 qubits). :func:`inpaint`:

1. converts the image to grayscale (RGB: ITU-R 601 luma) and, if it is not 16x16,
   resizes it (antialiased bilinear) and maps the rectangle onto the 16x16 grid,
   rounding outwards (both reported in :attr:`InpaintResult.notes`);
2. scales it so its brightest pixel is 1 (as in training), fills the rectangle with the
   mask token (bilinearly resized to the rectangle when the sizes differ; zeros for a QAE);
3. runs the circuit and reads the image out of the exact output probabilities
   (:func:`~qcodec.eval.models.qmae.probabilities_to_image`, ``p / max p`` by default), then
   brings it to the input's intensity scale with the factor that best fits (least
   squares) the visible, unmasked pixels;
4. by default pastes the reconstruction into the rectangle only (upsampled to the input
   size), keeping every visible pixel; ``raw=True`` returns the model's whole 16x16 output.

The bundled model (:data:`BUNDLED_MODEL`) was trained by the default
``qcodec eval qmae --save`` run on MNIST (white strokes on black, 25 % mask, 8x8 token);
it suits images of that kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from qcodec.data.files import read_bytes
from qcodec.data.image_io import Image
from qcodec.errors import InvalidInputError
from qcodec.eval.models.qmae import QMAE, model_from_bytes, probabilities_to_image

BUNDLED_MODEL = Path(__file__).parent / "weights" / "qmae-mnist16-mask25.pt"
"""Default model for ``qcodec inpaint`` (see docs/eval-qmae.md for how it was trained)."""


@dataclass
class InpaintResult:
    """``pixels``: ``uint8 (H, W, 1)``; ``region``: the rectangle used on the model's grid
    ``(x, y, w, h)``; ``notes``: conversions the caller may want to warn about."""

    pixels: np.ndarray
    region: tuple[int, int, int, int]
    notes: list[str] = field(default_factory=list)


def parse_region(spec: str) -> tuple[int, int, int, int]:
    """``"x,y,w,h"`` -> ``(x, y, w, h)`` (non-negative offsets, positive sizes).

    Raises:
        InvalidInputError: not four integers, or a non-positive size.
    """
    parts = [p.strip() for p in spec.split(",")]
    try:
        x, y, w, h = (int(p) for p in parts)
    except ValueError:
        raise InvalidInputError(f"--mask must be x,y,w,h (four integers), got {spec!r}") from None
    if x < 0 or y < 0 or w < 1 or h < 1:
        raise InvalidInputError(f"--mask needs x, y >= 0 and w, h >= 1, got {spec!r}")
    return x, y, w, h


def load_model(path: str | Path | None = None) -> tuple[QMAE, dict]:
    """A saved QMAE (``qcodec eval qmae --save FILE``), or the bundled one when ``path`` is None.

    Raises:
        InvalidInputError: missing or unreadable file, not a QMAE model.
    """
    if path is None:
        if not BUNDLED_MODEL.is_file():
            raise InvalidInputError(f"the bundled model {BUNDLED_MODEL.name} is not installed; pass --model FILE")
        path = BUNDLED_MODEL
    return model_from_bytes(read_bytes(path), str(path))


def _grayscale(pixels: np.ndarray) -> np.ndarray:
    """``uint8 (H, W, C)`` -> ``float64 (H, W)`` in ``[0, 255]``."""
    if pixels.shape[2] == 1:
        return pixels[:, :, 0].astype(np.float64)
    return pixels[:, :, :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def inpaint(
    image: Image, region: tuple[int, int, int, int], model: QMAE, raw: bool = False, readout: str = "probability"
) -> InpaintResult:
    """Fill ``region`` ``(x, y, w, h)`` (input pixel coordinates) of ``image`` with ``model``.

    Returns the input-sized grayscale image with the rectangle filled, or with ``raw`` the
    model's whole ``s x s`` reconstruction. See the module docstring for every step.

    Raises:
        InvalidInputError: the rectangle is not inside the image, or covers all of it.
    """
    x, y, w, h = region
    height, width = image.height, image.width
    if x + w > width or y + h > height:
        raise InvalidInputError(f"--mask {x},{y},{w},{h} reaches outside the {width}x{height} image")
    if w == width and h == height:
        raise InvalidInputError("--mask covers the whole image: nothing is left to inpaint from")
    notes = list(image.notes)
    gray = _grayscale(image.pixels)
    if image.channels != 1:
        notes.append("converted to grayscale")
    s = model.image_size
    small = torch.from_numpy(gray).to(torch.float32)
    if (height, width) != (s, s):
        notes.append(f"resized from {width}x{height} to the model's {s}x{s}")
        small = F.interpolate(small[None, None], size=(s, s), mode="bilinear", antialias=True, align_corners=False)[0, 0]
    # the rectangle on the model's grid, rounded outwards
    gx0, gy0 = (x * s) // width, (y * s) // height
    gx1, gy1 = -((-(x + w) * s) // width), -((-(y + h) * s) // height)
    grid_region = (gx0, gy0, gx1 - gx0, gy1 - gy0)
    if grid_region[2:] == (s, s):
        raise InvalidInputError(f"--mask covers the whole {s}x{s} model grid: nothing is left to inpaint from")
    peak = float(small.max())
    scaled = small / peak if peak > 0 else small
    filled = model.fill_region(scaled[None], grid_region)
    with torch.no_grad():
        probs = model.output_probabilities(filled.to(model.theta.dtype))
    amp = probabilities_to_image(probs, s, readout)[0].to(torch.float32)
    visible = torch.ones(s, s, dtype=torch.bool)
    visible[gy0:gy1, gx0:gx1] = False
    a, b = amp[visible], scaled[visible]
    factor = float((a @ b) / (a @ a)) if float(a @ a) > 0 else 1.0
    recon = (amp * factor * peak).clamp(0, 255)
    if raw:
        out = recon.numpy()
    else:
        out = gray.copy()
        up = recon if (height, width) == (s, s) else F.interpolate(
            recon[None, None], size=(height, width), mode="bilinear", align_corners=False)[0, 0]
        out[y : y + h, x : x + w] = up.numpy()[y : y + h, x : x + w]
    pixels = np.clip(np.rint(out), 0, 255).astype(np.uint8)[:, :, None]
    return InpaintResult(pixels, grid_region, notes)
