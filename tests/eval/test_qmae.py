"""QMAE / QAE (Andrews & Mishra 2025): exact fidelity vs the paper's SWAP-test circuit in
PennyLane, parameter counts, batching, a tiny end-to-end run, and the inpaint command."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from conftest import SHARED
from qcodec.cli.app import app
from qcodec.data.image_io import decode_image_bytes, encode_image_bytes
from qcodec.errors import InvalidInputError
from qcodec.eval.models.qmae import (
    QMAE,
    ansatz_param_count,
    model_from_bytes,
    model_to_bytes,
    patch_shape,
    qmae_ansatz,
    swap_test_fidelity,
    wang_block,
)
from qcodec.quantum import Circuit, TorchSimulator

MNIST = SHARED / "datasets" / "mnist"
runner = CliRunner()


def small_model(n_qubits: int, trash: tuple[int, ...], patch: tuple[int, int], seed: int = 0) -> QMAE:
    """A float64 model with random (far from identity) angles and token."""
    model = QMAE(n_qubits=n_qubits, patch=patch, trash_wires=trash).double()
    gen = torch.Generator().manual_seed(seed)
    model.init_parameters(1.5, gen)
    with torch.no_grad():
        model.mask_token.copy_(torch.rand(patch, generator=gen, dtype=torch.float64))
    return model


def test_parameter_and_gate_counts():
    block = wang_block(Circuit(2), 0, 1)
    names = [op.name for op in block.ops]
    assert (names.count("RZ"), names.count("RY"), names.count("CNOT"), len(names)) == (9, 6, 3, 18)
    assert block.n_params == 15
    for n in range(2, 9):
        assert qmae_ansatz(n).n_params == ansatz_param_count(n) == n * (n - 1) // 2 * 15
    qmae, qae = QMAE(), QMAE(mask_token=False)
    assert (qmae.n_ansatz_params, qmae.n_params, qae.n_params) == (420, 420 + 64, 420)
    assert [patch_shape(16, f) for f in (0.125, 0.25, 0.5)] == [(8, 4), (8, 8), (16, 8)]


def test_fast_unitary_matches_the_simulator_on_the_full_circuit():
    model = small_model(4, (3,), (2, 2))
    reference = TorchSimulator(model.circuit()).unitary(model.theta.detach())
    assert torch.allclose(model.unitary_rows().T, reference, atol=1e-12)


@pytest.mark.parametrize(("n_qubits", "trash", "patch"), [(2, (1,), (1, 1)), (4, (3,), (2, 2)), (4, (0,), (2, 4)), (4, (1, 2), (2, 2))])
def test_exact_fidelity_equals_pennylane_swap_test(n_qubits, trash, patch):
    model = small_model(n_qubits, trash, patch, seed=n_qubits + len(trash))
    side = model.image_size
    gen = torch.Generator().manual_seed(1)
    images = torch.rand(3, side, side, generator=gen, dtype=torch.float64)
    corners = torch.tensor([[0, 0], [side - patch[0], side - patch[1]], [0, side - patch[1]]])
    filled = model.fill(images, corners)
    exact = model.fidelity(filled, images).detach()
    swap = swap_test_fidelity(model, filled, images)
    assert torch.allclose(exact, swap, atol=1e-6), (exact, swap)
    # the same F from the full mixed decoder state, whose diagonal is the read-out
    rho = model.density_matrix(filled).detach()
    target = model.embed(images).to(rho.dtype)
    assert torch.allclose(torch.einsum("bi,bij,bj->b", target.conj(), rho, target).real, exact, atol=1e-10)
    assert torch.allclose(torch.diagonal(rho, dim1=1, dim2=2).real, model.output_probabilities(filled).detach(), atol=1e-10)
    assert torch.allclose(torch.einsum("bii->b", rho).real, torch.ones(3, dtype=torch.float64), atol=1e-10)


def test_forward_is_batched_with_one_unitary_per_pass(monkeypatch):
    model = small_model(8, (7,), (8, 8))
    images = torch.rand(32, 16, 16, dtype=torch.float64)
    corners = torch.tensor([[0, 0], [0, 8], [8, 0], [8, 8]]).repeat(8, 1)
    calls = {"unitary": 0}
    original = QMAE.unitary_rows

    def counted(self):
        calls["unitary"] += 1
        return original(self)

    monkeypatch.setattr(QMAE, "unitary_rows", counted)
    batch = model(images, corners)
    assert calls["unitary"] == 1 and batch.shape == (32,)
    singles = torch.cat([model(images[i : i + 1], corners[i : i + 1]) for i in range(4)])
    assert torch.allclose(batch[:4], singles, atol=1e-12)
    (1 - batch.mean()).backward()
    assert model.theta.grad.abs().sum() > 0 and model.mask_token.grad.abs().sum() > 0


def test_model_file_round_trip_and_rejects_other_files():
    model = small_model(8, (7,), (8, 8)).float()
    loaded, meta = model_from_bytes(model_to_bytes(model, {"mask": 0.25}))
    assert meta == {"mask": 0.25} and loaded.config() == model.config()
    assert torch.equal(loaded.theta, model.theta) and torch.equal(loaded.mask_token, model.mask_token)
    with pytest.raises(InvalidInputError, match="not a qcodec QMAE model"):
        model_from_bytes(b"not a model", "x.pt")


@pytest.mark.skipif(not MNIST.is_dir(), reason=f"local MNIST copy not found at {MNIST}")
def test_tiny_end_to_end_run_writes_report_grid_and_model(tmp_path):
    out, saved = tmp_path / "run", tmp_path / "qmae.pt"
    result = runner.invoke(app, ["eval", "qmae", "--data-dir", str(MNIST), "--epochs", "1", "--train-size", "256",
                                 "--test-size", "64", "--classifier-epochs", "1", "--out", str(out), "--save", str(saved),
                                 "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [r["name"] for r in report["rows"]] == ["QMAE", "QAE", "masked input"]
    assert "fixed seed" in report["split"] and report["patch"] == [8, 8]
    for row in report["rows"]:
        assert 0 <= row["fidelity"] <= 1 and -1 <= row["cosine"] <= 1 and 0 <= row["accuracy"] <= 1
    grid = decode_image_bytes((out / "grid.png").read_bytes()).pixels
    assert grid.shape[:2] == (4 * (64 + 2) + 2, 64 + 10 * (64 + 2) + 2)  # original, masked, QAE, QMAE; 10 images
    assert json.loads((out / "results.json").read_text())["rows"][0]["name"] == "QMAE"
    model, meta = model_from_bytes(saved.read_bytes())
    assert model.mask_token is not None and meta["train_size"] == 256


def _digit(size: int) -> np.ndarray:
    """A bright ring on black, ``uint8 (size, size, 1)``."""
    ys, xs = np.mgrid[0:size, 0:size] / (size - 1) - 0.5
    ring = np.exp(-(((xs**2 + ys**2) ** 0.5 - 0.3) ** 2) / 0.005)
    return (255 * ring / ring.max()).astype(np.uint8)[:, :, None]


def test_inpaint_cli_fills_only_the_rectangle(tmp_path):
    model_path, src, dst = tmp_path / "m.pt", tmp_path / "in.png", tmp_path / "out.png"
    model_path.write_bytes(model_to_bytes(small_model(8, (7,), (8, 8), seed=3).float()))
    pixels = _digit(16)
    src.write_bytes(encode_image_bytes(pixels))
    result = runner.invoke(app, ["inpaint", str(src), str(dst), "--mask", "8,0,8,8", "--model", str(model_path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["model_region"] == [8, 0, 8, 8]
    out = decode_image_bytes(dst.read_bytes()).pixels
    assert out.shape == (16, 16, 1)
    keep = np.ones((16, 16), bool)
    keep[0:8, 8:16] = False
    assert np.array_equal(out[keep], pixels[keep])

    big = tmp_path / "big.png"
    big.write_bytes(encode_image_bytes(_digit(32)))
    result = runner.invoke(app, ["inpaint", str(big), str(dst), "--mask", "16,16,16,16", "--model", str(model_path)])
    assert result.exit_code == 0, result.output
    assert "resized from 32x32" in result.output
    assert decode_image_bytes(dst.read_bytes()).pixels.shape == (32, 32, 1)


@pytest.mark.parametrize(("args", "message"), [
    (["--mask", "1,2,3"], "x,y,w,h"),
    (["--mask", "10,10,8,8"], "outside"),
    (["--mask", "0,0,4,4", "--model", "missing.pt"], "no such model file"),
])
def test_inpaint_errors_are_one_line(tmp_path, args, message):
    src = tmp_path / "in.png"
    src.write_bytes(encode_image_bytes(_digit(16)))
    model_path = tmp_path / "m.pt"
    model_path.write_bytes(model_to_bytes(QMAE()))
    extra = [] if "--model" in args else ["--model", str(model_path)]
    result = runner.invoke(app, ["inpaint", str(src), str(tmp_path / "o.png"), *args, *extra])
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output


def test_inpaint_rejects_a_non_image_and_eval_rejects_a_bad_mask(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"no image here")
    model_path = tmp_path / "m.pt"
    model_path.write_bytes(model_to_bytes(QMAE()))
    result = runner.invoke(app, ["inpaint", str(bad), str(tmp_path / "o.png"), "--mask", "0,0,4,4", "--model", str(model_path)])
    assert result.exit_code == 1 and "not an image" in result.output
    result = runner.invoke(app, ["eval", "qmae", "--mask", "0.3"])
    assert result.exit_code == 1 and "--mask must be one of" in result.output


def test_inpaint_without_model_uses_the_bundled_one(tmp_path):
    from qcodec.eval.inpaint import BUNDLED_MODEL

    if not BUNDLED_MODEL.is_file():
        pytest.skip(f"no bundled model at {BUNDLED_MODEL}")
    src, dst = tmp_path / "in.png", tmp_path / "out.png"
    src.write_bytes(encode_image_bytes(_digit(16)))
    result = runner.invoke(app, ["inpaint", str(src), str(dst), "--mask", "0,8,8,8"])
    assert result.exit_code == 0, result.output
    assert decode_image_bytes(dst.read_bytes()).pixels.shape == (16, 16, 1)
    assert len(BUNDLED_MODEL.read_bytes()) < 100_000
