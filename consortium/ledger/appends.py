"""What an append reads and writes, prepared once: the hot path of :mod:`consortium.ledger.store`.

Every ledger write (a paid query makes two) reserves a sequence number, reads the previous
entry's time and inserts the entry. The statements are built once here: building a SQLAlchemy
statement per call (its clauses, its cache key) costs more than SQLite's answer to it. And an
append remembers, for the rest of its transaction, the entry it wrote, so the next append in
the same transaction knows the previous entry's time without reading it back
(:func:`previous_time`).
"""

from __future__ import annotations

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session, SessionTransaction

from consortium.ledger.models import HEAD_ROW_ID, EntryRow, HeadRow

_head: Table = HeadRow.__table__  # type: ignore[assignment]
_entries: Table = EntryRow.__table__  # type: ignore[assignment]

RESERVE_SEQ = (
    update(_head)
    .where(_head.c.id == HEAD_ROW_ID)
    .values(size=_head.c.size + 1)
    .returning(_head.c.size)
)
"""Increment the ledger's size and return it (row-locks the head on PostgreSQL)."""

INSERT_ENTRY = insert(_entries)
"""Insert one entry: parameters ``seq, time, kind, payload, actor, signature, leaf_hash``."""

_TIME_OF = select(_entries.c.time).where(_entries.c.seq == bindparam("seq"))

_LAST_APPENDED = "consortium.ledger.last_appended"


def remember_append(session: Session, *, seq: int, time: str) -> None:
    """Note that this transaction just appended entry ``seq`` at ``time``."""
    session.info[_LAST_APPENDED] = (session.get_transaction(), seq, time)


def previous_time(session: Session, seq: int) -> str | None:
    """Return the time of entry ``seq - 1`` (``None`` if there is none).

    Taken from :func:`remember_append` when this transaction's last append was entry
    ``seq - 1``: that entry is still there, since a savepoint that rolled it back would also
    have rolled the head back below ``seq``. Otherwise read from the store.
    """
    noted: tuple[SessionTransaction | None, int, str] | None = session.info.get(_LAST_APPENDED)
    if noted is not None and noted[0] is session.get_transaction() and noted[1] == seq - 1:
        return noted[2]
    return session.execute(_TIME_OF, {"seq": seq - 1}).scalar_one_or_none()
