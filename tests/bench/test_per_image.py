"""``--per-image-reference``: the gap to a published codec image by image at our own rate."""

from __future__ import annotations

import json
import math

import pytest

from conftest import ROOT, SHARED
from qcodec.bench.per_image import bd_rate_gaps, psnr_gaps, read_per_image_reference
from qcodec.bench.results import ImageResult
from qcodec.errors import InvalidInputError

TSV = "image\tlambda\tbpp\tpsnr_db\na\t1\t0.1\t30\na\t2\t0.4\t36\nb\t1\t0.2\t25\nb\t2\t0.8\t31\n"


def row(image: str, bpp: float, psnr: float, setting: str = "x") -> ImageResult:
    return ImageResult("mine", setting, image, 8, 8, 3, 1, bpp, psnr, None, 0.0, 0.0)


def test_gap_is_read_off_each_images_curve_in_log_rate(tmp_path):
    path = tmp_path / "ref.tsv"
    path.write_text(TSV)
    reference = read_per_image_reference(path)
    assert reference.name == "ref" and reference.psnr_at("a", 0.2) == pytest.approx(33.0)  # halfway in log-rate
    (gap,) = psnr_gaps([row("a", 0.2, 34.0), row("b", 0.4, 27.0), row("c", 0.2, 20.0)], reference)
    assert gap.images == {"a": pytest.approx(1.0), "b": pytest.approx(-1.0)} and gap.mean == pytest.approx(0.0)
    assert gap.outside == ["c"]  # no curve for c
    (outside,) = psnr_gaps([row("a", 0.05, 20.0)], reference)  # below the curve: never extrapolated
    assert outside.mean is None and outside.outside == ["a"]


def test_bd_rate_per_image_against_the_reference(tmp_path):
    path = tmp_path / "ref.tsv"
    path.write_text(TSV)
    reference = read_per_image_reference(path)
    doubled = [row("a", 0.2, 30.0, "1"), row("a", 0.8, 36.0, "2")]  # twice the rate at each PSNR
    (gap,) = bd_rate_gaps(doubled, reference)
    assert gap.setting == "BD" and gap.mean == pytest.approx(100.0)


@pytest.mark.parametrize("text", ["image\tbpp\na\t0.1\n", "image\tbpp\tpsnr_db\na\tx\t3\n", "image\tbpp\tpsnr_db\na\t-1\t30\n", "image\tbpp\tpsnr_db\n"])
def test_bad_reference_files_are_one_line_errors(tmp_path, text):
    path = tmp_path / "bad.tsv"
    path.write_text(text)
    with pytest.raises(InvalidInputError, match="--per-image-reference"):
        read_per_image_reference(path)


def test_the_cool_chic_file_reproduces_the_documented_gap():
    tsv = SHARED / "reference" / "kodak" / "coolchic-5.0-per-image.tsv"
    if not tsv.is_file():
        pytest.skip("per-image reference not found")
    document = json.loads((ROOT / "docs" / "results" / "grid-kodak-24-images" / "grid.json").read_text())
    rows = [ImageResult.from_json(r) for r in document["per_image"]]
    (gap,) = psnr_gaps(rows, read_per_image_reference(tsv))
    assert len(gap.images) == 24 and math.isclose(gap.mean, -2.77, abs_tol=0.01)  # docs/grid.md


def test_bench_reports_the_per_image_gap(tmp_path):
    import numpy as np
    from PIL import Image as PILImage
    from typer.testing import CliRunner

    from qcodec.cli.app import app

    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        PILImage.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(folder / f"{name}.png")
    tsv = tmp_path / "published.tsv"
    tsv.write_text("image\tbpp\tpsnr_db\na\t0.01\t10\na\t64\t60\nb\t0.01\t10\nb\t64\t60\n")
    out = tmp_path / "out"
    args = ["bench", str(folder), "--codecs", "jpeg", "--bpp", "2,4", "--per-image-reference", str(tsv), "--out", str(out), "--no-cache", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["per_image_reference"]
    assert report["name"] == "published" and {g["setting"] for g in report["gaps"]} == {"2 bpp", "4 bpp", "BD"}
    assert all(len(g["images"]) == 2 for g in report["gaps"])
    assert json.loads((out / "per-image-published.json").read_text()) == report
