"""The latent-grid codec (``--model grid``): overfitted multi-resolution latents and a tiny decoder.

=====================  =================================================================
``codec.py``           :class:`GridCodec`: options, rate control, fit, weight and latent coding
``network.py``         :class:`GridModel`: latent pyramid, upsampling, synthesis, context model
``fit.py``             fitting by rate + lambda * distortion (pyramid start, soft rounding)
``latent_coding.py``   latents <-> rANS words through a fixed-point (integer-exact) context model
``latent_kernels.py``  its compiled loops: the context at one latent, a plane's rows, a plane's decoding
``laplace.py``         the fixed table of quantized Laplace distributions
=====================  =================================================================
"""
