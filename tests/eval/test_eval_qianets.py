"""CIFAR-10 loading and a tiny end-to-end `qcodec eval qianets` run on the local subset (no network)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from conftest import SHARED
from qcodec.cli.app import app
from qcodec.data.cifar10 import CLASSES, load_cifar10, normalize
from qcodec.errors import InvalidInputError
from qcodec.eval.qianets import QianetsConfig, run_qianets

CIFAR = SHARED / "datasets" / "cifar10"
needs_cifar = pytest.mark.skipif(not (CIFAR / "train").is_dir(), reason=f"local CIFAR-10 subset not found at {CIFAR}")

TINY = {
    "width": 0.0625, "train_per_class": 20, "test_per_class": 5, "epochs": 1.0, "finetune_epochs": 0.5,
    "stages": 2, "rank": 4, "latency_repeats": (3, 1), "batch_size": 50,
}


@needs_cifar
def test_image_folder_subset_is_balanced_uint8() -> None:
    data = load_cifar10("test", CIFAR, per_class=3)
    assert data.images.shape == (30, 3, 32, 32) and data.images.dtype == torch.uint8
    assert data.labels.tolist() == [c for c in range(10) for _ in range(3)]
    assert normalize(data.images).dtype == torch.float32


def test_official_batches_layout(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        labels = [int(x) for x in rng.integers(0, 10, 40)]
        batch = {b"data": rng.integers(0, 256, (40, 3072), dtype=np.uint8), b"labels": labels}
        (folder / name).write_bytes(pickle.dumps(batch))
    train = load_cifar10("train", tmp_path, per_class=2)
    assert train.images.shape == (20, 3, 32, 32)
    assert train.labels.tolist() == [c for c in range(10) for _ in range(2)]
    first = pickle.loads((folder / "data_batch_1").read_bytes())
    index = first[b"labels"].index(0)
    assert torch.equal(train.images[0], torch.from_numpy(first[b"data"][index].reshape(3, 32, 32)))
    assert load_cifar10("test", tmp_path).labels.numel() == 40


def test_bad_sources_raise_typed_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="no CIFAR-10 data"):
        load_cifar10("train", tmp_path)
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(b"not the archive")
    with pytest.raises(InvalidInputError, match="checksum"):
        load_cifar10("train", tmp_path)
    with pytest.raises(InvalidInputError, match="split"):
        load_cifar10("valid", tmp_path)
    with pytest.raises(InvalidInputError):
        load_cifar10("train", None, download=False)
    assert len(CLASSES) == 10


@needs_cifar
def test_tiny_end_to_end_run_and_checkpoint(tmp_path: Path) -> None:
    config = QianetsConfig(data_dir=CIFAR, out_dir=tmp_path, seed=1, **TINY)
    report = run_qianets(config)
    names = [v.name for v in report.variants]
    assert names == ["baseline", "qianets-paper", "magnitude", "qianets-fast", "magnitude-channels", "svd"]
    base, paper, magnitude = report.variant("baseline"), report.variant("qianets-paper"), report.variant("magnitude")
    fast, mag_ch = report.variant("qianets-fast"), report.variant("magnitude-channels")
    # unstructured: same dense architecture, sparsity at least alpha, magnitude matched exactly
    assert paper.params_total == magnitude.params_total == base.params_total
    assert paper.flops == base.flops and paper.nonzero_flops < base.flops
    assert paper.weight_sparsity >= report.pruning["alpha"] - 0.01
    assert magnitude.weight_sparsity == pytest.approx(paper.weight_sparsity, abs=1e-9)
    # structured: really smaller, and the magnitude baseline has the identical architecture
    assert fast.params_total < base.params_total and fast.flops < base.flops
    assert fast.params_total == mag_ch.params_total and fast.flops == mag_ch.flops
    for v in report.variants:
        assert 0 <= v.accuracy <= 1
        assert v.latency_b1.median > 0 and v.latency_b256.repeats == 1
    assert report.paper.model == "ResNet-18"
    json.dumps(report.to_json())
    for name in names:
        assert (tmp_path / f"{name}.sparse.npz").is_file()
    again = run_qianets(QianetsConfig(data_dir=CIFAR, checkpoint=tmp_path / "baseline.pt", seed=1, **{**TINY, "epochs": 0.0}))
    assert again.variant("baseline").accuracy == base.accuracy


@needs_cifar
def test_cli_json_output(tmp_path: Path) -> None:
    args = [
        "eval", "qianets", "--data-dir", str(CIFAR), "--width", "0.0625", "--train-per-class", "10", "--test-per-class", "2",
        "--epochs", "0.5", "--finetune-epochs", "0.5", "--stages", "1", "--rank", "2", "--repeats-b1", "2",
        "--repeats-b256", "1", "--batch-size", "50", "--json", "--out", str(tmp_path / "run"),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [v["name"] for v in data["variants"]][0] == "baseline"
    assert data["variants"][0]["latency_b1"]["per_image"] > 0
    assert json.loads((tmp_path / "run" / "results.json").read_text())["config"]["model"] == "resnet18"


def test_cli_rejects_bad_values() -> None:
    result = CliRunner().invoke(app, ["eval", "qianets", "--sparsity", "1.5", "--data-dir", "."])
    assert result.exit_code == 1
    assert "sparsity" in result.output
