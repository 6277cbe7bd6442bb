"""Turn :class:`~consortium.errors.ConsortiumError` into text on stderr and an exit code."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import typer

from consortium.errors import ConsortiumError

T = TypeVar("T")


@contextmanager
def reported_errors() -> Iterator[None]:
    """Run a command body; a kit error becomes its diagnostics on stderr and its exit code."""
    try:
        yield
    except ConsortiumError as exc:
        typer.secho(f"error: {exc.diagnostics()}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=exc.exit_code) from exc


def run_reported(fn: Callable[[], T]) -> T:
    """Call ``fn`` inside :func:`reported_errors`."""
    with reported_errors():
        return fn()
