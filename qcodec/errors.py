"""Typed errors raised by library code; the CLI turns them into one-line messages.

Every error a user can cause (bad file, bad flag, corrupted stream) is a
:class:`QcodecError`, so the CLI can catch exactly these and never show a traceback
for them.
"""


class QcodecError(Exception):
    """Base class of every error qcodec raises on purpose."""


class InvalidInputError(QcodecError):
    """An input file or value cannot be used (missing, not an image, absurd size, bad flag)."""


class BitstreamError(QcodecError):
    """A ``.qic`` stream cannot be decoded."""


class BadMagicError(BitstreamError):
    """The data does not start with the ``QIC`` magic: not a qcodec stream."""


class UnsupportedVersionError(BitstreamError):
    """The stream's format version is not one this build can read."""


class ChecksumError(BitstreamError):
    """The CRC-32 stored in the stream does not match its contents."""


class TruncatedStreamError(BitstreamError):
    """The stream ends before a field it declares."""


class UnknownModelError(QcodecError):
    """A model or codec name (or id in a stream) that qcodec does not know."""


class DecodeLimitError(QcodecError):
    """Decoding a stream would cost more work or memory than the decoder's limits allow."""
