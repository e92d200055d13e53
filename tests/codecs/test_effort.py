"""--effort: one knob that trades fitting time for quality in every fitting codec."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from conftest import SAMPLES, gradient_image
from qcodec.bench.codecs import SweepConfig
from qcodec.bench.models import QcodecModel
from qcodec.cli.app import app
from qcodec.codecs import get_codec

runner = CliRunner()


@pytest.mark.parametrize(("model", "options", "steps"), [
    ("grid", {}, 400), ("grid", {"effort": 1}, 100), ("grid", {"effort": 5}, 2500), ("grid", {"steps": 7}, 7),
    ("coin", {"effort": 2}, 1000), ("coin", {"effort": 4}, 5000),
    ("quinr", {"effort": 1}, 375), ("quinr", {"variant": "paper", "effort": 5}, 1875),
])
def test_effort_scales_each_model_default_steps(model, options, steps):
    settings = get_codec(model).settings(options, gradient_image(64, 96, 3))
    assert (settings[1] if model == "grid" else settings.fit).steps == steps


def test_bench_passes_effort_instead_of_steps(tmp_path):
    (point,) = QcodecModel("grid").rate_points(SweepConfig(targets=(0.3,), steps=0, effort=1))
    assert dict(point.options) == {"bpp": 0.3, "effort": 1}
    both = runner.invoke(app, ["bench", str(SAMPLES), "--codecs", "grid", "--effort", "2", "--steps", "9", "--out", str(tmp_path)])
    assert both.exit_code == 1 and "either --effort or --steps" in both.output


def test_encode_effort_sets_the_steps_it_reports(tmp_path):
    result = runner.invoke(app, ["encode", str(SAMPLES / "caps_odd.png"), str(tmp_path / "c.qic"), "--model", "coin",
                                 "--preset", "tiny", "--effort", "1", "--json"])
    assert result.exit_code == 0, result.output
    assert '"steps": 500' in result.output


def test_effort_help_states_the_steps_each_level_fits():
    grid = get_codec("grid")
    image = gradient_image(64, 96, 3)
    steps = [grid.settings({"effort": level}, image)[1].steps for level in (1, 2, 3, 4, 5)]
    assert grid.options["effort"].endswith(f"{steps[0]}, {steps[1]}, {steps[2]}, {steps[3]:,} or {steps[4]:,} fitting steps")
    assert "0.25, 0.5, 1, 2.5 or 6.25" in get_codec("coin").options["effort"]
