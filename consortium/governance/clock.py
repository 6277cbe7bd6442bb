"""The coordinator's clock: the only source of governance times.

A proposal's creation, a vote, queueing, cancelling and execution are timed by the coordinator's
own clock, read inside the store, never by a time the caller passes (a backdated vote could turn a
queued proposal into a defeated one). :func:`ledger_now` reads the clock after taking the
ledger's write lock, so the time it returns is never older than an entry already written
(:func:`consortium.ledger.store.check_time_order` refuses one that is).

Tests inject a :class:`ManualClock` into the store API; no user-facing option sets the time.

Examples
--------
>>> from datetime import UTC, datetime, timedelta
>>> clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
>>> clock.advance(90).isoformat()
'2026-01-01T00:01:30+00:00'
>>> SYSTEM_CLOCK.now().tzinfo is UTC
True
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from consortium.errors import GovernanceError
from consortium.ledger.models import HEAD_ROW_ID, HeadRow

__all__ = ["SYSTEM_CLOCK", "Clock", "ManualClock", "SystemClock", "ledger_now", "wait_until"]


class Clock(Protocol):
    """Something that tells the coordinator's time (tz-aware UTC)."""

    def now(self) -> datetime:
        """Return the current time."""
        ...


class SystemClock:
    """The coordinator machine's clock, in UTC."""

    def now(self) -> datetime:
        """Return ``datetime.now(UTC)``."""
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


SYSTEM_CLOCK = SystemClock()
"""The default clock of every governance store function."""


class ManualClock:
    """A clock that moves only when told, and only forwards (tests, simulations).

    Parameters
    ----------
    start
        The first time it tells (tz-aware); default: now.

    Raises
    ------
    GovernanceError
        ``naive-time`` for a time without an offset, ``clock-backwards`` when asked to go back.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = _aware(start if start is not None else datetime.now(UTC))

    def now(self) -> datetime:
        """Return the time it was last set to."""
        return self._now

    def advance(self, seconds: float) -> datetime:
        """Move forwards by ``seconds`` (>= 0) and return the new time."""
        return self.set(self._now + timedelta(seconds=seconds))

    def set(self, moment: datetime) -> datetime:
        """Move forwards to ``moment`` and return it."""
        moment = _aware(moment)
        if moment < self._now:
            raise GovernanceError(
                "clock", code="clock-backwards", reason=f"{moment} is before {self._now}"
            )
        self._now = moment
        return moment

    def __repr__(self) -> str:
        return f"ManualClock({self._now.isoformat()})"


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise GovernanceError("clock", code="naive-time", reason="a time needs a UTC offset")
    return moment


def ledger_now(session: Session, clock: Clock) -> datetime:
    """Take the ledger's write lock, then read ``clock`` (one governance action's time).

    On PostgreSQL the head row is locked ``FOR UPDATE`` until the transaction ends, so a
    concurrent writer's entry is either committed before this time is read or written after
    this transaction; on SQLite the writer already holds the database lock.
    """
    session.execute(select(HeadRow.size).where(HeadRow.id == HEAD_ROW_ID).with_for_update())
    return _aware(clock.now())


def wait_until(moment: datetime, *, clock: Clock = SYSTEM_CLOCK) -> None:
    """Return once ``clock`` is past ``moment`` (the demo waits out its short governance periods).

    A :class:`ManualClock` is moved there at once; any other clock is waited for with
    :func:`time.sleep`.
    """
    if isinstance(clock, ManualClock):
        clock.set(max(clock.now(), moment + timedelta(microseconds=1)))
        return
    while (delay := (moment - clock.now()).total_seconds()) >= 0:
        time.sleep(delay + 0.01)
