"""The Kodak Lossless True Color Image Suite: 24 RGB PNGs, 768x512 or 512x768.

The images are downloaded one by one from :data:`KODAK_URL` into ``<cache>/kodak/``
(see :func:`qcodec.data.download.cache_dir`; ``$QCODEC_CACHE_DIR`` overrides it), checked
against the SHA-256 digests in :data:`KODAK_SHA256` and reused on later runs. A local copy
(``data_dir``) is used instead when given; its files must have the same digests, so every
result is computed on bit-exact copies of the images CompressAI and COIN report on.

>>> [p.name for p in kodak_paths([2, 15], data_dir=Path("../shared/datasets/kodak"))]  # doctest: +SKIP
['kodim02.png', 'kodim15.png']
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from qcodec.data.download import fetch, verify
from qcodec.errors import InvalidInputError

KODAK_URL = "http://r0k.us/graphics/kodak/kodak/kodim{index:02d}.png"
"""Where image ``index`` (1-24) is downloaded from."""

KODAK_COUNT = 24

KODAK_SHA256: dict[int, str] = {
    1: "a56e27cbf5f843c048b6af1d6e090760e9c92fadba88b7dee0205918a37523bd",
    2: "4f4b74a79237e311d72cad958237b5f7088d8bce1c82305ebefe1a70e3022dfd",
    3: "e25ca1ff2f0c0cb5fdfd5f9b0a0bb21ac4c3de3c84a67f35b09a85d3306249db",
    4: "e3b946107c5d3441c022f678d0c3caf1e224d81b1604ba840a4f88e562de61aa",
    5: "10349e963c5c813d327852f82c1795fa4148d69fedffc4c589bee458e3ac3d53",
    6: "363510303b715d4cbc384e1ce227e466b613a09e1b71ae985882bf8e7fbd9b18",
    7: "b77d3f006f42414bb242222e0482e750c0fb9e5ee8d4bed2f6f11c5605fe54a4",
    8: "ba23983c76b4832ee0e8af0592664756841a16779acd69f792e268fb6d13d6e7",
    9: "6a4361c2fc194feb4edaa9f9a4a0620fb9943e460ac7fdf037fb0f6dd6607a7d",
    10: "9dfb70f5867c29ff9ed6313683f19b3d867849e40fbc0c4c54a4a89df341cf23",
    11: "7936814b58b5387fce2e4e2488b4ec830dadd95fa9520f358ddb30990b50f2b6",
    12: "d78c37c2f04f23761ed2367dd77e2db584ddd4c3950833fecf89f199a8126980",
    13: "bc34a3ce58dea09dce1704c997171602de90cb34d0c8503a988b77f473d39b08",
    14: "55a94550ff18f3246c4074fd32b77b0c74447c26b6ad274d564d999c0450ba6e",
    15: "7538cbb80cb9103606c48b806eae57d56c885c7f90b9b3be70a41160f9cbb683",
    16: "a89c7268ccd4718ba424a99fc4643c572cf692ca6eae887185ceb4e9f11d2e54",
    17: "37afcc89fbdcb76d9518e04b2fc011027e2f4cd14b3b2f83cefd721641a47c5b",
    18: "1a9258c365988961d87a0598725b609139c303ad48a5aad6c503c3b1a87849aa",
    19: "b7450b264b1b0a411390d8931b112c27905a992520fc90569dc4b920aa32bbdc",
    20: "3b46c71e3b92a563820ba32936be8330c586c41f938efd94be938386aae4328a",
    21: "ac958597c82073f6bb65129c68f72b651db5b9efd82e11547d07350214bc268b",
    22: "1cee58eb1f2d9c7ebb254d208a03c783ce6cf2c4d8c2cf45e235dd23b4ce1b29",
    23: "e3111a2fd4da24af15d6459ef9eacfe54106b38e27b4a21821b75c3f5d2d5baf",
    24: "1071c68372cc5a01435c2c225a5cf7d4bb803846ec08bb6b3d6721b156d7cb96",
}
"""SHA-256 of each official image, from bit-exact copies (the files CompressAI and COIN use)."""


def kodak_filename(index: int) -> str:
    """``kodimNN.png`` for ``index`` in 1-24."""
    return f"kodim{index:02d}.png"


def kodak_paths(indices: Sequence[int] | None = None, data_dir: Path | None = None) -> list[Path]:
    """Paths of verified Kodak images ``indices`` (1-24; default all 24), in the order given.

    Without ``data_dir`` each image is taken from the cache, downloaded first if missing.
    With it, ``data_dir/kodimNN.png`` is used and never the network.

    Raises:
        InvalidInputError: an index outside 1-24, a missing folder or file, a checksum
            mismatch, or a failed download.
    """
    chosen = list(range(1, KODAK_COUNT + 1)) if indices is None else list(indices)
    bad = [i for i in chosen if i not in KODAK_SHA256]
    if bad:
        raise InvalidInputError(f"Kodak has images 1-{KODAK_COUNT}; got {bad[0]}")
    if data_dir is None:
        return [fetch(KODAK_URL.format(index=i), "kodak", KODAK_SHA256[i]) for i in chosen]
    if not data_dir.is_dir():
        raise InvalidInputError(f"no such folder: {data_dir}")
    paths = [data_dir / kodak_filename(i) for i in chosen]
    for index, path in zip(chosen, paths):
        verify(path, KODAK_SHA256[index])
    return paths
