"""qcodec: image compression with hybrid quantum-classical neural networks.

Layers (data flows down on encode, up on decode; imports only point down)::

    qcodec.cli          typer commands (the only place that prints or exits)
    qcodec.api          encode / decode / inspect
    qcodec.bench        rate-distortion benchmarks;  qcodec.eval: the paper reproductions
    qcodec.codecs       the Codec interface and registry; one folder per codec:
                        inr/ (COIN, quINR), ae/ (autoencoder), grid/ (latent grids)
    qcodec.netcompress  QIANets compression techniques on any nn.Module
    qcodec.coding       named tensors -> integers -> constriction words -> .qic container
    qcodec.quantum      circuit descriptions, batched simulator, PennyLane backend
    qcodec.data         image I/O, atomic files, data sets

See ``docs/architecture.md``.
"""

__version__ = "0.1.0"
