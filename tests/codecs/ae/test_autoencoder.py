"""The autoencoder codec: model pieces, integer tables, training/resume, model files and the codec."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image as PILImage
from torch import nn

from conftest import SAMPLES, gradient_image
from qcodec import api
from qcodec.bench.codecs import SweepConfig
from qcodec.bench.models import QcodecModel
from qcodec.codecs.ae.network import GDN, FactorizedAutoencoder, FactorizedDensity, rate_distortion_loss
from qcodec.codecs.ae.training import TrainConfig, init_linear_shortcut_, load_training_images, random_crops, shortcut_gain, train_autoencoder
from qcodec.codecs.ae.zoo import MODEL_PATH_ENV, bundled_models, find_model, load_model_file, save_model_file
from qcodec.coding.bitstream import ByteWriter, pack, unpack
from qcodec.coding.entropy import TABLE_PRECISION, decode_with_tables, encode_with_tables, frequency_table
from qcodec.data.image_io import Image
from qcodec.errors import BitstreamError, InvalidInputError

TINY = TrainConfig(lmbda=0.01, steps=4, patch=32, batch=2, channels=8, latent_channels=6, klt_blocks=500, checkpoint_every=2)


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("train")
    rng = np.random.default_rng(0)
    for i in range(3):
        pixels = np.asarray(gradient_image(40 + 8 * i, 48, 3).pixels, dtype=np.int16) + rng.integers(-20, 20, (40 + 8 * i, 48, 3))
        PILImage.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(folder / f"{i}.png")
    PILImage.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "too-small.png")
    return folder


@pytest.fixture(scope="module")
def tiny_model_file(image_folder, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("model") / "ae-tiny.pt"
    network = train_autoencoder(image_folder, TINY, out.with_name("ckpt"))
    save_model_file(network, out, model_id=9, lmbda=TINY.lmbda, recipe={"test": True})
    return out


def test_gdn_matches_its_formula_and_igdn_inverts_a_diagonal_gdn():
    gdn = GDN(4)
    with torch.no_grad():
        gdn.gamma.copy_(torch.rand(4, 4))
        gdn.beta.copy_(torch.rand(4) + 0.5)
    x = torch.randn(2, 4, 3, 5)
    norm = torch.einsum("ij,bjhw->bihw", gdn.gamma**2, x**2) + (gdn.beta**2)[None, :, None, None]
    torch.testing.assert_close(gdn(x), x / torch.sqrt(norm))
    forward, inverse = GDN(3), GDN(3, inverse=True)  # initial gamma 0.1 I, beta 1
    torch.testing.assert_close(forward(x[:, :3]), x[:, :3] / torch.sqrt(1 + 0.1 * x[:, :3] ** 2))
    torch.testing.assert_close(inverse(x[:, :3]), x[:, :3] * torch.sqrt(1 + 0.1 * x[:, :3] ** 2))


def test_density_bins_sum_to_one_and_match_the_training_likelihood():
    density = FactorizedDensity(3)
    masses = density.bin_masses(-200, 200)
    torch.testing.assert_close(masses.sum(dim=1), torch.ones(3, dtype=torch.float64), atol=1e-5, rtol=0)
    y = torch.arange(-4, 5, dtype=torch.float32).repeat(3, 1).reshape(1, 3, 1, 9)
    likelihood = density.likelihood(y)[0, :, 0].double()
    torch.testing.assert_close(likelihood, masses[:, 196:205], atol=1e-6, rtol=1e-4)


def test_autoencoder_shapes_and_integer_latents():
    model = FactorizedAutoencoder(8, 6)
    x = torch.rand(1, 3, 48, 32)
    y = model.analyse(x)
    assert y.dtype == torch.int32 and y.shape == (1, 6, 3, 2)
    assert model.synthesize(y).shape == (1, 3, 48, 32)


def test_macs_per_pixel_counts_every_convolution():
    model = FactorizedAutoencoder(8, 12)
    counted = {"analysis": 0, "synthesis": 0}

    def hook(part):
        def count(module, inputs, output):
            if isinstance(module, nn.ConvTranspose2d):
                counted[part] += inputs[0][0, 0].numel() * module.weight.numel()
            elif isinstance(module, nn.Conv2d):
                counted[part] += output[0, 0].numel() * module.weight.numel()
            else:  # GDN: one C x C product per position
                counted[part] += output[0, 0].numel() * module.gamma.numel()
        return count

    for part, modules in (("analysis", [*model.g_a, model.a_skip]), ("synthesis", [*model.g_s, model.s_skip])):
        for module in modules:
            module.register_forward_hook(hook(part))
    model.synthesize(model.analyse(torch.rand(1, 3, 64, 128)))
    expected = model.macs_per_pixel()
    assert counted["analysis"] / (64 * 128) == pytest.approx(expected["analysis"])
    assert counted["synthesis"] / (64 * 128) == pytest.approx(expected["synthesis"])


def test_frequency_tables_are_exact_and_round_trip():
    masses = np.exp(-np.abs(np.arange(-30, 31)) / 3.0)
    table = frequency_table(masses, -30)
    assert table.freqs.sum() == 1 << TABLE_PRECISION and table.freqs.min() >= 1 and table.hi == 30
    other = frequency_table([1e-30, 1.0, 1e-30], 5)
    values = [np.array([0, -30, 30, 3, 0, 0]), np.array([5, 6, 7, 6, 6, 6])]
    words = encode_with_tables(values, [table, other])
    assert [v.tolist() for v in decode_with_tables([table, other], 6, words)] == [v.tolist() for v in values]
    with pytest.raises(ValueError, match="outside"):
        encode_with_tables([np.array([31])], [table])
    with pytest.raises(BitstreamError):
        decode_with_tables([table, other], 6, words + b"\x01\x02\x03\x04")


def test_training_resumes_to_the_same_weights(image_folder, tmp_path):
    straight = train_autoencoder(image_folder, TINY, tmp_path / "a.ckpt")

    def stop_at_three(event):
        if event.step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_autoencoder(image_folder, TINY, tmp_path / "b.ckpt", stop_at_three)
    assert torch.load(tmp_path / "b.ckpt", weights_only=True)["step"] == 2
    resumed = train_autoencoder(image_folder, TINY, tmp_path / "b.ckpt")
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)
    with pytest.raises(InvalidInputError, match="different settings"):
        train_autoencoder(image_folder, replace(TINY, lmbda=0.5), tmp_path / "b.ckpt")


def test_klt_initialisation_starts_as_a_working_transform_coder(image_folder):
    model = FactorizedAutoencoder(8, 24)
    images = load_training_images(image_folder, 32)
    x = random_crops(images, 32, 4, torch.Generator().manual_seed(1))
    before = torch.mean((model.synthesize(model.analyse(x)) - x) ** 2)
    init_linear_shortcut_(model, images, torch.Generator().manual_seed(0), gain=8.0, blocks=500)
    after = torch.mean((model.synthesize(model.analyse(x)) - x) ** 2)
    assert after < 0.2 * before
    top = model.a_skip.weight[:, :, 0, 0]  # rows: orthonormal directions times the gain
    torch.testing.assert_close(top @ top.T, 64.0 * torch.eye(24), atol=1e-3, rtol=1e-4)


def test_shortcut_gain_is_the_rate_distortion_optimal_step():
    # minimise 65025 lambda (M/768) s^2/12 - (M/256) log2(s) numerically for one lambda
    steps = np.linspace(0.01, 1.0, 100000)
    cost = 65025 * 0.005 * steps**2 / 12 / 768 - np.log2(steps) / 256
    assert abs(1 / steps[np.argmin(cost)] - shortcut_gain(0.005)) < 0.01 * shortcut_gain(0.005)


def test_training_lowers_the_rate_distortion_loss(image_folder, tmp_path):
    x = random_crops(load_training_images(image_folder, 32), 32, 8, torch.Generator().manual_seed(5))
    losses = []
    for steps in (1, 40):
        model = train_autoencoder(image_folder, replace(TINY, steps=steps, warmup_steps=1), tmp_path / f"{steps}.ckpt")
        torch.manual_seed(0)
        with torch.no_grad():
            losses.append(float(rate_distortion_loss(model(x), x, TINY.lmbda)[0]))
    assert losses[1] < 0.99 * losses[0]  # the start (KLT + fitted density) is already good


def test_training_refuses_bad_folders(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist"):
        train_autoencoder(tmp_path / "none", TINY, tmp_path / "x.ckpt")
    with pytest.raises(InvalidInputError, match="no image"):
        train_autoencoder(tmp_path, TINY, tmp_path / "x.ckpt")


def test_model_file_round_trip_and_lookup(tiny_model_file, monkeypatch):
    model = load_model_file(tiny_model_file)
    assert model.model_id == 9 and model.lmbda == TINY.lmbda and len(model.tables) == TINY.latent_channels
    assert all(t.freqs.sum() == 1 << TABLE_PRECISION for t in model.tables)
    with pytest.raises(BitstreamError, match="QCODEC_MODEL_PATH"):
        find_model(9, model.version, model.checksum)
    monkeypatch.setenv(MODEL_PATH_ENV, str(tiny_model_file.parent))
    assert find_model(9, model.version, model.checksum).path == model.path
    with pytest.raises(BitstreamError, match="does not have"):
        find_model(9, model.version, model.checksum ^ 1)


def test_encode_with_a_user_model_pads_and_crops(tiny_model_file, monkeypatch):
    image = gradient_image(21, 35, 3)
    result = api.encode(image, "ae", {"weights": str(tiny_model_file)})
    assert result.reconstruction.shape == (21, 35, 3)
    assert result.details["latent_shape"] == [TINY.latent_channels, 2, 3]
    with pytest.raises(BitstreamError, match="does not have"):
        api.decode(result.data)
    monkeypatch.setenv(MODEL_PATH_ENV, str(tiny_model_file))
    assert np.array_equal(api.decode(result.data), result.reconstruction)


# -- the bundled models ------------------------------------------------------------------


def test_bundled_models_are_ordered_levels_trained_on_bsds300():
    models = bundled_models()
    assert [m.quality for m in models] == list(range(1, len(models) + 1)) and len(models) >= 3
    assert [m.lmbda for m in models] == sorted(m.lmbda for m in models)
    for model in models:
        assert model.recipe["data"] == "bsds300-train"
        assert all(t.freqs.sum() == 1 << TABLE_PRECISION for t in model.tables)


def test_bundled_levels_trade_rate_for_quality():
    image = gradient_image(64, 80, 3)
    results = [api.encode(image, "ae", {"quality": m.quality}) for m in bundled_models()]
    sizes = [len(r.data) for r in results]
    errors = [np.mean((r.reconstruction.astype(float) - image.pixels) ** 2) for r in results]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    assert errors[-1] < errors[0]
    for result in results:
        assert np.array_equal(api.decode(result.data), result.reconstruction)


def test_bpp_picks_the_closest_level():
    image = gradient_image(64, 64, 3)
    rates = {m.quality: len(api.encode(image, "ae", {"quality": m.quality}).data) * 8 / 4096 for m in bundled_models()}
    for target in (0.0, 100.0, float(np.mean(list(rates.values())))):
        chosen = api.encode(image, "ae", {"bpp": max(target, 1e-3)}).details["quality"]
        assert chosen == min(rates, key=lambda q: abs(rates[q] - max(target, 1e-3)))


def test_grayscale_round_trip():
    image = gradient_image(17, 33, 1)
    result = api.encode(image, "ae", {"quality": 1})
    assert result.reconstruction.shape == (17, 33, 1)
    assert np.array_equal(api.decode(result.data), result.reconstruction)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"quality": 99}, "--quality must be one of"),
        ({"quality": 1, "bpp": 0.3}, "either --quality or --bpp"),
        ({"steps": 10}, "does not apply"),
        ({"bpp": -1.0}, "must be positive"),
    ],
)
def test_bad_options_are_refused(options, message):
    with pytest.raises(InvalidInputError, match=message):
        api.encode(gradient_image(16, 16, 3), "ae", options)


def test_stream_naming_an_unknown_model_is_refused_and_info_says_so():
    result = api.encode(gradient_image(16, 16, 3), "ae", {"quality": 1})
    container = unpack(result.data)
    header = ByteWriter()
    header.u8(1)
    header.u8(1)
    header.u32(0xDEADBEEF)
    container.sections[1] = header.getvalue()
    forged = pack(container)
    with pytest.raises(BitstreamError, match="deadbeef"):
        api.decode(forged)
    assert api.inspect(forged)["model_available"] is False
    assert api.inspect(result.data)["model_available"] is True


def test_separate_process_decode_is_bit_identical(tmp_path):
    source = sorted(SAMPLES.glob("*.png"))[0]
    stream, out = tmp_path / "s.qic", tmp_path / "d.png"
    image = Image(np.asarray(PILImage.open(source).convert("RGB")))
    result = api.encode(image, "ae", {"quality": 2})
    stream.write_bytes(result.data)
    subprocess.run([sys.executable, "-m", "qcodec", "decode", str(stream), str(out)], check=True, timeout=120)
    assert np.array_equal(np.asarray(PILImage.open(out)), result.reconstruction)


def test_bench_sweeps_every_bundled_level():
    points = QcodecModel("ae").rate_points(SweepConfig())
    assert [p.options for p in points] == [{"quality": m.quality} for m in bundled_models()]
    assert "models 1:" in QcodecModel("ae").version()


def test_train_command_writes_a_usable_model_file(image_folder, tmp_path):
    from typer.testing import CliRunner

    from qcodec.cli.app import app

    out = tmp_path / "ae-mine.pt"
    args = ["train", "ae", "--data", str(image_folder), "--out", str(out), "--quality", "5", "--lambda", "0.02",
            "--steps", "3", "--patch", "32", "--batch", "2", "--channels", "8", "--latent-channels", "6", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert '"quality": 5' in result.output and out.exists() and (tmp_path / "ae-mine.pt.ckpt").exists()
    model = load_model_file(out)
    assert model.model_id == 5 and model.recipe["data"] == image_folder.name and model.recipe["steps"] == 3
    bad = CliRunner().invoke(app, ["train", "ae", "--data", str(tmp_path / "none"), "--out", str(out)])
    assert bad.exit_code == 1 and "does not exist" in bad.output


def test_training_can_start_from_another_model(tiny_model_file, image_folder, tmp_path):
    start = load_model_file(tiny_model_file).network
    tuned = train_autoencoder(image_folder, replace(TINY, steps=1, lr=1e-9), tmp_path / "t.ckpt", init=start)
    for (name, a), b in zip(start.state_dict().items(), tuned.state_dict().values()):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0, msg=name)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--lambda", "0"], "--lambda must be positive"),
        (["--steps", "0"], "--steps must be at least 1"),
        (["--quality", "0"], "--quality must be 1..255"),
        (["--latent-channels", "769"], "--latent-channels"),
        (["--patch", "20"], "multiple of 16"),
    ],
)
def test_train_command_refuses_bad_settings_before_training(image_folder, tmp_path, extra, message):
    from typer.testing import CliRunner

    from qcodec.cli.app import app

    out = tmp_path / "ae.pt"
    result = CliRunner().invoke(app, ["train", "ae", "--data", str(image_folder), "--out", str(out), *extra])
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    assert not out.exists() and not (tmp_path / "ae.pt.ckpt").exists()


def test_training_refuses_unreadable_images_and_foreign_checkpoints(image_folder, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "x.png").write_bytes(b"not a png")
    with pytest.raises(InvalidInputError, match="cannot be read"):
        train_autoencoder(broken, TINY, tmp_path / "a.ckpt")
    (tmp_path / "junk.ckpt").write_bytes(b"junk")
    with pytest.raises(InvalidInputError, match="not a training checkpoint"):
        train_autoencoder(image_folder, TINY, tmp_path / "junk.ckpt")
    train_autoencoder(image_folder, TINY, tmp_path / "b.ckpt")
    other = tmp_path / "other"
    other.mkdir()
    for source in image_folder.glob("*.png"):
        (other / source.name).write_bytes(source.read_bytes())
    with pytest.raises(InvalidInputError, match="different settings or data"):
        train_autoencoder(other, TINY, tmp_path / "b.ckpt")


def test_a_broken_file_on_the_model_path_does_not_block_decoding(tiny_model_file, tmp_path, monkeypatch):
    (tmp_path / "ae-broken.pt").write_bytes(b"junk")
    (tmp_path / "ae-good.pt").write_bytes(tiny_model_file.read_bytes())
    result = api.encode(gradient_image(16, 16, 3), "ae", {"weights": str(tiny_model_file)})
    monkeypatch.setenv(MODEL_PATH_ENV, str(tmp_path))
    assert np.array_equal(api.decode(result.data), result.reconstruction)
    with pytest.raises(InvalidInputError, match="not a qcodec autoencoder model file"):
        load_model_file(tmp_path / "ae-broken.pt")


def test_streams_with_other_sections_are_refused():
    result = api.encode(gradient_image(16, 16, 3), "ae", {"quality": 1})
    container = unpack(result.data)
    container.sections[2] = b"\x00"
    with pytest.raises(BitstreamError, match="exactly a model and a payload"):
        api.decode(pack(container))
