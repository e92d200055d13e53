"""What every command shares: stdin/stdout handling, error reporting, progress display."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from qcodec.codecs.base import FitProgress
from qcodec.data.files import read_bytes, write_bytes_atomic
from qcodec.errors import QcodecError

STDIO = "-"
err_console = Console(stderr=True)
out_console = Console()

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print ``error: message`` on one line to stderr and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    err_console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False, soft_wrap=True)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn qcodec's typed errors and interrupts into one-line messages and exit codes."""
    try:
        yield
    except QcodecError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:
        sys.stderr.close()
        raise typer.Exit(EXIT_ERROR) from None


def read_input(path: str) -> bytes:
    """The bytes of ``path``, or of standard input when ``path`` is ``-``."""
    if path == STDIO:
        return sys.stdin.buffer.read()
    return read_bytes(path)


def write_output(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, or to standard output when ``path`` is ``-``."""
    if path == STDIO:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        write_bytes_atomic(path, data)


def report_console(output_path: str) -> Console:
    """Where a command's report goes: stdout, unless stdout carries the output stream."""
    return err_console if output_path == STDIO else out_console


def interactive(verbose: bool) -> bool:
    """Show progress bars: on a terminal, or when asked with ``--verbose``."""
    return verbose or (sys.stdout.isatty() and sys.stderr.isatty())


@contextmanager
def fit_progress(enabled: bool) -> Iterator[Callable[[FitProgress], None] | None]:
    """A rich progress bar fed by :class:`~qcodec.codecs.base.FitProgress` events (``None`` when disabled)."""
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("[bold]{task.fields[phase]:<4}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.2e}  PSNR {task.fields[psnr]:5.2f} dB"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=False) as bar:
        tasks: dict[str, int] = {}

        def update(event: FitProgress) -> None:
            if event.phase not in tasks:
                tasks[event.phase] = bar.add_task("", total=event.total, phase=event.phase, loss=0.0, psnr=0.0)
            if event.step % 10 == 0 or event.step == event.total:
                bar.update(tasks[event.phase], completed=event.step, loss=event.loss, psnr=event.psnr)

        yield update


PhaseProgress = Callable[[str, int, int], None]
"""``update(phase, done, total)``: progress of a multi-phase run (training, evaluation, ...)."""


@contextmanager
def phase_progress(enabled: bool, label_width: int = 20) -> Iterator[PhaseProgress | None]:
    """One rich bar per phase on stderr, fed by ``update(phase, done, total)`` (``None`` when disabled)."""
    if not enabled:
        yield None
        return
    columns = (
        TextColumn(f"[bold]{{task.description:<{label_width}}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console) as bar:
        tasks: dict[str, int] = {}

        def update(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield update
