"""The treasurer: the one key that credits cargo owners against payments made off-ledger.

The board appoints it, and replaces it, by an ``appoint-treasurer`` proposal
(:mod:`consortium.governance.execution`); executing one registers the new key with the
``treasurer`` role and revokes every other treasurer key, in the proposal's transaction. A
fresh consortium may have its first treasurer appointed by the coordinator's own admin command.

Examples
--------
>>> from consortium.db import create_schema, make_engine, make_session_factory
>>> from consortium.identity.registry import bootstrap_coordinator
>>> engine = make_engine("sqlite://"); create_schema(engine)
>>> coordinator, first, second = Signer.generate(), Signer.generate(), Signer.generate()
>>> with make_session_factory(engine).begin() as s:
...     _ = bootstrap_coordinator(s, coordinator=coordinator)
...     _ = appoint_treasurer(s, public_key=first.public_key, signer=coordinator)
...     replaced = appoint_treasurer(s, public_key=second.public_key, signer=coordinator)
...     [k.key_id for k in list_keys(s, role=Role.TREASURER)] == [second.key_id]
True
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from consortium.errors import LedgerError
from consortium.identity.registry import get_key, list_keys, register_key, revoke_key
from consortium.ledger.keyring import Role
from consortium.ledger.signing import Signer, key_id_for

__all__ = ["appoint_treasurer", "current_treasurers"]

logger = logging.getLogger(__name__)


def current_treasurers(session: Session) -> list[str]:
    """Return the key ids of the active treasurer keys (one once appointed)."""
    return [k.key_id for k in list_keys(session, role=Role.TREASURER)]


def appoint_treasurer(
    session: Session, *, public_key: bytes, signer: Signer, moment: datetime | None = None
) -> list[str]:
    """Register ``public_key`` as the treasurer and revoke the keys it replaces; return those.

    Raises
    ------
    LedgerError
        If the key is already registered (under any role), or ``signer`` is no coordinator key.
    """
    key_id = key_id_for(public_key)
    if get_key(session, key_id) is not None:
        raise LedgerError(f"key {key_id[:16]}... is already registered; appoint a new key")
    replaced = current_treasurers(session)
    with session.begin_nested():
        register_key(
            session, public_key=public_key, role=Role.TREASURER, signer=signer, moment=moment
        )
        for old in replaced:
            revoke_key(session, key_id=old, signer=signer, moment=moment)
    logger.info("treasurer %s appointed (replacing %d)", key_id[:16], len(replaced))
    return replaced
