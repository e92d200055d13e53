"""The ``qcodec eval`` command group: paper reproductions (one module per command registers on it)."""

from __future__ import annotations

import typer

eval_app = typer.Typer(
    help="Reproduce the papers qcodec builds on and measure them against plain baselines.",
    no_args_is_help=True,
)
