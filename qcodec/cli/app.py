"""The ``qcodec`` typer application: registers every command group."""

from __future__ import annotations

from typing import Annotated

import typer

from qcodec import __version__
from qcodec.cli import bench_commands, codec_commands, eval_qmae
from qcodec.cli.train_commands import train_app
from qcodec.cli import eval_qianets  # noqa: F401 - registers `qcodec eval qianets` on eval_app
from qcodec.cli.eval_commands import eval_app

app = typer.Typer(
    name="qcodec",
    help="Image codec and benchmark built on hybrid quantum-classical neural networks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command()(codec_commands.encode)
app.command()(codec_commands.decode)
app.command()(codec_commands.info)
app.add_typer(eval_app, name="eval")
app.add_typer(train_app, name="train")
app.command()(bench_commands.bench)
app.command()(bench_commands.compare)
app.command()(eval_qmae.inpaint)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"qcodec {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Image codec and benchmark built on hybrid quantum-classical neural networks."""


def main() -> None:
    """Console-script entry point."""
    app()
