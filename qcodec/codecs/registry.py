"""Codecs by name (``--model``) and by id (the stream header's codec byte)."""

from __future__ import annotations

from qcodec.codecs.base import Codec
from qcodec.errors import BitstreamError, UnknownModelError

_BY_NAME: dict[str, Codec] = {}


def register(codec: Codec) -> Codec:
    """Add ``codec`` to the registry (names and ids must be unique)."""
    if codec.name in _BY_NAME or any(c.codec_id == codec.codec_id for c in _BY_NAME.values()):
        raise ValueError(f"codec {codec.name!r} (id {codec.codec_id}) is already registered")
    _BY_NAME[codec.name] = codec
    return codec


def codec_names() -> list[str]:
    """Names of the registered codecs, in registration order."""
    return list(_BY_NAME)


def get_codec(name: str) -> Codec:
    """The codec called ``name``; :class:`UnknownModelError` lists the valid names."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnknownModelError(f"unknown model {name!r} (choose from: {', '.join(_BY_NAME)})") from None


def codec_for_id(codec_id: int) -> Codec:
    """The codec whose streams carry ``codec_id``; a stream from an unknown codec is a :class:`BitstreamError`."""
    for codec in _BY_NAME.values():
        if codec.codec_id == codec_id:
            return codec
    raise BitstreamError(f"stream was written by an unknown codec (id {codec_id})")
