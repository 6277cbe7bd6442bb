"""Every ledger entry in order, as anyone auditing the ledger lists it (no payloads).

Examples
--------
>>> from consortium.db import create_schema, make_engine, make_session_factory
>>> from consortium.identity.registry import bootstrap_coordinator
>>> from consortium.ledger import store as _tables
>>> from consortium.ledger.signing import Signer
>>> engine = make_engine("sqlite://"); create_schema(engine)
>>> coordinator = Signer.generate()
>>> with make_session_factory(engine).begin() as s:
...     _ = bootstrap_coordinator(s, coordinator=coordinator)
...     entries = entries_frame(s)
>>> entries[["seq", "kind"]].values.tolist()
[[0, 'key-registered']]
>>> entries["signed_by"].tolist() == [coordinator.key_id[:12]]
True
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from consortium.ledger.models import EntryRow

KEY_ID_CHARS = 12
"""Hex digits of the signer's key id shown in :func:`entries_frame`."""

_entries = EntryRow.__table__.c


def entries_frame(session: Session) -> pd.DataFrame:
    """Return every entry, oldest first: ``seq``, ``time``, ``kind`` and ``signed_by``.

    ``signed_by`` is the first :data:`KEY_ID_CHARS` hex digits of the signer's key id.
    """
    rows = session.execute(
        select(_entries.seq, _entries.time, _entries.kind, _entries.actor).order_by(_entries.seq)
    ).all()
    return pd.DataFrame(
        [(seq, time, kind, actor[:KEY_ID_CHARS]) for seq, time, kind, actor in rows],
        columns=["seq", "time", "kind", "signed_by"],
    ).astype({"seq": "int64"})
