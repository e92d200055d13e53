"""The ``.qic`` container: header, tagged sections, CRC-32 (normative spec: ``docs/bitstream.md``).

Layout (all integers big-endian)::

    offset  size  field
    0       3     magic  b"QIC"
    3       1     format version (FORMAT_VERSION)
    4       4     total stream length in bytes, CRC included
    8       1     codec id (see qcodec.codecs.registry)
    9       2     image width  (1..65535)
    11      2     image height (1..65535)
    13      1     channels (1 = grayscale, 3 = RGB)
    14      1     bits per sample (8)
    15      ...   sections: tag (u8), payload length (varint), payload
    n-4     4     CRC-32 (zlib polynomial) of bytes 0 .. n-5

Checks on parse, in this order, each with its own error: magic, version, length
(truncation or trailing bytes), CRC, then the fields themselves.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from qcodec.errors import (
    BadMagicError,
    BitstreamError,
    ChecksumError,
    TruncatedStreamError,
    UnsupportedVersionError,
)

MAGIC = b"QIC"
FORMAT_VERSION = 2
HEADER_SIZE = 15
CRC_SIZE = 4


def bfloat16(value: float, *, up: bool = False) -> float:
    """``value`` rounded to bfloat16 (a float32 whose low 16 bits are zero: 8 significant bits).

    The nearest one (ties to even), or with ``up`` the smallest one at least ``value`` (for
    ``value > 0``). This is what :meth:`ByteWriter.bf16` stores in two bytes.

    >>> bfloat16(0.7), bfloat16(0.7, up=True)
    (0.69921875, 0.703125)
    """
    bits = struct.unpack(">I", struct.pack(">f", value))[0]
    if up:
        bits &= 0xFFFF0000
        if struct.unpack(">f", struct.pack(">I", bits))[0] < value:
            bits += 0x10000
    else:
        bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return struct.unpack(">f", struct.pack(">I", bits))[0]

SECTION_NAMES = {1: "model", 2: "tensors", 3: "payload", 4: "latents"}
"""Section tags defined by the format (``docs/bitstream.md``)."""


class ByteWriter:
    """Appends fixed-width and variable-length fields to a byte buffer."""

    def __init__(self) -> None:
        self._parts = bytearray()

    def u8(self, value: int) -> None:
        self._parts += struct.pack(">B", value)

    def u16(self, value: int) -> None:
        self._parts += struct.pack(">H", value)

    def u32(self, value: int) -> None:
        self._parts += struct.pack(">I", value)

    def f32(self, value: float) -> None:
        self._parts += struct.pack(">f", value)

    def bf16(self, value: float) -> None:
        """The high two bytes of ``value`` as float32; ``value`` must be a :func:`bfloat16` value."""
        packed = struct.pack(">f", value)
        if packed[2:] != b"\0\0":
            raise ValueError(f"{value!r} is not a bfloat16 value")
        self._parts += packed[:2]

    def varint(self, value: int) -> None:
        """Unsigned LEB128."""
        if value < 0:
            raise ValueError("varint must be non-negative")
        while True:
            byte = value & 0x7F
            value >>= 7
            if value:
                self._parts.append(byte | 0x80)
            else:
                self._parts.append(byte)
                return

    def svarint(self, value: int) -> None:
        """Signed integer, zigzag-mapped then LEB128."""
        self.varint(2 * value if value >= 0 else -2 * value - 1)

    def raw(self, data: bytes) -> None:
        self._parts += data

    def getvalue(self) -> bytes:
        return bytes(self._parts)


class ByteReader:
    """Reads the fields written by :class:`ByteWriter`; running out raises :class:`TruncatedStreamError`."""

    def __init__(self, data: bytes, what: str = "stream") -> None:
        self._data = data
        self._pos = 0
        self._what = what

    def _take(self, size: int) -> bytes:
        if self._pos + size > len(self._data):
            raise TruncatedStreamError(f"{self._what} ends early (needs {size} more bytes at offset {self._pos})")
        chunk = self._data[self._pos : self._pos + size]
        self._pos += size
        return chunk

    def u8(self) -> int:
        return struct.unpack(">B", self._take(1))[0]

    def u16(self) -> int:
        return struct.unpack(">H", self._take(2))[0]

    def u32(self) -> int:
        return struct.unpack(">I", self._take(4))[0]

    def f32(self) -> float:
        return struct.unpack(">f", self._take(4))[0]

    def bf16(self) -> float:
        """A value written by :meth:`ByteWriter.bf16` (two bytes, widened to float32)."""
        return struct.unpack(">f", self._take(2) + b"\0\0")[0]

    def varint(self) -> int:
        value = shift = 0
        while True:
            byte = self.u8()
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
            if shift > 63:
                raise BitstreamError(f"{self._what}: varint too long")

    def svarint(self) -> int:
        raw = self.varint()
        return raw >> 1 if raw % 2 == 0 else -((raw + 1) >> 1)

    def raw(self, size: int) -> bytes:
        return self._take(size)

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def expect_end(self) -> None:
        if self.remaining:
            raise BitstreamError(f"{self._what} has {self.remaining} unexpected trailing bytes")


@dataclass
class Container:
    """A parsed ``.qic`` stream.

    Attributes:
        codec_id: which codec wrote the stream.
        width, height, channels, bit_depth: the image header.
        sections: payloads by tag, in stream order.
        version: the format version the stream was written with.
    """

    codec_id: int
    width: int
    height: int
    channels: int
    bit_depth: int = 8
    sections: dict[int, bytes] = field(default_factory=dict)
    version: int = FORMAT_VERSION

    def section(self, tag: int) -> bytes:
        """Payload of section ``tag``; a missing section is a :class:`BitstreamError`."""
        if tag not in self.sections:
            name = SECTION_NAMES.get(tag, str(tag))
            raise BitstreamError(f"stream has no {name} section")
        return self.sections[tag]

    def section_sizes(self) -> dict[str, int]:
        """Bytes taken by each part of the stream, as ``qcodec info`` reports them (sums to the file size)."""
        sizes = {"header": HEADER_SIZE}
        for tag, payload in self.sections.items():
            body = ByteWriter()
            body.varint(len(payload))
            sizes[SECTION_NAMES.get(tag, f"section{tag}")] = 1 + len(body.getvalue()) + len(payload)
        sizes["crc"] = CRC_SIZE
        return sizes


def pack(container: Container) -> bytes:
    """Serialize a :class:`Container` to ``.qic`` bytes (length and CRC-32 filled in)."""
    body = ByteWriter()
    body.u8(container.codec_id)
    body.u16(container.width)
    body.u16(container.height)
    body.u8(container.channels)
    body.u8(container.bit_depth)
    for tag, payload in container.sections.items():
        body.u8(tag)
        body.varint(len(payload))
        body.raw(payload)
    content = body.getvalue()
    total = len(MAGIC) + 1 + 4 + len(content) + CRC_SIZE
    head = MAGIC + struct.pack(">BI", FORMAT_VERSION, total)
    data = head + content
    return data + struct.pack(">I", zlib.crc32(data))


def unpack(data: bytes) -> Container:
    """Parse and validate ``.qic`` bytes.

    Raises:
        BadMagicError, UnsupportedVersionError, TruncatedStreamError, ChecksumError,
        BitstreamError: in the order of the checks described in the module docstring.
    """
    if len(data) < len(MAGIC) or data[: len(MAGIC)] != MAGIC:
        if len(data) < len(MAGIC) and MAGIC.startswith(data):
            raise TruncatedStreamError(f"stream is only {len(data)} bytes long")
        raise BadMagicError("not a qcodec stream (bad magic; expected a .qic file)")
    if len(data) < 4:
        raise TruncatedStreamError("stream ends before its format version")
    version = data[3]
    if version != FORMAT_VERSION:
        raise UnsupportedVersionError(
            f"unsupported .qic format version {version} (this qcodec reads version {FORMAT_VERSION})"
        )
    if len(data) < 8:
        raise TruncatedStreamError("stream ends before its length field")
    declared = struct.unpack(">I", data[4:8])[0]
    if declared > len(data):
        raise TruncatedStreamError(f"stream is truncated ({len(data)} of {declared} bytes)")
    if declared < len(data):
        raise BitstreamError(
            f"stream length field says {declared} bytes but there are {len(data)} (corrupted or trailing data)"
        )
    if declared < HEADER_SIZE + CRC_SIZE:
        raise TruncatedStreamError(f"stream is too short ({declared} bytes) to hold a header")
    stored_crc = struct.unpack(">I", data[-CRC_SIZE:])[0]
    if zlib.crc32(data[:-CRC_SIZE]) != stored_crc:
        raise ChecksumError("stream is corrupted (CRC-32 mismatch)")
    reader = ByteReader(data[8:-CRC_SIZE], "stream header")
    container = Container(
        codec_id=reader.u8(),
        width=reader.u16(),
        height=reader.u16(),
        channels=reader.u8(),
        bit_depth=reader.u8(),
        version=version,
    )
    if container.width < 1 or container.height < 1 or container.channels not in (1, 3) or container.bit_depth != 8:
        raise BitstreamError(
            f"invalid image header ({container.width}x{container.height}, "
            f"{container.channels} channels, {container.bit_depth} bits)"
        )
    while reader.remaining:
        tag = reader.u8()
        size = reader.varint()
        if tag in container.sections:
            raise BitstreamError(f"stream repeats section {SECTION_NAMES.get(tag, tag)}")
        container.sections[tag] = reader.raw(size)
    return container
