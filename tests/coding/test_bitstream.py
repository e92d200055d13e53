"""The .qic container: fields, sections, and rejection of every damaged stream."""

from __future__ import annotations

import pytest

from qcodec import api
from qcodec.coding.bitstream import FORMAT_VERSION, ByteReader, ByteWriter, Container, pack, unpack
from qcodec.errors import (
    BadMagicError,
    BitstreamError,
    ChecksumError,
    TruncatedStreamError,
    UnsupportedVersionError,
)


def make_container() -> Container:
    return Container(codec_id=1, width=640, height=480, channels=3, sections={1: b"\x05\x00\x1c", 3: bytes(300)})


def test_pack_unpack_round_trip():
    container = make_container()
    parsed = unpack(pack(container))
    assert (parsed.codec_id, parsed.width, parsed.height, parsed.channels, parsed.bit_depth) == (1, 640, 480, 3, 8)
    assert parsed.sections == container.sections
    assert parsed.version == FORMAT_VERSION


def test_layout_matches_spec():
    data = pack(make_container())
    assert data[:3] == b"QIC"
    assert data[3] == FORMAT_VERSION
    assert int.from_bytes(data[4:8], "big") == len(data)
    assert data[8] == 1 and int.from_bytes(data[9:11], "big") == 640 and int.from_bytes(data[11:13], "big") == 480
    # section 3 has a 300-byte payload: varint length 300 = 0xAC 0x02
    assert b"\x03\xac\x02" in data


def test_section_sizes_add_up_to_file_size():
    data = pack(make_container())
    assert sum(unpack(data).section_sizes().values()) == len(data)


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**21, 2**40])
def test_varint_round_trip(value):
    writer = ByteWriter()
    writer.varint(value)
    writer.svarint(-value)
    writer.svarint(value)
    reader = ByteReader(writer.getvalue())
    assert (reader.varint(), reader.svarint(), reader.svarint()) == (value, -value, value)
    reader.expect_end()


def test_specific_errors():
    data = pack(make_container())
    with pytest.raises(BadMagicError):
        unpack(b"\x89PNG" + data[4:])
    with pytest.raises(UnsupportedVersionError, match="version 9"):
        unpack(data[:3] + bytes([9]) + data[4:])
    with pytest.raises(TruncatedStreamError):
        unpack(data[:-1])
    with pytest.raises(BitstreamError):
        unpack(data + b"\x00")
    corrupted = bytearray(data)
    corrupted[20] ^= 0x10
    with pytest.raises(ChecksumError):
        unpack(bytes(corrupted))
    with pytest.raises(TruncatedStreamError):
        unpack(b"")


def test_every_single_byte_corruption_is_rejected(small_stream):
    _, result = small_stream
    data = result.data
    assert len(data) < 200, "keep the sweep small"
    for position in range(len(data)):
        for flip in (0x01, 0x80, 0xFF):
            damaged = bytearray(data)
            damaged[position] ^= flip
            with pytest.raises(BitstreamError):
                api.decode(bytes(damaged))


def test_every_truncation_is_rejected(small_stream):
    _, result = small_stream
    for length in range(len(result.data)):
        with pytest.raises(BitstreamError):
            api.decode(result.data[:length])
