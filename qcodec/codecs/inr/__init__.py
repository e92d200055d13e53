"""Implicit-neural-representation codecs: overfit a coordinate network, send its weights.

=================  =====================================================================
``codec.py``       :class:`INRCodec`: settings, fit, bit allocation, QAT, pruning, weight coding
``fit.py``         the overfitting loop (pixel mini-batches, cosine lr, fake quantization)
``coin.py``        ``--model coin``: presets and model section around :class:`Siren`
``siren.py``       the SIREN network
``quinr.py``       ``--model quinr``: options and model section around :class:`QuINR`
``quinr_network.py``  the hybrid network: sine embedding -> simulated quantum circuit -> readout
=================  =====================================================================
"""
