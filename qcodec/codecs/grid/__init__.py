"""The latent-grid codec (``--model grid``): overfitted multi-resolution latents and a tiny decoder.

=====================  =================================================================
``codec.py``           :class:`GridCodec`: options, rate control, fit, weight and latent coding
``network.py``         :class:`GridModel`: latent pyramid, upsampling, synthesis, context model
``fit.py``             fitting by rate + lambda * distortion (pyramid start, soft rounding)
``prior.py``           the context model's learned start (``weights/grid-context.pt``)
``latent_coding.py``   latents <-> ANS words through a fixed-point (integer-exact) context model
``laplace.py``         the fixed table of quantized Laplace distributions
=====================  =================================================================
"""
