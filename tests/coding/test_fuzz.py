"""Deterministic fuzzing of the decoder: every mutated stream ends in a typed error or an image.

For each codec, its golden stream (``tests/expected/<codec>_caps_odd.qic``) is mutated many
ways: byte changes, insertions, deletions, truncations, section reorderings, drops and
duplicates, section lengths, header fields and the first bytes of every section set to
extremes. The length field and the
CRC are recomputed, so the parser and the codecs' own readers are reached instead of the
checksum test. Each case must end, within :data:`CASE_SECONDS`, in a
:class:`~qcodec.errors.QcodecError` or a decoded ``uint8`` image; any other exception, a hang
or a partial output file fails the test. ``docs/bitstream.md`` reports the case count and time.
"""

from __future__ import annotations

import itertools
import signal
import struct
import time
import zlib
from collections import Counter
from collections.abc import Iterator

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import ROOT
from qcodec import api
from qcodec.cli.app import app
from qcodec.codecs.budget import DecodeLimits
from qcodec.coding.bitstream import HEADER_SIZE, ByteWriter, unpack
from qcodec.errors import QcodecError

EXPECTED = ROOT / "tests" / "expected"
CODECS = ("coin", "quinr", "quinr-tiled", "ae", "grid")
LIMITS = DecodeLimits(max_gmac=2.0, max_mib=1024.0)
"""Tight limits keep every admitted case short; the mutations, not the budget, are under test."""
CASE_SECONDS = 5.0
RANDOM_CASES = {"change": 250, "insert": 60, "delete": 60, "truncate": 40, "overwrite": 20}


def reseal(data: bytes) -> bytes:
    """``data`` with its length field and CRC-32 recomputed (a stream at least 8 bytes long)."""
    body = data[:4] + struct.pack(">I", len(data) + 4) + data[8:]
    return body + struct.pack(">I", zlib.crc32(body))


def assemble(header: bytes, sections: list[tuple[int, bytes]]) -> bytes:
    """A resealed stream from the first 15 header bytes and ``(tag, payload)`` sections in order."""
    writer = ByteWriter()
    for tag, payload in sections:
        writer.u8(tag)
        writer.varint(len(payload))
        writer.raw(payload)
    return reseal(header + writer.getvalue())


def mutations(data: bytes, seed: int) -> Iterator[tuple[str, bytes]]:
    """``(description, stream)`` cases derived from the valid stream ``data``."""
    rng = np.random.default_rng(seed)
    content = data[:-4]  # without the CRC; reseal adds it back
    header = content[:HEADER_SIZE]
    sections = list(unpack(data).sections.items())
    for _ in range(RANDOM_CASES["change"]):
        at, value = int(rng.integers(8, len(content))), int(rng.integers(0, 256))
        yield f"byte {at} = {value}", reseal(content[:at] + bytes([value]) + content[at + 1 :])
    for _ in range(RANDOM_CASES["insert"]):
        at, size = int(rng.integers(8, len(content) + 1)), int(rng.integers(1, 9))
        yield f"insert {size} at {at}", reseal(content[:at] + rng.bytes(size) + content[at:])
    for _ in range(RANDOM_CASES["delete"]):
        at, size = int(rng.integers(8, len(content))), int(rng.integers(1, 9))
        yield f"delete {size} at {at}", reseal(content[:at] + content[at + size :])
    for _ in range(RANDOM_CASES["truncate"]):
        at = int(rng.integers(8, len(content)))
        yield f"truncate at {at}", reseal(content[:at])
    for _ in range(RANDOM_CASES["overwrite"]):
        at = int(rng.integers(HEADER_SIZE, len(content)))
        yield f"0xff from {at}", reseal(content[:at] + b"\xff" * (len(content) - at))
    for order in itertools.permutations(sections):
        yield f"sections {[t for t, _ in order]}", assemble(header, list(order))
    for index in range(len(sections)):
        yield f"drop section {sections[index][0]}", assemble(header, sections[:index] + sections[index + 1 :])
        yield f"duplicate section {sections[index][0]}", assemble(header, sections + [sections[index]])
        yield f"empty section {sections[index][0]}", assemble(header, [(t, b"" if i == index else p) for i, (t, p) in enumerate(sections)])
    yield "unknown section tag", assemble(header, sections + [(200, b"x")])
    for index, (tag, payload) in enumerate(sections):  # the model section and the head of the others, field by field
        for at in range(min(len(payload), 24)):
            for value in (0, 1, 127, 255):
                changed = payload[:at] + bytes([value]) + payload[at + 1 :]
                yield f"section {tag} byte {at} = {value}", assemble(header, sections[:index] + [(tag, changed)] + sections[index + 1 :])
    for offset, size, values in [
        (8, 1, (0, 5, 255)),  # codec id
        (9, 2, (0, 1, 65535)),  # width
        (11, 2, (0, 1, 65535)),  # height
        (13, 1, (0, 2, 4, 255)),  # channels
        (14, 1, (0, 7, 16, 255)),  # bits per sample
    ]:
        for value in values:
            field = value.to_bytes(size, "big")
            yield f"header[{offset}] = {value}", reseal(content[:offset] + field + content[offset + size :])
    for tag, payload in sections:  # a section length far past the end of the stream
        writer = ByteWriter()
        writer.u8(tag)
        writer.varint(2**40)
        yield f"section {tag} length 2^40", reseal(header + writer.getvalue() + payload)


class Hang(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise Hang


def decode_case(data: bytes) -> str:
    """``"image"`` or the error's class name; fails on anything else or past :data:`CASE_SECONDS`.

    :func:`qcodec.api.inspect` runs first on the same stream and must end the same two ways.
    """
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, CASE_SECONDS)
    try:
        try:
            assert isinstance(api.inspect(data), dict)  # `qcodec info` must cope with the same streams
        except QcodecError:
            pass
        pixels = api.decode(data, LIMITS)
    except QcodecError as exc:
        return type(exc).__name__
    except Hang:
        pytest.fail(f"no result within {CASE_SECONDS} s")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] in (1, 3)
    return "image"


@pytest.mark.parametrize("model", CODECS)
def test_every_mutation_ends_in_a_typed_error_or_an_image(model):
    data = (EXPECTED / f"{model}_caps_odd.qic").read_bytes()
    outcomes: Counter[str] = Counter()
    start = time.perf_counter()
    for index, (what, stream) in enumerate(mutations(data, seed=CODECS.index(model))):
        try:
            outcomes[decode_case(stream)] += 1
        except BaseException as exc:  # noqa: BLE001 - report which case broke, whatever it raised
            raise AssertionError(f"{model} case {index} ({what}): {type(exc).__name__}: {exc}") from exc
    seconds = time.perf_counter() - start
    print(f"{model}: {sum(outcomes.values())} cases in {seconds:.1f} s: {dict(outcomes)}")
    assert sum(outcomes.values()) >= sum(RANDOM_CASES.values())
    assert len(outcomes) >= 3  # several kinds of refusal: the mutations reach past the first check


def test_cli_leaves_no_partial_output_on_mutated_streams(tmp_path):
    runner = CliRunner()
    data = (EXPECTED / "grid_caps_odd.qic").read_bytes()
    cases = list(mutations(data, seed=7))[::6]
    codes = Counter()
    for index, (what, stream) in enumerate(cases):
        source, out = tmp_path / f"{index}.qic", tmp_path / f"{index}.png"
        source.write_bytes(stream)
        result = runner.invoke(app, ["decode", str(source), str(out), "--max-decode-gmac", "2"])
        codes[result.exit_code] += 1
        assert result.exit_code in (0, 1), what
        if result.exit_code:
            assert len(result.output.strip().splitlines()) == 1 and result.output.startswith("error:"), what
            assert not out.exists(), what
        else:
            assert out.stat().st_size > 0
    assert not [p for p in tmp_path.iterdir() if p.suffix not in (".qic", ".png")]  # no temporary files left
    assert codes[1] > 0
