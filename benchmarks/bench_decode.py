"""The decode-cost model against measured decode time and memory (how the default limits were set).

Every codec predicts, from a stream's header and model section, the work (GMAC) and peak
memory (MiB) of decoding it (``qcodec info`` shows both; ``docs/bitstream.md``, decoder
conformance). This script writes streams of each codec with random weights (as qcodec's own
writer would for a fitted network of that shape), decodes each in a fresh process, and prints
the prediction beside the measured wall time, the throughput (GMAC/s) and the measured peak
memory above the process's resident size before decoding. The default work limit is set so
that the slowest throughput seen here spends about a minute; the memory estimates must stay
above the measured peaks.

Usage::

    python benchmarks/bench_decode.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from qcodec.codecs import get_codec
from qcodec.codecs.grid.codec import GridArch
from qcodec.codecs.grid.latent_coding import FixedPointContext, encode_latents
from qcodec.coding.bitstream import ByteWriter, Container, pack
from qcodec.coding.tensor_codec import encode_tensors

CASES: list[tuple[str, dict[str, int], int, int]] = [
    ("coin", {"layers": 10, "width": 28}, 1024, 1024),
    ("coin", {"layers": 13, "width": 64}, 2048, 1024),
    ("coin", {"layers": 16, "width": 256}, 512, 512),
    ("coin", {"layers": 3, "width": 6}, 2048, 2048),
    ("quinr", {"qubits": 6, "layers": 4, "embed": 24}, 768, 512),
    ("quinr", {"qubits": 6, "layers": 4, "embed": 96}, 256, 256),
    ("quinr", {"qubits": 8, "layers": 4, "embed": 256}, 128, 128),
    ("quinr", {"qubits": 10, "layers": 4, "embed": 64}, 128, 64),
    ("quinr", {"qubits": 12, "layers": 2, "embed": 16}, 64, 32),
    ("grid", {}, 1024, 1024),
    ("grid", {}, 2048, 2048),
    ("grid", {"hidden": 64, "context_hidden": 64, "context_layers": 4}, 1024, 1024),
    ("grid", {"quantum_qubits": 8}, 256, 256),
]
QUICK = [0, 4, 9]


def inr_stream(model: str, arch: dict[str, int], width: int, height: int) -> bytes:
    codec = get_codec(model)
    network = codec.build_model(arch, 3)
    encoded = encode_tensors({name: p.detach() for name, p in network.named_parameters()}, 8)
    section = ByteWriter()
    codec.write_arch(section, arch)
    return pack(Container(codec.codec_id, width, height, 3, sections={1: section.getvalue(), 2: encoded.table, 3: encoded.payload}))


def grid_stream(fields: dict[str, int], width: int, height: int) -> bytes:
    arch = GridArch(**fields)
    model = arch.build(height, width, 3)
    encoded = encode_tensors({name: p.detach() for name, p in model.decoder_parameters().items()}, 8)
    model.load_state_dict(encoded.tensors, strict=False)
    grids = [torch.round(torch.randn(size) * 2).to(torch.float64) for size in model.sizes]
    latents = encode_latents(FixedPointContext(model.context), grids, model.coarse)
    section = ByteWriter()
    arch.write(section)
    sections = {1: section.getvalue(), 2: encoded.table, 3: encoded.payload, 4: latents}
    return pack(Container(4, width, height, 3, sections=sections))


MEASURE = """
import json, resource, sys, time
from qcodec import api
from qcodec.codecs.budget import DecodeLimits
data = open(sys.argv[1], "rb").read()
facts = api.inspect(data)
def rss():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS")) / 1024
base = rss()
start = time.perf_counter()
api.decode(data, DecodeLimits(1e12, 1e12))
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base
print(json.dumps({"gmac": facts["decode_gmac"], "mib": facts["decode_peak_mib"], "seconds": seconds, "peak": peak}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="three cases only")
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"{'codec':6} {'shape':44} {'pixels':>9} {'GMAC':>8} {'s':>7} {'GMAC/s':>7} {'est MiB':>8} {'peak MiB':>9}")
    with tempfile.TemporaryDirectory() as folder:
        for index, (model, fields, width, height) in enumerate(CASES):
            if args.quick and index not in QUICK:
                continue
            data = grid_stream(fields, width, height) if model == "grid" else inr_stream(model, fields, width, height)
            path = Path(folder) / "s.qic"
            path.write_bytes(data)
            out = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, check=True)
            r = json.loads(out.stdout)
            shape = ", ".join(f"{k}={v}" for k, v in fields.items()) or "default"
            print(
                f"{model:6} {shape:44} {width * height:>9,} {r['gmac']:>8.2f} {r['seconds']:>7.2f} "
                f"{r['gmac'] / r['seconds']:>7.1f} {r['mib']:>8.0f} {r['peak']:>9.0f}"
            )


if __name__ == "__main__":
    main()
