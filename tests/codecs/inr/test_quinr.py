"""quINR: the model against its definition and PennyLane, and the codec end to end."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import gradient_image
from qcodec import api
from qcodec.codecs.inr.quinr_network import QuINR, qrelu
from qcodec.errors import InvalidInputError

FAST = {"steps": 8, "qat_steps": 2, "batch_size": 256}


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
    result = api.encode(image, "quinr", {**FAST, "qubits": 3, "layers": 2, "embed": 6})
    assert np.array_equal(api.decode(result.data), result.reconstruction)
    info = api.inspect(result.data)
    assert info["model"] == "quinr" and info["architecture"]["qubits"] == 3
    assert info["parameters"] == result.details["parameters"]


def test_model_choices_travel_in_the_stream():
    image = gradient_image(4, 4, 3)
    options = {**FAST, "qubits": 3, "layers": 1, "embed": 3, "shuffle": False, "activation": "m-qrelu", "readout": "fixed"}
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
        api.encode(gradient_image(3, 3, 3), "quinr", {**FAST, **options})
