"""Visual comparison sheets: the same crop of an image from each codec at (nearly) the same rate.

A table of dB does not show blocking, ringing or blur; papers and codec comparisons show
crops side by side. :func:`choose_crop` finds the window where the codecs differ most (the
spread across codecs of the local PSNR, from integral images of the squared error);
:func:`render_sheet` draws the original and each reconstruction of that crop, labelled with
codec, bpp and PSNR of the whole image, optionally with a row of error maps, as PNG bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qcodec.errors import InvalidInputError

CROP_SIZE = (256, 192)
"""Default crop width x height (smaller images are shown whole)."""

MISSED_RATE = 0.1
"""A codec whose rate is more than this fraction away from the target is labelled with its own rate as the nearest it reached."""


@dataclass(frozen=True)
class SheetEntry:
    """One codec's reconstruction on the sheet.

    Attributes:
        codec: label (``grid``, ``jpeg2000``, ...).
        pixels: ``uint8 (H, W, C)`` decoded image.
        bpp, psnr: of the whole image.
        target: the rate asked for, bpp (``None``: none).
    """

    codec: str
    pixels: np.ndarray
    bpp: float
    psnr: float
    target: float | None = None

    @property
    def missed(self) -> bool:
        """Whether the codec could not reach the target and shows its nearest rate instead."""
        return self.target is not None and abs(self.bpp / self.target - 1) > MISSED_RATE

    def label(self) -> str:
        text = f"{self.codec}\n{self.bpp:.3f} bpp, {self.psnr:.2f} dB"
        return text + ("\n(nearest it reaches)" if self.missed else "")


Crop = tuple[int, int, int, int]
"""``(x, y, width, height)`` in pixels."""


def parse_crop(text: str) -> Crop:
    """``"x,y,w,h"`` -> a :data:`Crop`.

    Raises:
        InvalidInputError: not four non-negative integers with a positive size.
    """
    try:
        x, y, w, h = (int(part) for part in text.split(","))
    except ValueError:
        raise InvalidInputError(f"--crop must be X,Y,WIDTH,HEIGHT in pixels, got {text!r}") from None
    if min(x, y) < 0 or min(w, h) < 1:
        raise InvalidInputError(f"--crop needs x, y >= 0 and a positive size, got {text!r}")
    return x, y, w, h


def _window_sums(values: np.ndarray, h: int, w: int) -> np.ndarray:
    """Sums of ``values (H, W)`` over every ``h x w`` window: ``(H - h + 1, W - w + 1)``."""
    table = np.zeros((values.shape[0] + 1, values.shape[1] + 1))
    table[1:, 1:] = values.cumsum(0).cumsum(1)
    return table[h:, w:] - table[:-h, w:] - table[h:, :-w] + table[:-h, :-w]


def choose_crop(original: np.ndarray, reconstructions: Sequence[np.ndarray], size: tuple[int, int] = CROP_SIZE) -> Crop:
    """The ``size`` (width, height) window where the codecs differ most.

    Score of a window: the standard deviation across codecs of its PSNR. Ties (for example
    identical codecs) go to the first window in row-major order.
    """
    height, width = original.shape[:2]
    w, h = min(size[0], width), min(size[1], height)
    if not reconstructions or (w, h) == (width, height):
        return 0, 0, w, h
    reference = original.astype(np.float64)
    local = [
        10 * np.log10(255.0**2 / (_window_sums(((r.astype(np.float64) - reference) ** 2).mean(axis=2), h, w) / (w * h) + 1e-3))
        for r in reconstructions
    ]
    spread = np.std(np.stack(local), axis=0)
    y, x = np.unravel_index(int(np.argmax(spread)), spread.shape)
    return int(x), int(y), w, h


def render_sheet(original: np.ndarray, entries: Sequence[SheetEntry], crop: Crop, errors: bool = False, title: str = "") -> bytes:
    """PNG bytes of the sheet: the original and each entry cropped to ``crop``, one row (two with ``errors``).

    Error maps show the absolute error averaged over channels, on one scale for all codecs
    (black 0, brightest at the 99.5th percentile of all of them).

    Raises:
        InvalidInputError: the crop lies outside the image.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, y, w, h = crop
    height, width = original.shape[:2]
    if x + w > width or y + h > height:
        raise InvalidInputError(f"--crop {x},{y},{w},{h} lies outside the {width}x{height} image")

    def cut(pixels: np.ndarray) -> np.ndarray:
        part = pixels[y : y + h, x : x + w]
        return part[:, :, 0] if part.shape[2] == 1 else part

    columns = 1 + len(entries)
    rows = 2 if errors else 1
    panel = 3.2
    figure, axes = plt.subplots(rows, columns, figsize=(panel * columns, panel * rows * h / w + 0.9), squeeze=False)
    grey = {"cmap": "gray", "vmin": 0, "vmax": 255} if original.shape[2] == 1 else {}
    axes[0][0].imshow(cut(original), interpolation="nearest", **grey)
    axes[0][0].set_title(f"original\ncrop {w}x{h} at ({x}, {y})", fontsize=9)
    error_maps = [np.abs(cut(e.pixels).astype(np.float64) - cut(original).astype(np.float64)) for e in entries]
    error_maps = [m.mean(axis=2) if m.ndim == 3 else m for m in error_maps]
    top = max(float(np.percentile(np.concatenate([m.ravel() for m in error_maps]), 99.5)) if error_maps else 1.0, 1.0)
    for column, (entry, error) in enumerate(zip(entries, error_maps), start=1):
        axes[0][column].imshow(cut(entry.pixels), interpolation="nearest", **grey)
        axes[0][column].set_title(entry.label(), fontsize=9, color="firebrick" if entry.missed else "black")
        if errors:
            axes[1][column].imshow(error, cmap="magma", vmin=0, vmax=top, interpolation="nearest")
    if errors:
        axes[1][0].text(0.5, 0.5, f"absolute error\n(0 to {top:.0f})", ha="center", va="center", fontsize=9)
    for axis in axes.flat:
        axis.set_xticks([])
        axis.set_yticks([])
        if errors and axis is axes[1][0]:
            axis.set_frame_on(False)
    if title:
        figure.suptitle(title, fontsize=10)
    buffer = io.BytesIO()
    try:
        figure.tight_layout()
        figure.savefig(buffer, format="png", dpi=110)
    finally:
        plt.close(figure)
    return buffer.getvalue()
