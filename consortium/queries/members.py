"""The member roster with each member's points (its voting weight before capping).

Examples
--------
>>> from consortium.db import create_schema, make_engine, make_session_factory
>>> from consortium.identity.registry import bootstrap_coordinator
>>> from consortium.ledger.signing import Signer
>>> from consortium.membership import admit_member
>>> engine = make_engine("sqlite://"); create_schema(engine)
>>> coordinator = Signer.generate()
>>> with make_session_factory(engine).begin() as s:
...     _ = bootstrap_coordinator(s, coordinator=coordinator)
...     _ = admit_member(s, member="alpha", public_key=Signer.generate().public_key,
...                      signer=coordinator)
...     roster = members_frame(s)
>>> roster[["member", "status", "points"]].values.tolist()
[['alpha', 'active', 0]]
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy.orm import Session

from consortium.membership import list_members
from consortium.points.store import balances

COLUMNS = [
    "member", "role", "status", "points", "key_id", "admitted_seq", "admitted_by",
    "exit_requested_seq", "removed_seq", "removed_by",
]  # fmt: skip


def members_frame(session: Session) -> pd.DataFrame:
    """Every member ever admitted, in admission order, with its current point balance.

    Columns: ``member``, ``role``, ``status`` (``active``/``removed``), ``points``, ``key_id``
    (first 16 hex digits), ``admitted_seq``, ``admitted_by``, ``exit_requested_seq``,
    ``removed_seq`` and ``removed_by`` (ledger positions are nullable integers).
    """
    held = balances(session)
    rows = [
        (m.member, m.role, m.status, held.get(m.account, 0), m.key_id[:16], m.admitted_seq,
         m.admitted_by, m.exit_requested_seq, m.removed_seq, m.removed_by)
        for m in list_members(session)
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.astype(
        {"points": "int64", "admitted_seq": "int64", "exit_requested_seq": "Int64",
         "removed_seq": "Int64"}
    )  # fmt: skip
