"""Decoder conformance: crafted streams are refused from their header before anything is built.

The bomb streams are made the way an attacker would, with qcodec's own writer
(:mod:`qcodec.coding.bitstream`): a valid CRC, a huge image and network, and every tensor coded
with the zero-cost ``constant`` entropy model, so a few hundred bytes ask for hours of work.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import torch
from PIL import Image as PILImage
from typer.testing import CliRunner

from conftest import FAST, gradient_image
from qcodec import api
from qcodec.cli.app import app
from qcodec.codecs import get_codec
from qcodec.codecs.ae.zoo import bundled_models
from qcodec.codecs.budget import DEFAULT_MAX_GMAC, GMAC_ENV, DecodeCost, DecodeLimits
from qcodec.codecs.grid.codec import GridArch
from qcodec.codecs.inr.siren import siren_macs_per_pixel, siren_num_parameters
from qcodec.coding.bitstream import ByteWriter, Container, pack, unpack
from qcodec.coding.entropy import EntropyModel, Family, write_model
from qcodec.errors import BitstreamError, DecodeLimitError, InvalidInputError

runner = CliRunner()


def constant_tensors(shapes: list[tuple[int, ...]]) -> bytes:
    """A tensors section giving every tensor of ``shapes`` the constant model (value 0, 8 bits): no payload."""
    table = ByteWriter()
    table.varint(len(shapes))
    for _ in shapes:
        table.u8(8)
        table.bf16(1.0)
        write_model(table, EntropyModel(Family.CONSTANT, 0, 0))
    return table.getvalue()


def inr_bomb(model: str, arch: dict[str, int], width: int, height: int) -> bytes:
    codec = get_codec(model)
    section = ByteWriter()
    codec.write_arch(section, arch)
    # the shapes come from the architecture alone; build it on the meta device (no memory)
    with torch.device("meta"):
        shapes = [tuple(p.shape) for p in codec.build_model(arch, 3).parameters()]
    sections = {1: section.getvalue(), 2: constant_tensors(shapes), 3: b""}
    return pack(Container(codec.codec_id, width, height, 3, sections=sections))


def grid_bomb(arch: GridArch, width: int, height: int) -> bytes:
    section = ByteWriter()
    arch.write(section)
    with torch.device("meta"):
        shapes = [tuple(p.shape) for p in arch.build(64, 64, 3).decoder_parameters().values()]
    return pack(Container(4, width, height, 3, sections={1: section.getvalue(), 2: constant_tensors(shapes), 3: b"", 4: b""}))


def ae_bomb(width: int, height: int) -> bytes:
    model = bundled_models()[0]
    section = ByteWriter()
    section.u8(model.model_id)
    section.u8(model.version)
    section.u32(model.checksum)
    return pack(Container(3, width, height, 3, sections={1: section.getvalue(), 3: b""}))


BOMBS = {
    # the two COIN streams of the issue: 200 and 681 bytes
    "coin-4096-16x256": lambda: inr_bomb("coin", {"layers": 16, "width": 256}, 4096, 4096),
    "coin-8192-64x1024": lambda: inr_bomb("coin", {"layers": 64, "width": 1024}, 8192, 8192),
    "quinr-12q-64l": lambda: inr_bomb("quinr", {"qubits": 12, "layers": 64, "embed": 1024}, 8192, 8192),
    "grid-largest": lambda: grid_bomb(GridArch(levels=10, hidden=64, context_hidden=64, context_layers=4, quantum_qubits=8), 2896, 2896),
    "ae-65535": lambda: ae_bomb(65535, 65535),
}


def test_the_issue_bombs_have_the_issue_sizes():
    assert len(BOMBS["coin-4096-16x256"]()) == 200
    assert len(BOMBS["coin-8192-64x1024"]()) == 681


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_bomb_is_refused_within_a_second(name, tmp_path):
    data = BOMBS[name]()
    stream, out = tmp_path / "bomb.qic", tmp_path / "out.png"
    stream.write_bytes(data)
    start = time.perf_counter()
    result = runner.invoke(app, ["decode", str(stream), str(out)])
    seconds = time.perf_counter() - start
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: refusing to decode") and "--max-decode-gmac" in lines[0]
    assert not out.exists()
    assert seconds < 1.0


def test_bomb_is_refused_by_a_separate_process(tmp_path):
    stream, out = tmp_path / "bomb.qic", tmp_path / "out.png"
    stream.write_bytes(BOMBS["coin-4096-16x256"]())
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "qcodec", "decode", str(stream), str(out)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    gmac = siren_macs_per_pixel(16, 256, 3) * 4096 * 4096 / 1e9
    assert done.stderr.strip().count("\n") == 0 and f"{gmac:,.1f} GMAC" in done.stderr
    assert not out.exists()
    assert time.perf_counter() - start < 30  # interpreter and torch start-up included


def test_info_reports_the_cost_of_a_bomb_without_decoding_it():
    facts = api.inspect(BOMBS["coin-8192-64x1024"]())
    assert facts["parameters"] == siren_num_parameters(64, 1024, 3)
    assert facts["decode_gmac"] == pytest.approx(siren_macs_per_pixel(64, 1024, 3) * 8192 * 8192 / 1e9, rel=1e-3)


def test_raising_the_limit_lets_a_stream_through(tmp_path):
    image = gradient_image(24, 32, 3)
    data = api.encode(image, "coin", FAST).data
    gmac = api.inspect(data)["decode_gmac"]
    with pytest.raises(DecodeLimitError, match="GMAC"):
        api.decode(data, DecodeLimits(max_gmac=gmac / 2))
    assert api.decode(data, DecodeLimits(max_gmac=gmac * 2)).shape == (24, 32, 3)
    with pytest.raises(DecodeLimitError, match="MiB"):
        api.decode(data, DecodeLimits(max_mib=api.inspect(data)["decode_peak_mib"] / 2))


def test_limits_come_from_flags_then_environment_then_defaults(monkeypatch):
    monkeypatch.delenv(GMAC_ENV, raising=False)
    assert DecodeLimits.resolve().max_gmac == DEFAULT_MAX_GMAC
    monkeypatch.setenv(GMAC_ENV, "12.5")
    assert DecodeLimits.resolve().max_gmac == 12.5
    assert DecodeLimits.resolve(max_gmac=3).max_gmac == 3
    monkeypatch.setenv(GMAC_ENV, "lots")
    with pytest.raises(InvalidInputError, match=GMAC_ENV):
        DecodeLimits.resolve()
    with pytest.raises(InvalidInputError, match="positive"):
        DecodeLimits.resolve(max_gmac=0, max_mib=None)


def test_environment_limit_refuses_in_the_cli(tmp_path, monkeypatch):
    stream = tmp_path / "s.qic"
    stream.write_bytes(api.encode(gradient_image(24, 32, 3), "coin", FAST).data)
    monkeypatch.setenv(GMAC_ENV, "1e-9")
    result = runner.invoke(app, ["decode", str(stream), str(tmp_path / "o.png")])
    assert result.exit_code == 1 and GMAC_ENV in result.output
    assert runner.invoke(app, ["decode", str(stream), str(tmp_path / "o.png"), "--max-decode-gmac", "1"]).exit_code == 0


def test_encoder_refuses_before_fitting_a_stream_decoders_would_refuse(tmp_path):
    image = gradient_image(64, 64, 3)
    start = time.perf_counter()
    with pytest.raises(DecodeLimitError, match="--max-decode-gmac"):
        api.encode(image, "coin", {"preset": "xlarge", "steps": 100000}, limits=DecodeLimits(max_gmac=0.01))
    assert time.perf_counter() - start < 1.0  # refused before the 100,000 steps
    source, out = tmp_path / "in.png", tmp_path / "out.qic"
    PILImage.fromarray(image.pixels).save(source)
    result = runner.invoke(app, ["encode", str(source), str(out), "--model", "grid", "--steps", "5", "--max-decode-gmac", "1e-6"])
    assert result.exit_code == 1 and "--max-decode-gmac" in result.output and not out.exists()


def test_stream_cost_predicts_the_written_stream_cost():
    image = gradient_image(20, 28, 3)
    for model, options in [("coin", FAST), ("quinr", {"steps": 3, "qat_steps": 1}), ("grid", {"steps": 3}), ("ae", {})]:
        codec = get_codec(model)
        data = api.encode(image, model, options).data
        assert codec.stream_cost(image, options) == codec.decode_cost(unpack(data)), model


@pytest.mark.parametrize(
    ("model", "arch"),
    [
        ("coin", {"layers": 3, "width": 10}),
        ("quinr", {"qubits": 4, "layers": 2, "embed": 9}),
        ("quinr", {"qubits": 3, "layers": 1, "embed": 5, "fixed_readout": 1}),
    ],
)
def test_network_cost_counts_the_parameters_of_the_built_network(model, arch):
    codec = get_codec(model)
    assert codec.network_cost(arch, 3).parameters == sum(p.numel() for p in codec.build_model(arch, 3).parameters())


def test_grid_cost_counts_the_built_model():
    arch = GridArch(levels=4, hidden=8, context_hidden=6, context_layers=3, quantum_qubits=2)
    model = arch.build(30, 44, 3)
    assert arch.num_latents(30, 44, 3) == sum(p.numel() for p in model.latents)
    assert arch.decoder_parameters(3) == sum(p.numel() for p in model.decoder_parameters().values())


def test_cost_grows_with_pixels_and_network():
    coin = get_codec("coin")
    small = coin.arch_cost({"layers": 3, "width": 8}, 100, 100, 3)
    assert coin.arch_cost({"layers": 3, "width": 8}, 200, 100, 3).macs == 2 * small.macs
    assert coin.arch_cost({"layers": 6, "width": 16}, 100, 100, 3).macs > small.macs
    assert DecodeCost.worst([DecodeCost(1, 5), DecodeCost(3, 2)]) == DecodeCost(3, 5)


def test_a_network_of_constant_tensors_is_refused_as_implausible():
    data = inr_bomb("coin", {"layers": 4, "width": 200}, 16, 16)  # cheap to decode: under every limit
    with pytest.raises(BitstreamError, match="implausible"):
        api.decode(data)
    tiny = inr_bomb("coin", {"layers": 1, "width": 4}, 8, 8)  # 27 constant values: allowed
    assert api.decode(tiny).shape == (8, 8, 3)


def test_pillow_bomb_warning_becomes_part_of_the_one_line_error(tmp_path):
    source = tmp_path / "huge.png"
    PILImage.new("1", (10000, 7000)).save(source)  # 70 Mi pixels, over qcodec's 64 Mi: Pillow warns
    done = subprocess.run([sys.executable, "-m", "qcodec", "encode", str(source), str(tmp_path / "o.qic")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: {source} is too large: qcodec accepts at most 67108864 pixels (Pillow: Image size (70000000 pixels) "
        "exceeds limit of 67108864 pixels, could be decompression bomb DOS attack.)"
    ]



def test_tiled_render_passes_are_counted_by_whole_rows_of_tiles():
    # 38 x 38 one-pixel tiles of a big circuit: a render pass holds at least one pixel of every
    # tile, far more than the circuit's chunk; the estimate must see that and refuse it
    data = inr_bomb("quinr", {"variant": 1, "qubits": 12, "layers": 1, "embed": 1024, "rows": 38, "cols": 38}, 38, 38)
    facts = api.inspect(data)
    assert facts["decode_peak_mib"] > 8192
    with pytest.raises(DecodeLimitError, match="MiB"):
        api.decode(data)


def test_bpp_never_asks_for_more_tiles_than_a_stream_may_hold():
    image = gradient_image(2160, 3840, 3)
    arch = get_codec("quinr").settings({"bpp": 2.0}, image).arch
    assert arch["rows"] * arch["cols"] <= 4096
