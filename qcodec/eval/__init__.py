"""Reproductions of the papers qcodec builds on, measured against plain baselines.

Each module is library code: it returns result records and reports progress through a
callback; the ``qcodec eval ...`` commands print them.
"""
