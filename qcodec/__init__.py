"""qcodec: image compression with hybrid quantum-classical neural networks.

Layers (data flows down on encode, up on decode)::

    qcodec.cli        typer commands (the only place that prints or exits)
    qcodec.codecs     one Codec per model name: image -> .qic bytes -> image
    qcodec.models     torch modules (SIREN for COIN, quINR, ...)
    qcodec.quantum    circuit descriptions, batched simulator, PennyLane backend
    qcodec.quantize / qcodec.entropy / qcodec.bitstream
                      named tensors -> integers -> constriction words -> .qic container
"""

__version__ = "0.1.0"
