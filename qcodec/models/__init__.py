"""Torch modules: SIREN (COIN), quINR, and the networks of the eval reproductions."""
