"""COIN fitting speed and the rate-distortion effect of qcodec's weight coding.

Fits one SIREN to a 768x512 Kodak image, reports fitting steps/second, then codes the
same trained network several ways and prints size and PSNR of each:

- float16 weights (COIN's own storage), the reference;
- per-tensor uniform quantization at several base bit depths + constriction entropy coding:
  one depth for every tensor; with sensitivity-based bit allocation (``alloc``, sensitive
  tensors get more bits); and with allocation plus quantization-aware fine-tuning (``QAT``).

Usage::

    python benchmarks/bench_coin.py [--image PATH] [--steps 2000] [--layers 10 --width 28]

Sizes are of the weight payload only (the ``tensors`` + ``payload`` sections);
ratios are against the float16 size of the same network.
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import numpy as np
import torch

from qcodec.codecs.inr.codec import render, sample_distortion
from qcodec.codecs.inr.coords import pixel_grid
from qcodec.codecs.inr.fit import FitConfig, fit
from qcodec.codecs.inr.siren import Siren
from qcodec.coding.quantize import allocate_bits
from qcodec.coding.tensor_codec import encode_tensors
from qcodec.data.image_io import decode_image_bytes
from qcodec.metrics import psnr

DEFAULT_IMAGE = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "kodak" / "kodim23.png"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--qat-steps", type=int, default=200)
    parser.add_argument("--layers", type=int, default=10)
    parser.add_argument("--width", type=int, default=28)
    parser.add_argument("--bits", default="6,7,8,9,10")
    args = parser.parse_args()

    image = decode_image_bytes(args.image.read_bytes(), str(args.image))
    h, w, c = image.pixels.shape
    coords = pixel_grid(h, w)
    targets = torch.from_numpy(image.pixels.reshape(-1, c).astype(np.float32) / 255.0)
    torch.manual_seed(0)
    model = Siren(args.layers, args.width, out_features=c)
    start = time.perf_counter()
    fit(model, coords, targets, FitConfig(steps=args.steps))
    seconds = time.perf_counter() - start
    print(f"image {args.image.name} {w}x{h}, SIREN {args.layers}x{args.width}, "
          f"{sum(p.numel() for p in model.parameters())} parameters")
    print(f"fitting: {args.steps} steps in {seconds:.1f} s = {args.steps / seconds:.1f} steps/s "
          f"(batch 16384 pixels)")

    pixels = image.num_pixels
    fp16 = copy.deepcopy(model).half().float()
    fp16_bytes = 2 * sum(p.numel() for p in model.parameters())
    fp16_psnr = psnr(image.pixels, render(fp16, h, w, c))
    float_psnr = psnr(image.pixels, render(model, h, w, c))
    print(f"\n{'weights':<22}{'bytes':>8}{'bpp':>8}{'vs fp16':>9}{'PSNR dB':>9}{'dPSNR':>8}")
    print(f"{'float32 (uncoded)':<22}{4 * fp16_bytes // 2:>8}{32 * fp16_bytes / 2 / pixels:>8.3f}"
          f"{'200%':>9}{float_psnr:>9.2f}{float_psnr - fp16_psnr:>+8.2f}")
    print(f"{'float16 (COIN)':<22}{fp16_bytes:>8}{8 * fp16_bytes / pixels:>8.3f}{'100%':>9}{fp16_psnr:>9.2f}{0:>+8.2f}")
    distortion = sample_distortion(model, coords, targets)
    for base_bits in (int(b) for b in args.bits.split(",")):
        for allocate, qat in ((False, False), (True, False), (True, True)):
            trained = copy.deepcopy(model)
            named = {n: p.detach() for n, p in trained.named_parameters()}
            bits = allocate_bits(named, base_bits, distortion) if allocate else base_bits
            if qat:
                fit(trained, coords, targets, FitConfig(steps=args.qat_steps, lr=1e-4), bits=bits)
                named = {n: p.detach() for n, p in trained.named_parameters()}
            coded = encode_tensors(named, bits)
            size = len(coded.table) + len(coded.payload)
            trained.load_state_dict(coded.tensors)
            quality = psnr(image.pixels, render(trained, h, w, c))
            label = f"{base_bits}-bit" + (" + alloc" if allocate else "") + (" + QAT" if qat else "")
            print(f"{label:<22}{size:>8}{8 * size / pixels:>8.3f}{100 * size / fp16_bytes:>8.1f}%"
                  f"{quality:>9.2f}{quality - fp16_psnr:>+8.2f}")


if __name__ == "__main__":
    main()
