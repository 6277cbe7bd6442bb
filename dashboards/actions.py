"""What the dashboard does besides reading: sign and submit a paid query (an edge, like a CLI body).

The query is built, signed with the cargo owner's key and answered by
:func:`consortium.forecasts.service.answer_query` inside one transaction, which prices it, splits
the fee, settles and records it, or refuses it without charging anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from consortium.forecasts.messages import new_query, sign_query
from consortium.forecasts.service import PaidAnswer, answer_query
from consortium.identity.keys import load_signer
from dashboards.context import DashboardContext


def submit_paid_query(
    ctx: DashboardContext,
    *,
    key_path: Path,
    passphrase: str,
    kind: str,
    params: Mapping[str, object],
    max_price_points: int,
    now: datetime,
) -> PaidAnswer:
    """Sign a ``kind`` query with the owner's key file and have the coordinator answer it.

    Raises
    ------
    KeyFileError
        If the key file is missing or the passphrase is wrong.
    QueryRejected, InsufficientPoints, ModelError, ConfigError
        If the query is refused (nothing is charged or written).
    """
    owner = load_signer(Path(key_path).expanduser(), passphrase=passphrase.encode() or None)
    service = ctx.query_service()
    query = new_query(
        kind=kind, params=params, issuer=owner, max_price_points=max_price_points, now=now
    )
    with ctx.session() as session:
        return answer_query(
            session, query=query, signature=sign_query(query, signer=owner), service=service,
            now=now,
        )  # fmt: skip
