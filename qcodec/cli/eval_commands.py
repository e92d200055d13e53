"""The ``qcodec eval`` command group: paper reproductions (one module per command registers on it)."""

from __future__ import annotations

import typer

eval_app = typer.Typer(
    help="Reproduce the papers qcodec builds on and measure them against plain baselines.",
    no_args_is_help=True,
)

from qcodec.cli import eval_qmae  # noqa: E402 - command modules are registered after eval_app exists
from qcodec.cli import eval_classify  # noqa: E402

eval_app.command("qmae")(eval_qmae.qmae)
eval_app.command("classify")(eval_classify.classify)
