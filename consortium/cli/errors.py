"""Turn :class:`~consortium.errors.ConsortiumError` into text on stderr and an exit code.

A database driver's error (a file that is not a database, a table that is not there, a server
that refuses the connection) becomes :class:`~consortium.errors.StoreUnavailable`: one line
naming the driver's error, never a traceback.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import typer

from consortium.errors import ConsortiumError, StoreUnavailable

T = TypeVar("T")

logger = logging.getLogger(__name__)


def _store_error(exc: Exception) -> StoreUnavailable | None:
    """Return the kit's error for a SQLAlchemy error (``None`` for anything else)."""
    sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")  # loaded only if a database was opened
    if sqlalchemy_exc is None or not isinstance(exc, sqlalchemy_exc.SQLAlchemyError):
        return None
    logger.info("database error: %s", exc)
    orig = getattr(exc, "orig", None)
    cause = type(orig if orig is not None else exc).__name__
    if type(orig).__module__ == "sqlite3":  # "file is not a database", "no such table: ..."
        detail = str(orig).strip().splitlines()[:1]
        return StoreUnavailable(f"{cause} ({detail[0][:200]})" if detail else cause)
    return StoreUnavailable(cause)  # a server's message may name hosts or users: logged only


def _report(exc: ConsortiumError) -> typer.Exit:
    typer.secho(f"error: {exc.diagnostics()}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=exc.exit_code)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Run a command body; a kit error becomes its diagnostics on stderr and its exit code."""
    try:
        yield
    except ConsortiumError as exc:
        raise _report(exc) from exc
    except Exception as exc:
        store = _store_error(exc)
        if store is None:
            raise
        raise _report(store) from exc


def run_reported(fn: Callable[[], T]) -> T:
    """Call ``fn`` inside :func:`reported_errors`."""
    with reported_errors():
        return fn()
