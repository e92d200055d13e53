"""HQNN-Parallel / HQNN-Quanv (Senokosov et al. 2024): circuits vs PennyLane, parameter counts, loaders, a tiny run."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from conftest import SHARED
from qcodec.cli.app import app
from qcodec.data import medmnist, mnist
from qcodec.errors import InvalidInputError
from qcodec.eval import classify
from qcodec.eval.models import hqnn, quanv

DATASETS = SHARED / "datasets"
MNIST_DIR, CIFAR_DIR, MEDMNIST_DIR = DATASETS / "mnist", DATASETS / "cifar10", DATASETS / "medical-mnist"
needs_mnist = pytest.mark.skipif(not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file(),
                                 reason=f"local MNIST copy not found in {MNIST_DIR}")
needs_cifar = pytest.mark.skipif(not (CIFAR_DIR / "train").is_dir(), reason=f"local CIFAR-10 copy not found in {CIFAR_DIR}")
needs_medmnist = pytest.mark.skipif(not (MEDMNIST_DIR / "Hand").is_dir(),
                                    reason=f"local Medical MNIST copy not found in {MEDMNIST_DIR}")
TOL = 1e-5  # DESIGN.md: simulator and PennyLane agree to 1e-5


# --------------------------------------------------------------- circuits vs PennyLane
def _reference_parallel(weight: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The paper's PQCs written with PennyLane's own templates (independent of qcodec's circuit description)."""
    import pennylane as qml

    c, depth, q, _ = weight.shape
    dev = qml.device("default.qubit", wires=q)

    @qml.qnode(dev, interface="torch", diff_method="backprop")
    def circuit(inputs: torch.Tensor, w: torch.Tensor) -> list:
        qml.AngleEmbedding(inputs, wires=range(q), rotation="X")
        qml.StronglyEntanglingLayers(w, wires=range(q))
        return [qml.expval(qml.PauliY(j)) for j in range(q)]

    chunks = x.reshape(x.shape[0], c, q)
    return torch.cat([torch.stack(circuit(chunks[:, k], weight[k]), dim=-1) for k in range(c)], dim=-1)


def _outputs_and_grads(fn, weight: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``fn(weight, x)`` and the gradients of a fixed random projection of it w.r.t. weight and x."""
    weight = weight.detach().clone().requires_grad_(True)
    x = x.detach().clone().requires_grad_(True)
    out = fn(weight, x)
    probe = torch.linspace(-1.0, 1.0, out.numel(), dtype=out.dtype).reshape(out.shape)
    gw, gx = torch.autograd.grad((out * probe).sum(), (weight, x))
    return out.detach(), gw, gx


@pytest.mark.parametrize("q, depth, c", [(5, 3, 4), (3, 2, 2)])
def test_parallel_pqc_matches_pennylane(q: int, depth: int, c: int) -> None:
    """Simulator outputs and gradients (weights and inputs) equal PennyLane's for the same weights."""
    torch.manual_seed(1)
    layer = hqnn.ParallelPQC(q, depth, c).double()
    reference = hqnn.ParallelPQC(q, depth, c, backend="pennylane").double()
    x = torch.randn(6, q * c, dtype=torch.float64)

    def ours(w: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(layer, {"weight": w}, (inputs,))

    def qnode(w: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(reference, {"weight": w}, (inputs,))

    got = _outputs_and_grads(ours, layer.weight, x)
    for expected in (_outputs_and_grads(_reference_parallel, layer.weight, x), _outputs_and_grads(qnode, layer.weight, x)):
        for a, b in zip(got, expected):
            torch.testing.assert_close(a, b, atol=TOL, rtol=0)
    assert got[0].abs().max() <= 1.0 and got[1].abs().sum() > 0


def test_quanv_matches_pennylane_and_closed_form() -> None:
    """Quanv2d: simulator = PennyLane QNode = prod_{k<=j} cos(pi p_k + w_k), outputs and gradients."""
    torch.manual_seed(2)
    layer = quanv.Quanv2d().double()
    reference = quanv.Quanv2d(backend="pennylane").double()
    images = torch.rand(3, 2, 4, 6, dtype=torch.float64)  # 2 channels: each gets 4 output channels

    def closed_form(w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        b, ch, h, wd = x.shape
        patches = x.reshape(b, ch, h // 2, 2, wd // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(b, ch, 4, h // 2, wd // 2)
        factors = torch.cos(math.pi * patches + w.reshape(1, 1, 4, 1, 1))
        return torch.cumprod(factors, dim=2).reshape(b, 4 * ch, h // 2, wd // 2)

    def run(module: torch.nn.Module):
        return lambda w, x: torch.func.functional_call(module, {"weight": w}, (x,))

    got = _outputs_and_grads(run(layer), layer.weight, images)
    assert got[0].shape == (3, 8, 2, 3)
    for fn in (run(reference), closed_form):
        for a, b in zip(got, _outputs_and_grads(fn, layer.weight, images)):
            torch.testing.assert_close(a, b, atol=TOL, rtol=0)


def test_strongly_entangling_circuit_layout() -> None:
    circuit = hqnn.strongly_entangling_circuit(5, 3)
    assert (circuit.n_params, circuit.n_inputs) == (45, 5)
    cnots = [op.wires for op in circuit.ops if op.name == "CNOT"]
    assert cnots[:5] == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 0)]  # layer 0: nearest-neighbour ring
    assert cnots[5:7] == [(0, 2), (1, 3)]  # layer 1: range 2 (PennyLane's default ranges)
    with pytest.raises(InvalidInputError):
        hqnn.strongly_entangling_circuit(0, 1)


# ------------------------------------------------------------------ parameter counts
@pytest.mark.parametrize("q, depth, c", [(5, 3, 4), (4, 2, 5), (2, 1, 1)])
def test_quantum_weights_follow_paper_formula(q: int, depth: int, c: int) -> None:
    counts = hqnn.count_parameters(hqnn.hqnn_parallel(hqnn.MNIST_INPUT, q, depth, c))
    assert counts.quantum == q * 3 * depth * c


def test_parameter_counts_match_table_1() -> None:
    hybrid = hqnn.count_parameters(hqnn.hqnn_parallel(hqnn.MNIST_INPUT))
    assert (hybrid.total, hybrid.quantum) == (45_194, 180)  # Table 1: HQNN 45,194
    counterpart = hqnn.count_parameters(hqnn.cnn_counterpart(hqnn.MNIST_INPUT))
    assert (counterpart.total, counterpart.quantum) == (45_194 - 180 + 20 * 20 + 20, 0)
    big = hqnn.count_parameters(hqnn.cnn_big(hqnn.MNIST_INPUT)).total
    assert abs(big - 372_234) / 372_234 < 5e-4  # Table 1: CNN 372,234; 8x the hybrid
    assert big / hybrid.total > 8


def test_quanv_first_layer_weights() -> None:
    """HQNN-Quanv and CNN1 have 4 weights in their first layer, CNN4 16 (Sec. 2.3.3)."""
    assert hqnn.count_parameters(quanv.hqnn_quanv()) == hqnn.ParamCount(196 * 10 + 10, 4)
    for filters in (1, 4):
        model = quanv.cnn_kernel(filters)
        assert model.features.weight.numel() == 4 * filters
        assert model(torch.rand(2, 1, 14, 14)).shape == (2, 10)


@pytest.mark.parametrize("dataset", classify.DATASETS)
@pytest.mark.parametrize("name", list(classify.MODELS))
def test_models_adapt_to_each_dataset(dataset: str, name: str) -> None:
    spec = classify.INPUTS[dataset]
    model = classify.build_model(name, dataset)
    images = classify.model_input(name, dataset, torch.rand(2, spec.channels, spec.size, spec.size))
    assert model.eval()(images).shape == (2, spec.n_classes)


# -------------------------------------------------------------------------- loaders
@needs_mnist
def test_mnist_local_copy() -> None:
    data = mnist.load_mnist("test", MNIST_DIR)
    assert data.images.shape == (10_000, 1, 28, 28) and data.images.dtype == torch.uint8
    assert data.labels[:5].tolist() == [7, 2, 1, 0, 4] and data.labels.bincount().tolist()[0] == 980
    assert torch.equal(mnist.load_mnist("test", DATASETS).labels, data.labels)  # parent folder works too
    assert not mnist.has_split("train", MNIST_DIR)
    with pytest.raises(InvalidInputError, match="train"):
        mnist.load_mnist("train", MNIST_DIR)


def test_mnist_checksum_and_format_errors(tmp_path: Path) -> None:
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"not mnist"))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"x"))
    with pytest.raises(InvalidInputError, match="checksum"):
        mnist.load_mnist("test", tmp_path)
    with pytest.raises(InvalidInputError, match="magic"):
        mnist.parse_idx(b"\x00\x00\x0d\x01")
    header = bytes([0, 0, 8, 1]) + (3).to_bytes(4, "big")
    assert mnist.parse_idx(header + b"\x01\x02\x03").tolist() == [1, 2, 3]
    with pytest.raises(InvalidInputError):
        mnist.parse_idx(header + b"\x01")
    with pytest.raises(InvalidInputError):
        mnist.load_mnist("validation", tmp_path)


def test_split_indices_fixed_and_disjoint() -> None:
    train, held = mnist.split_indices(100, 20, seed=0)
    again, _ = mnist.split_indices(100, 20, seed=0)
    assert torch.equal(train, again) and len(held) == 20
    assert sorted(torch.cat([train, held]).tolist()) == list(range(100))


@needs_medmnist
def test_medmnist_local_copy() -> None:
    data = medmnist.load_medmnist(MEDMNIST_DIR, per_class=3)
    assert data.images.shape == (18, 1, 64, 64) and data.classes == medmnist.CLASSES
    assert data.labels.tolist() == [k for k in range(6) for _ in range(3)]
    assert medmnist.load_medmnist(DATASETS, per_class=1).images.shape == (6, 1, 64, 64)
    with pytest.raises(InvalidInputError, match="--data-dir"):
        medmnist.load_medmnist(None)


@needs_cifar
def test_cifar10_split_through_runner() -> None:
    data = classify.load_data("cifar10", DATASETS, train_size=30, test_size=20)
    assert data.train_x.shape == (30, 3, 32, 32) and data.test_x.shape == (20, 3, 32, 32)
    assert 0.0 <= float(data.train_x.min()) and float(data.train_x.max()) <= 1.0
    assert len(set(data.train_y.tolist())) > 5


@needs_mnist
def test_offline_mnist_split_is_disclosed_and_disjoint() -> None:
    data = classify.load_data("mnist", MNIST_DIR, train_size=8000, test_size=None)
    assert (len(data.train_y), len(data.test_y)) == (8000, 2000)
    assert "fixed seed 0" in data.note and "test split" in data.note
    train_keys = {bytes(x.to(torch.uint8).numpy()) for x in (data.train_x[:500] * 255).round()}
    assert not any(bytes(x.to(torch.uint8).numpy()) in train_keys for x in (data.test_x * 255).round())
    with pytest.raises(InvalidInputError, match="only 8,000"):
        classify.load_data("mnist", MNIST_DIR, train_size=9000, test_size=None)


# ------------------------------------------------------------------- end to end
def test_config_validation() -> None:
    for bad in ({"model": "vgg"}, {"dataset": "imagenet"}, {"backend": "qiskit"}, {"epochs": 0}, {"lr": -1.0}):
        with pytest.raises(InvalidInputError):
            classify.ClassifyConfig(**bad).resolved()
    resolved = classify.ClassifyConfig(model="hqnn-quanv").resolved()
    assert (resolved.train_size, resolved.test_size, resolved.epochs, resolved.repeats) == (500, 100, 20, 10)


@needs_mnist
def test_tiny_compare_run_and_outputs(tmp_path: Path) -> None:
    config = classify.ClassifyConfig(model="hqnn-parallel", epochs=2, train_size=64, test_size=32, batch_size=32,
                                     data_dir=MNIST_DIR)
    events: list[classify.ClassifyProgress] = []
    results = classify.run_compare(config, events.append)
    assert [r.model for r in results] == ["hqnn-parallel", "cnn", "cnn-big"]
    hybrid = results[0]
    assert (hybrid.params_classical, hybrid.params_quantum) == (45_014, 180)
    assert len(hybrid.runs[0]) == 2 and 0.0 <= hybrid.test_acc <= 1.0 and hybrid.paper is not None
    assert events[-1].epoch == 2 and events[-1].step == events[-1].steps == 2
    written = classify.write_outputs(results, tmp_path / "out")
    assert all(p.stat().st_size > 0 for p in written)
    table = (tmp_path / "out" / "table.md").read_text()
    assert "99.21" in table and "45,194" in table and "held-out" in table
    assert json.loads((tmp_path / "out" / "results.json").read_text())[0]["params_quantum"] == 180


@needs_mnist
def test_cli_quanv_seeds_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [
        "eval", "classify", "--model", "hqnn-quanv", "--data-dir", str(MNIST_DIR), "--epochs", "1", "--train-size", "20",
        "--test-size", "10", "--repeats", "2", "--json", "--out", str(tmp_path),
    ])
    assert result.exit_code == 0, result.output
    (record,) = json.loads(result.stdout)
    assert record["seeds"] == [0, 1] and len(record["runs"]) == 2 and record["params_quantum"] == 4
    assert record["paper"]["test_acc"] == 67.0 and (tmp_path / "curves.png").is_file()


def test_cli_rejects_unknown_model() -> None:
    result = CliRunner().invoke(app, ["eval", "classify", "--model", "resnet"])
    assert result.exit_code == 1 and "unknown model" in result.output
