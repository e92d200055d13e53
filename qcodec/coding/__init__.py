"""The one path from tensors to bytes, shared by every codec.

=====================  =================================================================
``quantize.py``        per-tensor uniform quantization, bit allocation, fake quantization
``entropy.py``         constriction ANS with per-array parametric models and integer tables
``tensor_codec.py``    named tensors <-> the ``tensors`` + ``payload`` sections
``bitstream.py``       the ``.qic`` container: header, tagged sections, length, CRC-32
=====================  =================================================================
"""
