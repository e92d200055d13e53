"""The learned autoencoder codec (``--model ae``): a trained transform, no per-image fitting.

=================  =====================================================================
``codec.py``       :class:`AutoencoderCodec`: analysis -> rounded latents -> integer tables -> ANS
``network.py``     the factorized-prior autoencoder (GDN transforms, density model, loss)
``training.py``    ``qcodec train ae``: random crops, rate + lambda * distortion, checkpoints
``zoo.py``         model files: the bundled quality levels (``weights/``), lookup, export
=================  =====================================================================
"""
