"""The grid codec's context prior: training, the prior file, the bundled prior and its command."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image as PILImage
from typer.testing import CliRunner

from conftest import gradient_image
from qcodec.cli.app import app
from qcodec.codecs.grid.codec import GridArch
from qcodec.codecs.grid.fit import pyramid_step
from qcodec.codecs.grid.network import ContextModel, GridModel
from qcodec.codecs.grid.prior import (
    BUNDLED_PRIOR,
    PriorConfig,
    load_context_prior,
    pick_training_images,
    save_context_prior,
    start_context_,
    train_context_prior,
)
from qcodec.errors import InvalidInputError

TINY = PriorConfig(images=2, fit_steps=30, hidden=8)


def _noisy_gradient(height: int, width: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pixels = np.asarray(gradient_image(height, width, 3).pixels, dtype=np.int16) + rng.integers(-20, 20, (height, width, 3))
    return pixels.clip(0, 255).astype(np.uint8)


def _tensor(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 255


def test_a_prior_fitted_on_two_images_prices_a_third_below_a_random_start():
    events = []
    prior = train_context_prior([_tensor(_noisy_gradient(24, 32, s)) for s in (0, 1)], TINY, lambda *e: events.append(e))
    assert [e for e in events if e[1] == e[2]] == [("image 1/2", 30, 30), ("image 2/2", 30, 30)]
    target = _tensor(_noisy_gradient(24, 32, 2))
    model = GridModel(24, 32, 3, context_hidden=TINY.hidden)
    with torch.no_grad():
        model.pyramid_init_(target, pyramid_step(TINY.lmbda))
        grids = model.quantized_latents("round")
        random_start = float(model.rate_bits(grids))
        assert start_context_(model, prior)
        from_prior = float(model.rate_bits(grids))
    assert from_prior < 0.8 * random_start


def test_prior_file_round_trip_and_bad_files(tmp_path):
    torch.manual_seed(0)
    context = ContextModel(8, 3)
    path = tmp_path / "prior.pt"
    save_context_prior(context, path, {"note": "test"})
    loaded = load_context_prior(path)
    assert loaded.hidden == 8 and len(loaded.mlp) == 2
    for (name, a), b in zip(context.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name
    torch.save({"format": "something else"}, tmp_path / "other.pt")
    with pytest.raises(InvalidInputError, match="not a grid context prior"):
        load_context_prior(tmp_path / "other.pt")
    with pytest.raises(InvalidInputError, match="no such context prior"):
        load_context_prior(tmp_path / "missing.pt")


def test_the_codec_starts_from_the_bundled_prior():
    prior = load_context_prior(BUNDLED_PRIOR)
    model = GridArch().build(16, 16, 3)
    assert start_context_(model)
    for (name, a), b in zip(prior.state_dict().items(), model.context.state_dict().values()):
        assert torch.equal(a, b), name
    assert load_context_prior(BUNDLED_PRIOR).hidden == 16  # the cached copy is not modified by fitting
    other = GridModel(16, 16, 3, context_hidden=12)
    before = [p.clone() for p in other.context.parameters()]
    assert not start_context_(other)
    assert all(torch.equal(a, b) for a, b in zip(before, other.context.parameters()))


def test_training_images_are_picked_by_seed(tmp_path):
    for i in range(4):
        PILImage.fromarray(_noisy_gradient(20, 24, i)).save(tmp_path / f"{i}.png")
    names, images = pick_training_images(tmp_path, 2, seed=3)
    assert names == pick_training_images(tmp_path, 2, seed=3)[0] and len(set(names)) == 2
    assert images[0].shape == (1, 3, 20, 24) and 0.0 <= float(images[0].min()) <= float(images[0].max()) <= 1.0
    with pytest.raises(InvalidInputError, match="fewer than"):
        pick_training_images(tmp_path, 5, seed=0)


def test_train_grid_context_command_writes_a_prior(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for i in range(3):
        PILImage.fromarray(_noisy_gradient(24, 32, i)).save(data / f"{i}.png")
    out = tmp_path / "prior.pt"
    args = ["train", "grid-context", "--data", str(data), "--out", str(out), "--images", "2", "--steps", "5", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert len(report["images"]) == 2
    payload = torch.load(out, weights_only=True)
    assert payload["recipe"]["image_names"] == report["images"] and payload["recipe"]["fit_steps"] == 5
    assert load_context_prior(out).hidden == PriorConfig().hidden
    bad = CliRunner().invoke(app, ["train", "grid-context", "--data", str(tmp_path / "none"), "--out", str(out)])
    assert bad.exit_code == 1 and "does not exist" in bad.output
    zero = CliRunner().invoke(app, [*args[:-1], "--steps", "0"])
    assert zero.exit_code == 1 and "--steps must be at least 1" in zero.output
