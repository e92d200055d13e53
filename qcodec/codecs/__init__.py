"""Codecs: one per ``--model`` name, each turning an image into a ``.qic`` stream and back.

Importing this package registers the built-in codecs.
"""

from qcodec.codecs.ae.codec import AutoencoderCodec
from qcodec.codecs.base import Codec, EncodeResult
from qcodec.codecs.grid.codec import GridCodec
from qcodec.codecs.inr.coin import CoinCodec
from qcodec.codecs.inr.quinr import QuinrCodec
from qcodec.codecs.registry import codec_for_id, codec_names, get_codec, register

register(CoinCodec())
register(QuinrCodec())
register(AutoencoderCodec())
register(GridCodec())

__all__ = ["Codec", "EncodeResult", "codec_for_id", "codec_names", "get_codec", "register"]
