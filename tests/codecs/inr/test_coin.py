"""COIN through the whole codec: round trips, sizes, determinism, rate control, option checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import FAST, SAMPLES, gradient_image
from qcodec import api
from qcodec.codecs import get_codec
from qcodec.codecs.inr.coords import TileGrid, pixel_grid
from qcodec.codecs.inr.siren import Siren, TiledSiren, siren_num_parameters
from qcodec.coding.bitstream import unpack
from qcodec.data.image_io import decode_image_bytes
from qcodec.errors import InvalidInputError, UnknownModelError
from qcodec.metrics import psnr


def test_siren_parameter_count_matches_coin_paper_sizes():
    assert Siren(10, 28).num_parameters() == siren_num_parameters(10, 28) == 7479
    assert Siren(5, 20, out_features=1).num_parameters() == siren_num_parameters(5, 20, out_features=1)


@pytest.mark.parametrize("shape", [(1, 1, 3), (1, 1, 1), (9, 13, 1), (7, 5, 3)])
def test_round_trip_small_and_odd_sizes(shape):
    image = gradient_image(*shape)
    result = api.encode(image, "coin", FAST)
    decoded = api.decode(result.data)
    assert decoded.shape == shape and decoded.dtype == np.uint8
    assert np.array_equal(decoded, result.reconstruction)


def test_grayscale_is_coded_as_one_channel():
    gray = gradient_image(16, 16, 1)
    rgb = gradient_image(16, 16, 3)
    info = api.inspect(api.encode(gray, "coin", FAST).data)
    assert info["channels"] == 1 and info["mode"] == "grayscale"
    assert info["parameters"] < api.inspect(api.encode(rgb, "coin", FAST).data)["parameters"]


def test_fit_reaches_useful_quality_on_sample():
    image = decode_image_bytes((SAMPLES / "parrots.png").read_bytes())
    result = api.encode(image, "coin", {"preset": "small", "steps": 300})
    assert psnr(image.pixels, result.reconstruction) > 22.0
    assert result.details["architecture"] == {"layers": 5, "width": 30}


def test_seed_makes_encoding_byte_identical():
    image = gradient_image(10, 11, 3)
    first = api.encode(image, "coin", {**FAST, "seed": 3}).data
    assert api.encode(image, "coin", {**FAST, "seed": 3}).data == first
    assert api.encode(image, "coin", {**FAST, "seed": 4}).data != first


def test_sensitive_first_layer_gets_more_bits():
    image = decode_image_bytes((SAMPLES / "caps_odd.png").read_bytes())
    result = api.encode(image, "coin", {"preset": "tiny", "steps": 200, "bits": 6})
    bits = result.details["bits"]
    assert min(bits.values()) == 6
    assert bits["body.0.linear.weight"] > 6


def test_bpp_picks_larger_networks_for_larger_targets():
    codec = get_codec("coin")
    image = gradient_image(512, 768, 3)
    small = codec.settings({"bpp": 0.05}, image).arch
    large = codec.settings({"bpp": 0.4}, image).arch
    assert codec.num_parameters(small, 3) < codec.num_parameters(large, 3)
    predicted = codec.predicted_bytes(large, 3, codec.default_bits) * 8 / image.num_pixels
    assert abs(predicted - 0.4) < 0.05


@pytest.mark.parametrize(
    "options, message",
    [
        ({"steps": -1}, "--steps"),
        ({"bpp": 0.0}, "--bpp"),
        ({"bits": 1}, "--bits"),
        ({"preset": "huge"}, "preset"),
        ({"layers": 0}, "--layers"),
        ({"qubits": 4}, "does not apply"),
        ({"preset": "tiny", "bpp": 0.1}, "either"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_nonsensical_options_are_refused(options, message):
    with pytest.raises(InvalidInputError, match=message):
        api.encode(gradient_image(4, 4, 3), "coin", options)


def test_unknown_model():
    with pytest.raises(UnknownModelError, match="unknown model 'nope'"):
        api.encode(gradient_image(4, 4, 3), "nope")


def test_prune_zeroes_hidden_weights_and_shrinks_the_stream():
    image = decode_image_bytes((SAMPLES / "caps_odd.png").read_bytes())
    options = {"preset": "small", "steps": 100, "qat_steps": 20}
    plain = api.encode(image, "coin", options)
    pruned = api.encode(image, "coin", {**options, "prune": 0.5})
    codec = get_codec("coin")
    weights = dict(codec.load_model(unpack(pruned.data)).named_parameters())
    hidden = weights["body.1.linear.weight"]
    assert float((hidden == 0).float().mean()) >= 0.5
    assert float((weights["body.0.linear.weight"] == 0).float().mean()) < 0.1
    assert len(pruned.data) < len(plain.data)
    with pytest.raises(InvalidInputError, match="--prune"):
        api.encode(image, "coin", {**options, "prune": 1.0})


def test_tile_grid_splits_and_merges_an_image_and_scales_local_coordinates():
    grid = TileGrid(2, 3)
    values = torch.arange(10 * 12 * 2, dtype=torch.float32).reshape(10, 12, 2)
    tiles = grid.split(values)
    assert tiles.shape == (5 * 4, 6, 2) and torch.equal(grid.merge(tiles, 10, 12), values)
    odd = torch.rand(9, 11, 3)  # not a whole number of tiles: extended by edge replication, cropped back
    assert torch.equal(grid.merge(grid.split(odd), 9, 11), odd)
    coords = grid.coords(10, 12)
    assert torch.allclose(coords[:, 0].amax(0), torch.tensor([4 / 12, 5 / 10]))  # a tile's span in image units
    assert torch.equal(TileGrid(1, 1).coords(5, 7)[:, 0], pixel_grid(5, 7))
    assert TileGrid.parse("3X4") == TileGrid(3, 4) and TileGrid.of_side(512, 768, 96) == TileGrid(5, 8)


def test_tiled_siren_is_one_siren_per_tile():
    torch.manual_seed(0)
    tiled = TiledSiren(tiles=4, layers=3, width=8)
    coords = torch.rand(10, 4, 2) * 2 - 1
    single = Siren(3, 8)
    with torch.no_grad():
        for k, (weight, bias) in enumerate(zip(tiled.weights, tiled.biases)):
            layer = single.body[k].linear if k < 3 else single.head
            layer.weight.copy_(weight[2])
            layer.bias.copy_(bias[2])
    assert torch.allclose(tiled(coords)[:, 2], single(coords[:, 2]), atol=1e-6)
    assert sum(p.numel() for p in tiled.parameters()) == 4 * siren_num_parameters(3, 8)


def test_tiled_coin_round_trip_and_bpp_sizes_each_tile():
    image = gradient_image(24, 36, 3)
    result = api.encode(image, "coin", {"tiles": "2x3", "preset": "tiny", "steps": 30, "qat_steps": 3})
    assert api.inspect(result.data)["architecture"] == {"layers": 5, "width": 20, "rows": 2, "cols": 3}
    assert np.array_equal(api.decode(result.data), result.reconstruction)
    larger = gradient_image(96, 128, 3)
    small = get_codec("coin").settings({"tiles": "2x3", "bpp": 1.0}, larger).arch
    large = get_codec("coin").settings({"tiles": "2x3", "bpp": 4.0}, larger).arch
    assert small["rows"] == 2 and small["width"] * small["layers"] < large["width"] * large["layers"]
    with pytest.raises(InvalidInputError, match="without tiles"):
        api.encode(image, "coin", {"tiles": "2x2", "prune": 0.5, "steps": 2})
