"""The command line, in-process (CliRunner) and as real processes (pipes, exit codes)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from conftest import SAMPLES
from qcodec.cli.app import app
from qcodec.coding.bitstream import FORMAT_VERSION
from qcodec.data.image_io import decode_image_bytes
from qcodec.metrics import psnr

runner = CliRunner()
FAST_FLAGS = ["--preset", "tiny", "--steps", "60", "--qat-steps", "10"]


def qcodec(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qcodec", *args], input=stdin, capture_output=True, timeout=300)


def test_encode_json_report_and_separate_process_decode(tmp_path):
    stream, out = tmp_path / "p.qic", tmp_path / "p.png"
    result = runner.invoke(app, ["encode", str(SAMPLES / "parrots.png"), str(stream), *FAST_FLAGS, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["bytes"] == stream.stat().st_size
    assert report["bpp"] == pytest.approx(8 * report["bytes"] / (128 * 96))
    decoded = qcodec("decode", str(stream), str(out))
    assert decoded.returncode == 0, decoded.stderr
    original = decode_image_bytes((SAMPLES / "parrots.png").read_bytes()).pixels
    reconstructed = decode_image_bytes(out.read_bytes()).pixels
    assert abs(psnr(original, reconstructed) - report["psnr"]) < 0.01


def test_info_reports_model_and_sections(tmp_path):
    stream = tmp_path / "g.qic"
    assert runner.invoke(app, ["encode", str(SAMPLES / "lighthouse_gray.png"), str(stream), *FAST_FLAGS]).exit_code == 0
    result = runner.invoke(app, ["info", str(stream), "--json"])
    facts = json.loads(result.stdout)
    assert facts["model"] == "coin" and facts["channels"] == 1 and facts["format_version"] == FORMAT_VERSION
    assert facts["architecture"] == {"layers": 5, "width": 20}
    assert sum(facts["sections"].values()) == facts["bytes"] == stream.stat().st_size


def test_shell_pipeline_through_stdin_and_stdout(tmp_path):
    png = (SAMPLES / "caps_odd.png").read_bytes()
    encoded = qcodec("encode", "-", "-", *FAST_FLAGS, stdin=png)
    assert encoded.returncode == 0, encoded.stderr
    assert encoded.stdout[:3] == b"QIC"
    decoded = qcodec("decode", "-", "-", stdin=encoded.stdout)
    assert decoded.returncode == 0, decoded.stderr
    pixels = decode_image_bytes(decoded.stdout).pixels
    assert pixels.shape == (29, 37, 3)


@pytest.mark.parametrize(
    "args, message",
    [
        (["encode", "missing.png", "o.qic"], "no such file"),
        (["encode", "{bad}", "o.qic"], "not an image"),
        (["encode", "{empty}", "o.qic"], "empty"),
        (["encode", "{img}", "o.qic", "--model", "jpeg9"], "unknown model"),
        (["encode", "{img}", "o.qic", "--steps", "-5"], "--steps"),
        (["encode", "{img}", "o.qic", "--bpp", "0"], "--bpp"),
        (["decode", "{img}", "o.png"], "not a qcodec stream"),
        (["decode", "{empty}", "o.png"], "stream"),
        (["info", "{bad}"], "not a qcodec stream"),
    ],
)
def test_bad_input_is_one_line_error_without_output(tmp_path, args, message):
    (tmp_path / "bad.txt").write_text("not an image at all")
    (tmp_path / "empty.png").write_bytes(b"")
    paths = {"bad": tmp_path / "bad.txt", "empty": tmp_path / "empty.png", "img": SAMPLES / "caps_odd.png"}
    argv = [a.format(**paths) if "{" in a else (str(tmp_path / a) if a.startswith("o.") else a) for a in args]
    outcome = runner.invoke(app, argv)
    stderr = outcome.stderr
    assert outcome.exit_code == 1
    assert message in stderr and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o.qic").exists() and not (tmp_path / "o.png").exists()


def test_errors_from_a_real_process_have_exit_code_and_one_line(tmp_path):
    process = qcodec("decode", str(SAMPLES / "parrots.png"), str(tmp_path / "x.png"))
    assert process.returncode == 1
    assert process.stderr.decode().strip() == "error: not a qcodec stream (bad magic; expected a .qic file)"
    assert not (tmp_path / "x.png").exists()


def test_failed_decode_leaves_existing_output_untouched(tmp_path, small_stream):
    _, result = small_stream
    target = tmp_path / "keep.png"
    target.write_bytes(b"precious")
    (tmp_path / "bad.qic").write_bytes(result.data[:-3])
    outcome = runner.invoke(app, ["decode", str(tmp_path / "bad.qic"), str(target)])
    assert outcome.exit_code == 1
    assert target.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.qic", "keep.png"]


def test_help_teaches():
    result = runner.invoke(app, ["encode", "--help"])
    assert result.exit_code == 0
    for flag in ("--preset", "--bpp", "--layers", "--bits", "--seed", "--json"):
        assert flag in result.stdout


def _commands(command, path=()):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_option_help_survives_rich_markup():
    """Rich reads ``[...]`` in help text as markup and drops it: every option's help must print whole."""
    from rich.text import Text
    from typer.main import get_command

    lost = [
        (" ".join(path), param.name)
        for path, command in _commands(get_command(app))
        for param in command.params
        if getattr(param, "help", None) and Text.from_markup(param.help).plain != param.help.replace("\\[", "[")  # an escaped \[ prints as [
    ]
    assert lost == []
