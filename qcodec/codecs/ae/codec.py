"""The learned autoencoder codec (``--model ae``): no per-image fitting, a trained transform.

::

    image --pad to a multiple of 16 (edge replication)--> analysis g_a --> round --> clamp to
          the model's table supports --> ANS with the model's per-channel integer tables -->
          .qic sections:
              1 model    model_id (u8), model format version (u8), model checksum (u32)
              3 payload  ANS words: channel 0's latents (row-major), then channel 1's, ...

The latent grid is ``ceil(H / 16) x ceil(W / 16)`` with ``M`` channels, all implied by the
header and the model, so nothing else travels. Decoding runs the synthesis on the CPU, crops
the padding and rounds to 8 bits; a grayscale image is coded as RGB with equal channels and
decoded to the rounded channel mean.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from qcodec.codecs.ae.network import STRIDE
from qcodec.codecs.ae.zoo import AEModel, bundled_models, find_model, load_model_file
from qcodec.codecs.base import Codec, EncodeResult, ProgressCallback, image_tensor, resolve_device, tensor_pixels
from qcodec.codecs.budget import DecodeCost
from qcodec.coding.bitstream import ByteReader, ByteWriter, Container
from qcodec.coding.entropy import decode_with_tables, encode_with_tables
from qcodec.data.image_io import Image
from qcodec.errors import BitstreamError, InvalidInputError

SECTION_MODEL, SECTION_PAYLOAD = 1, 3
DEFAULT_QUALITY = 3
MAX_AE_PIXELS = 1 << 24
"""Largest image the autoencoder codes (16 Mi pixels): the synthesis runs in one pass and
needs about :data:`DECODE_BYTES_PER_PIXEL`, so this bounds a decoder's memory near 2 GB."""

DECODE_BYTES_PER_PIXEL = 125
"""Peak memory of the one-pass synthesis per (padded) pixel."""


def _to_tensor(image: Image) -> torch.Tensor:
    """``(1, 3, H', W')`` in ``[0, 1]``, padded by edge replication to multiples of :data:`STRIDE`."""
    pixels = image_tensor(image)
    if image.channels == 1:
        pixels = pixels.expand(1, 3, -1, -1)
    pad_h = -image.height % STRIDE
    pad_w = -image.width % STRIDE
    return F.pad(pixels, (0, pad_w, 0, pad_h), mode="replicate") if pad_h or pad_w else pixels.contiguous()


def latent_size(height: int, width: int) -> tuple[int, int]:
    """Latent grid ``(h, w)`` of an ``H x W`` image."""
    return math.ceil(height / STRIDE), math.ceil(width / STRIDE)


class AutoencoderCodec(Codec):
    """Balle et al.'s factorized-prior autoencoder with bundled weights (see :mod:`qcodec.codecs.ae.zoo`)."""

    name = "ae"
    codec_id = 3
    description = "learned autoencoder (factorized prior), bundled weights trained on BSDS300"
    options = {
        "quality": "bundled quality level, 1 (lowest rate) .. number of bundled models",
        "bpp": "target bits per pixel: encodes with every level and keeps the closest",
        "weights": "a model file from `qcodec train ae` instead of the bundled ones",
        "seed": "accepted for uniformity; the autoencoder codec has no randomness",
        "device": "auto, cpu or cuda for the analysis transform (decoding is always on CPU)",
    }

    def fingerprint(self) -> str:
        return "models " + ",".join(f"{m.quality}:{m.checksum:08x}" for m in bundled_models())

    def quality_levels(self) -> list[int]:
        return [m.quality for m in bundled_models()]

    def _candidates(self, options: Mapping[str, Any]) -> list[AEModel]:
        self.check_options(options)
        quality, bpp = options.get("quality"), options.get("bpp")
        if quality is not None and bpp is not None:
            raise InvalidInputError("give either --quality or --bpp, not both")
        if bpp is not None and not (bpp > 0 and math.isfinite(bpp)):
            raise InvalidInputError(f"--bpp must be positive, got {bpp}")
        if options.get("weights") is not None:
            if quality is not None or bpp is not None:
                raise InvalidInputError("--weights names one model; drop --quality/--bpp")
            return [load_model_file(options["weights"])]
        models = bundled_models()
        if not models:
            raise InvalidInputError("this qcodec installation has no bundled autoencoder models")
        if bpp is not None:
            return models
        level = DEFAULT_QUALITY if quality is None else quality
        for model in models:
            if model.quality == level:
                return [model]
        levels = ", ".join(str(m.quality) for m in models)
        raise InvalidInputError(f"--quality must be one of {levels}, got {level}")

    def encode(self, image: Image, options: Mapping[str, Any], progress: ProgressCallback | None = None) -> EncodeResult:
        candidates = self._candidates(options)
        if image.num_pixels > MAX_AE_PIXELS:
            raise InvalidInputError(f"the autoencoder codes images of at most {MAX_AE_PIXELS} pixels, got {image.num_pixels}")
        device = resolve_device(options.get("device") or "auto")
        x = _to_tensor(image)
        coded = [(model, *self._code(model, image, x, device)) for model in candidates]
        target = options.get("bpp")
        model, data, y, details = coded[0] if target is None else min(
            coded, key=lambda c: abs(len(c[1]) * 8 / image.num_pixels - target)
        )
        # The rounded latents are exactly what the (lossless) ANS payload decodes to.
        return EncodeResult(data, self._reconstruct(model, y, image.height, image.width, image.channels), details)

    def _code(
        self, model: AEModel, image: Image, x: torch.Tensor, device: torch.device
    ) -> tuple[bytes, torch.Tensor, dict[str, Any]]:
        """The stream of ``x`` under ``model``, its integer latents ``(1, M, h, w)`` and report details."""
        network = model.network if device.type == "cpu" else copy.deepcopy(model.network).to(device)
        y = network.analyse(x.to(device))[0].cpu()
        lo = torch.tensor([t.lo for t in model.tables], dtype=torch.int32)[:, None, None]
        hi = torch.tensor([t.hi for t in model.tables], dtype=torch.int32)[:, None, None]
        clamped = int(((y < lo) | (y > hi)).sum())
        y = torch.maximum(torch.minimum(y, hi), lo)
        header = ByteWriter()
        header.u8(model.model_id)
        header.u8(model.version)
        header.u32(model.checksum)
        payload = encode_with_tables([channel.reshape(-1).numpy() for channel in y], model.tables)
        details = {
            "quality": model.quality,
            "lambda": model.lmbda,
            "model_checksum": f"{model.checksum:08x}",
            "latent_shape": list(y.shape),
            "clamped_latents": clamped,
        }
        return self.pack(image, {SECTION_MODEL: header.getvalue(), SECTION_PAYLOAD: payload}), y[None], details

    def _model_of(self, container: Container) -> tuple[int, int, int]:
        if set(container.sections) != {SECTION_MODEL, SECTION_PAYLOAD}:
            raise BitstreamError("an autoencoder stream has exactly a model and a payload section")
        reader = ByteReader(container.section(SECTION_MODEL), "model section")
        ident = (reader.u8(), reader.u8(), reader.u32())
        reader.expect_end()
        return ident

    def decode(self, container: Container) -> np.ndarray:
        return self._decode_with(find_model(*self._model_of(container)), container)

    @staticmethod
    def _cost(model: AEModel, height: int, width: int) -> DecodeCost:
        """The synthesis on the padded ``height x width`` image, plus the model's weights."""
        h, w = latent_size(height, width)
        pixels = h * w * STRIDE * STRIDE
        weights = 4 * sum(p.numel() for p in model.network.parameters())
        return DecodeCost(model.network.macs_per_pixel()["synthesis"] * pixels, DECODE_BYTES_PER_PIXEL * pixels + weights)

    def decode_cost(self, container: Container) -> DecodeCost:
        return self._cost(find_model(*self._model_of(container)), container.height, container.width)

    def stream_cost(self, image: Image, options: Mapping[str, Any]) -> DecodeCost:
        return DecodeCost.worst(self._cost(model, image.height, image.width) for model in self._candidates(options))

    def _decode_with(self, model: AEModel, container: Container) -> np.ndarray:
        if container.channels not in (1, 3):
            raise BitstreamError(f"autoencoder streams are grayscale or RGB, not {container.channels} channels")
        if container.width * container.height > MAX_AE_PIXELS:
            raise BitstreamError(f"stream claims an absurd image size ({container.width}x{container.height})")
        h, w = latent_size(container.height, container.width)
        symbols = decode_with_tables(model.tables, h * w, container.section(SECTION_PAYLOAD))
        y = torch.from_numpy(np.stack(symbols).reshape(1, len(symbols), h, w))
        return self._reconstruct(model, y, container.height, container.width, container.channels)

    @staticmethod
    def _reconstruct(model: AEModel, y: torch.Tensor, height: int, width: int, channels: int) -> np.ndarray:
        """``uint8 (H, W, C)`` image of integer latents ``y (1, M, h, w)``: synthesis on the CPU, crop, round."""
        x_hat = model.network.synthesize(y)[0, :, :height, :width]
        if channels == 1:
            x_hat = x_hat.mean(dim=0, keepdim=True)
        return tensor_pixels(x_hat)

    def describe(self, container: Container) -> dict[str, Any]:
        model_id, version, digest = self._model_of(container)
        facts: dict[str, Any] = {"quality": model_id, "model_version": version, "model_checksum": f"{digest:08x}"}
        try:
            model = find_model(model_id, version, digest)
        except BitstreamError:
            return {**facts, "model_available": False}
        network = model.network
        return {
            **facts,
            "model_available": True,
            "lambda": model.lmbda,
            "architecture": {"N": network.channels, "M": network.latent_channels},
            "parameters": sum(p.numel() for p in network.parameters()),
            "decode_macs_per_pixel": round(network.macs_per_pixel()["synthesis"]),
            "latent_shape": [network.latent_channels, *latent_size(container.height, container.width)],
        }
