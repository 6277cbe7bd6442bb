"""What the dashboard does besides reading: sign and submit a paid query (an edge, like a CLI body).

The owner's key file is loaded here and the query is bought through
:func:`consortium.client.cargo.buy_forecast`: signed with the owner's key, then priced, answered,
split, settled and recorded by the coordinator in one transaction, or refused without charging
anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from consortium.client import load_key
from consortium.client.cargo import buy_forecast, cargo_balance
from dashboards.context import DashboardContext

if TYPE_CHECKING:
    from consortium.client.cargo import Purchase


def owner_balance(ctx: DashboardContext, *, key_path: Path, passphrase: str) -> int:
    """Return the points left to the cargo owner whose key file this is.

    Raises
    ------
    KeyFileError
        If the key file is missing or the passphrase is wrong.
    """
    return cargo_balance(ctx.coordinator, owner=load_key(key_path, passphrase=passphrase))


def submit_paid_query(
    ctx: DashboardContext,
    *,
    key_path: Path,
    passphrase: str,
    kind: str,
    params: Mapping[str, object],
    max_price_points: int,
    now: datetime,
) -> Purchase:
    """Sign a ``kind`` query with the owner's key file; return the answer and the balance left.

    Raises
    ------
    KeyFileError
        If the key file is missing or the passphrase is wrong.
    QueryRejected, InsufficientPoints, ModelError, ConfigError
        If the query is refused (nothing is charged or written).
    """
    owner = load_key(key_path, passphrase=passphrase)
    coordinator = ctx.answering_coordinator()
    return buy_forecast(coordinator, owner=owner, kind=kind, params=params,
                        max_price_points=max_price_points, now=now)  # fmt: skip
