"""Comparison sheets (``qcodec compare``, ``qcodec bench --gallery``) and the same-size line of ``qcodec encode``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image as PILImage
from typer.testing import CliRunner

from conftest import SAMPLES, gradient_image
from qcodec.bench.codecs import CLASSICAL
from qcodec.bench.context import classical_at_size
from qcodec.bench.sheet import SheetEntry, choose_crop, parse_crop, render_sheet
from qcodec.cli.app import app
from qcodec.data.image_io import Image, decode_image_bytes
from qcodec.errors import InvalidInputError

runner = CliRunner()


def textured(height: int, width: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    base = gradient_image(height, width, 3).pixels.astype(int)
    return np.clip(base + rng.integers(-40, 40, (height, width, 3)), 0, 255).astype(np.uint8)


def test_crop_goes_where_the_codecs_differ_most():
    original = np.full((60, 80, 3), 128, np.uint8)
    good = original.copy()
    bad = original.copy()
    bad[30:50, 50:70] = 0  # one codec fails in this block only
    x, y, w, h = choose_crop(original, [good, bad], size=(20, 20))
    assert (w, h) == (20, 20) and 30 <= x + w and x <= 70 and 30 <= y + h and y <= 50
    assert abs(x - 50) <= 2 and abs(y - 30) <= 2
    assert choose_crop(original, [good, bad], size=(200, 200)) == (0, 0, 80, 60)  # smaller images whole


def test_crop_parsing():
    assert parse_crop("10,20,30,40") == (10, 20, 30, 40)
    for bad in ("1,2,3", "a,b,c,d", "-1,0,5,5", "0,0,0,5"):
        with pytest.raises(InvalidInputError):
            parse_crop(bad)


def test_sheet_is_a_png_with_every_panel_and_a_missed_rate_is_flagged():
    original = textured(48, 64)
    entries = [SheetEntry("jpeg", original, 0.45, 30.0, 0.3), SheetEntry("webp", original, 0.31, 32.0, 0.3)]
    assert entries[0].missed and not entries[1].missed and "nearest" in entries[0].label()
    png = render_sheet(original, entries, (0, 0, 32, 24), errors=True)
    with PILImage.open(__import__("io").BytesIO(png)) as sheet:
        assert sheet.format == "PNG" and sheet.width > 3 * sheet.height / 2
    with pytest.raises(InvalidInputError, match="outside"):
        render_sheet(original, entries, (50, 0, 32, 24))


def test_compare_command_writes_the_sheet_and_reports_each_codec(tmp_path):
    source, sheet = tmp_path / "img.png", tmp_path / "sheet.png"
    PILImage.fromarray(textured(64, 96)).save(source)
    args = ["compare", str(source), "--bpp", "1.0", "--codecs", "jpeg,webp,ae", "--out", str(sheet), "--cache-dir", str(tmp_path / "c"), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["codec"] for r in rows] == ["jpeg", "webp", "ae"] and all(r["bpp"] > 0 for r in rows)
    assert sheet.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = runner.invoke(app, [*args, "--crop", "0,0,40,30", "--errors"])  # from the cache, a given crop
    assert again.exit_code == 0 and json.loads(again.stdout) == rows
    bad = runner.invoke(app, ["compare", str(source), "--bpp", "0", "--out", str(tmp_path / "x.png")])
    assert bad.exit_code == 1 and "--bpp" in bad.output and not (tmp_path / "x.png").exists()


def test_bench_gallery_writes_one_sheet_per_image(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for name in ("a", "b"):
        PILImage.fromarray(textured(40, 56)).save(folder / f"{name}.png")
    out = tmp_path / "out"
    args = ["bench", str(folder), "--codecs", "jpeg,webp", "--bpp", "1.5", "--gallery", "--out", str(out), "--cache-dir", str(tmp_path / "c"), "--quiet"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (out / "gallery").iterdir()) == ["a.png", "b.png"]
    refused = runner.invoke(app, [*args, "--no-cache"])
    assert refused.exit_code == 1 and "--no-cache" in refused.output


def test_classical_at_size_never_exceeds_the_size_when_it_can_fit():
    image = Image(textured(64, 96))
    for budget in (900, 3000):
        rows = classical_at_size(image, budget)
        assert [r.codec for r in rows] == ["jpeg", "webp"]
        for row in rows:
            assert row.fits == (row.bytes <= budget)
            codec = CLASSICAL[row.codec]()
            if row.fits and row.quality < 100:  # one quality up would not fit
                assert len(codec.encode(image.pixels, row.quality + 1)) > budget
    tiny = classical_at_size(image, 10)
    assert all(not r.fits and r.quality == CLASSICAL[r.codec]().quality_range[0] for r in tiny)


def test_encode_reports_jpeg_and_webp_at_the_same_size(tmp_path):
    stream = tmp_path / "p.qic"
    result = runner.invoke(app, ["encode", str(SAMPLES / "parrots.png"), str(stream), "--model", "ae", "--json"])
    report = json.loads(result.stdout)
    assert [row["codec"] for row in report["same_size"]] == ["jpeg", "webp"]
    assert all(row["bytes"] <= report["bytes"] or not row["fits"] for row in report["same_size"])
    text = runner.invoke(app, ["encode", str(SAMPLES / "parrots.png"), str(stream), "--model", "ae"])
    assert "same size: JPEG" in text.output and "WebP" in text.output
    quiet = runner.invoke(app, ["encode", str(SAMPLES / "parrots.png"), str(stream), "--model", "ae", "--quiet"])
    assert quiet.output == ""


def test_error_messages_keep_square_brackets(tmp_path):
    missing = tmp_path / "photo[1].png"
    result = runner.invoke(app, ["encode", str(missing), str(tmp_path / "o.qic")])
    assert result.exit_code == 1 and "photo[1].png" in result.output
    assert decode_image_bytes((SAMPLES / "caps_odd.png").read_bytes()).pixels.shape == (29, 37, 3)


def test_same_size_leaves_out_a_codec_that_cannot_hold_the_image():
    wide = Image(np.full((1, 16400, 3), 128, np.uint8))  # wider than WebP allows
    assert [row.codec for row in classical_at_size(wide, 5000)] == ["jpeg"]


def test_compare_takes_one_file_and_bench_rejects_bad_tiled_names(tmp_path):
    result = runner.invoke(app, ["compare", str(tmp_path), "--out", str(tmp_path / "s.png")])
    assert result.exit_code == 1 and "one image file" in result.output
    bench = runner.invoke(app, ["bench", str(SAMPLES), "--codecs", "coin:2y3", "--no-cache", "--out", str(tmp_path)])
    assert bench.exit_code == 1 and "--tiles" in bench.output
    both = runner.invoke(app, ["bench", str(SAMPLES), "--codecs", "jpeg", "--ray", "--jobs", "2", "--no-cache", "--out", str(tmp_path)])
    assert both.exit_code == 1 and "--task-cpus" in both.output
