"""qcodec's own models (``coin``, ``quinr``, ``ae``, ...) as benchmark codecs, through :mod:`qcodec.api`.

Rate points are a model's size presets (``--presets``; all of them by default), its
quality levels (``--qualities``, all by default: ``ae``'s bundled models, ``grid``'s lambdas), or ``--bpp`` targets for models that take a
``bpp`` option. INR models are fitted for
``--steps`` optimizer steps plus ``--qat-steps`` (default ``steps // 10``) of
quantization-aware fine-tuning (``--steps 0``: each model's own defaults); options a model does not take are not passed.

The encode time is that of :func:`qcodec.api.encode` (fitting, quantization, entropy
coding and the encoder's own check decode); the decode time is that of
:func:`qcodec.api.decode` on the bytes, run separately, and its output is what is scored.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from qcodec import __version__, api
from qcodec.bench.codecs import BenchCodec, Coded, RatePoint, SweepConfig
from qcodec.codecs import get_codec
from qcodec.coding.bitstream import FORMAT_VERSION
from qcodec.data.image_io import Image
from qcodec.errors import InvalidInputError


class QcodecModel(BenchCodec):
    """The registered qcodec codec ``name`` (see :func:`qcodec.codecs.codec_names`), with options
    ``fixed`` added to every rate point and ``label`` naming them (``{"tiles": "4x6"}``, ``"4x6"``:
    the bench name becomes ``coin:4x6``)."""

    def __init__(self, name: str, fixed: Mapping[str, Any] | None = None, label: str = "") -> None:
        self.codec = get_codec(name)
        self.model = name
        self.fixed = dict(fixed or {})
        self.name = f"{name}:{label}" if label else name
        self.description = self.codec.description + "".join(f", {key} {value}" for key, value in self.fixed.items())

    def version(self) -> str:
        fingerprint = self.codec.fingerprint()
        return f"qcodec {__version__} (.qic format {FORMAT_VERSION})" + (f", {fingerprint}" if fingerprint else "")

    @property
    def presets(self) -> list[str]:
        """The model's size presets, smallest first (empty for models without presets)."""
        return list(getattr(self.codec, "presets", {}) or {})

    def _training_options(self, config: SweepConfig) -> dict[str, Any]:
        wanted: dict[str, Any] = {}
        if config.steps:  # 0: the model's own defaults
            wanted = {"steps": config.steps, "qat_steps": config.steps // 10 if config.qat_steps is None else config.qat_steps}
        elif config.qat_steps is not None:
            wanted = {"qat_steps": config.qat_steps}
        if config.effort is not None:
            wanted["effort"] = config.effort
        wanted.update(self.fixed)
        if config.device is not None:
            wanted["device"] = config.device
        return {k: v for k, v in wanted.items() if k in self.codec.options}

    def rate_points(self, config: SweepConfig) -> list[RatePoint]:
        training = self._training_options(config)
        if config.targets is not None:
            if "bpp" not in self.codec.options:
                return []
            return [RatePoint(f"{t:.3g} bpp", {"bpp": t, **training}) for t in config.targets]
        levels = self.codec.quality_levels()
        if levels:
            chosen_levels = levels if config.qualities is None else list(config.qualities)
            missing = [q for q in chosen_levels if q not in levels]
            if missing:
                raise InvalidInputError(
                    f"model {self.name} has no quality level {missing[0]} (choose from: {', '.join(map(str, levels))})"
                )
            return [RatePoint(f"q={q}", {"quality": q, **training}) for q in chosen_levels]
        if not self.presets:
            return [RatePoint("default", training)]
        chosen = self.presets if config.presets is None else list(config.presets)
        unknown = [p for p in chosen if p not in self.presets]
        if unknown:
            raise InvalidInputError(
                f"model {self.name} has no preset {unknown[0]!r} (choose from: {', '.join(self.presets)})"
            )
        return [RatePoint(p, {"preset": p, **training}) for p in chosen]

    def skip_reason(self, config: SweepConfig) -> str | None:
        if config.targets is not None and "bpp" not in self.codec.options:
            return f"model {self.name} cannot target a rate (--bpp); run it without --bpp to use its presets"
        return None

    def run(self, image: Image, options: Mapping[str, Any]) -> Coded:
        start = time.perf_counter()
        result = api.encode(image, self.model, dict(options))
        middle = time.perf_counter()
        reconstruction = api.decode(result.data)
        end = time.perf_counter()
        details = json.loads(json.dumps(result.details, default=str))
        return Coded(result.data, reconstruction, middle - start, end - middle, details)

    def decode(self, data: bytes, channels: int) -> np.ndarray:
        return api.decode(data)
