"""quINR: the model against its definition and PennyLane, and the codec end to end."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import gradient_image
from qcodec import api
from qcodec.codecs import get_codec
from qcodec.codecs.inr.quinr_network import QuINR, TiledQuINR, qrelu
from qcodec.errors import InvalidInputError
from qcodec.quantum import Probs

FAST = {"steps": 8, "qat_steps": 2, "batch_size": 256}
PAPER = {**FAST, "variant": "paper"}


def test_qrelu_matches_parisi_definition():
    x = torch.tensor([-2.0, -0.5, 0.0, 0.7])
    assert torch.allclose(qrelu(x), torch.tensor([-2.0 * -1.99, -0.5 * -1.99, 0.0, 0.7]))
    assert torch.allclose(qrelu(x, "m-qrelu"), torch.tensor([-2.0 * -0.99, -0.5 * -0.99, 0.0, 0.7]))
    assert torch.equal(qrelu(x, "none"), x)


def test_parameter_count_and_readout_of_the_last_states():
    model = QuINR(n_qubits=4, n_layers=3, embed_size=8, out_features=3)
    # embed 8x2 + 8, theta 3 layers x (4*4 + 6 CRZ), affine readout 3 + 3
    assert model.num_parameters() == 24 + 3 * 22 + 6
    coords = torch.rand(5, 2) * 2 - 1
    h = torch.sin(30.0 * model.embed(coords))
    probs = model.qnn(model.theta, h)
    assert torch.allclose(probs.sum(dim=1), torch.ones(5), atol=1e-5)
    expected = qrelu(torch.exp(model.out_log_scale) * probs[:, -3:] + model.out_bias)
    assert torch.allclose(model(coords), expected)


def test_torch_and_pennylane_backends_agree():
    torch.manual_seed(0)
    fast = QuINR(n_qubits=3, n_layers=2, embed_size=6, out_features=1)
    torch.manual_seed(0)
    reference = QuINR(n_qubits=3, n_layers=2, embed_size=6, out_features=1, backend="default.qubit")
    coords = torch.rand(7, 2) * 2 - 1
    ours, theirs = fast(coords), reference(coords)
    assert torch.allclose(ours, theirs.to(ours.dtype), atol=1e-5)
    ours.sum().backward()
    theirs.sum().backward()
    assert torch.allclose(fast.theta.grad, reference.theta.grad.to(torch.float32), atol=1e-4)


@pytest.mark.parametrize("shape", [(6, 7, 3), (5, 4, 1)])
def test_codec_round_trip(shape):
    image = gradient_image(*shape)
    result = api.encode(image, "quinr", {**PAPER, "qubits": 3, "layers": 2, "embed": 6})
    assert np.array_equal(api.decode(result.data), result.reconstruction)
    info = api.inspect(result.data)
    assert info["model"] == "quinr" and info["architecture"]["qubits"] == 3
    assert info["parameters"] == result.details["parameters"]


def test_model_choices_travel_in_the_stream():
    image = gradient_image(4, 4, 3)
    options = {**PAPER, "qubits": 3, "layers": 1, "embed": 3, "shuffle": False, "activation": "m-qrelu", "readout": "fixed"}
    result = api.encode(image, "quinr", options)
    arch = api.inspect(result.data)["architecture"]
    assert (arch["shuffle"], arch["activation"], arch["fixed_readout"]) == (0, 1, 1)
    assert np.array_equal(api.decode(result.data), result.reconstruction)


@pytest.mark.parametrize(
    "options, message",
    [({"activation": "tanh"}, "--activation"), ({"qubits": 1}, "--qubits"), ({"backend": "no.such.device"}, "PennyLane device")],
)
def test_bad_options(options, message):
    with pytest.raises(InvalidInputError, match=message):
        api.encode(gradient_image(3, 3, 3), "quinr", {**PAPER, **options})


def test_tiled_network_runs_every_tile_with_its_own_parameters_in_one_call():
    torch.manual_seed(0)
    model = TiledQuINR(tiles=3, n_qubits=3, n_layers=2, embed_size=5, out_features=3)
    coords = torch.rand(7, 3, 2) * 2 - 1
    out = model(coords)
    for tile in range(3):  # the same tile alone, as a one-tile network
        single = TiledQuINR(tiles=1, n_qubits=3, n_layers=2, embed_size=5, out_features=3)
        with torch.no_grad():
            for name in ("theta", "embed_weight", "embed_bias"):
                getattr(single, name).copy_(getattr(model, name)[tile : tile + 1])
            single.head_weight.copy_(model.head_weight)
            single.head_bias.copy_(model.head_bias)
        assert torch.allclose(single(coords[:, tile : tile + 1]), out[:, tile : tile + 1], atol=1e-6)


def test_tiled_circuits_with_per_tile_angles_agree_with_pennylane():
    from qcodec.quantum import PennyLaneSimulator

    torch.manual_seed(1)
    model = TiledQuINR(tiles=2, n_qubits=3, n_layers=2, embed_size=4, out_features=1)
    inputs = torch.rand(5, 2, 4, dtype=torch.float64) * 2 - 1
    ours = model.qnn(model.theta.double(), inputs)
    reference = PennyLaneSimulator(model.qnn.circuit, Probs())
    for tile in range(2):
        theirs = reference(model.theta[tile].double(), inputs[:, tile])
        assert torch.allclose(ours[:, tile], theirs.to(ours.dtype), atol=1e-5)


def test_tiled_codec_round_trip_and_grid_in_the_stream():
    image = gradient_image(20, 30, 3)
    result = api.encode(image, "quinr", {**FAST, "tiles": "2x3"})
    info = api.inspect(result.data)
    assert info["architecture"]["rows"] == 2 and info["architecture"]["cols"] == 3 and info["architecture"]["variant"] == 1
    assert info["parameters"] == result.details["parameters"]
    assert np.array_equal(api.decode(result.data), result.reconstruction)


def test_bpp_picks_more_tiles_for_more_bits():
    image = gradient_image(96, 128, 3)
    grids = []
    for bpp in (0.2, 1.0, 3.0):
        arch = get_codec("quinr").settings({"bpp": bpp}, image).arch
        grids.append(arch["rows"] * arch["cols"])
    assert grids == sorted(grids) and grids[0] < grids[-1]


@pytest.mark.parametrize(
    "options, message",
    [({"variant": "new"}, "--variant"), ({"tiles": "2x"}, "--tiles"), ({"activation": "none"}, "--variant paper"),
     ({"bpp": 0.5, "tiles": "2x2"}, "drop --tiles"), ({"variant": "paper", "tiles": "2x2"}, "tiled variant")],
)
def test_bad_tiled_options(options, message):
    with pytest.raises(InvalidInputError, match=message):
        api.encode(gradient_image(8, 8, 3), "quinr", {**FAST, **options})
