"""``ledger verify`` on a database: the log itself, then the state derived from it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from consortium.audit.state import check_derived_state, check_member_signers
from consortium.ledger.checkpoint import Checkpoint
from consortium.ledger.store import (
    load_checkpoints,
    load_entries,
    load_leaf_hashes,
    public_keys,
)
from consortium.ledger.verify import LogReport, verify_log

__all__ = ["AuditReport", "audit_database"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuditReport:
    """What a successful audit covered: the log, and the derived state replayed from it."""

    log: LogReport
    state_checked: tuple[str, ...] = ("balances", "journal", "tallies", "votes", "policy")


def audit_database(
    session: Session,
    *,
    witnessed: Sequence[Checkpoint] = (),
    workers: int = 1,
    on_progress: Callable[[int, int], None] | None = None,
    pinned_coordinator: str | None = None,
) -> AuditReport:
    """Verify every entry, signature, role, hash and tree head, then replay the derived state.

    Parameters
    ----------
    session
        A session on the coordinator's database.
    witnessed
        Tree heads a member kept (:func:`consortium.ledger.witness.read_witnessed`).
    workers
        Processes for signature checks.
    on_progress
        Called with (entries checked, total).
    pinned_coordinator
        The coordinator key id the caller trusts (see :func:`consortium.ledger.verify.check_pin`).

    Raises
    ------
    VerificationError
        For the first entry or tree head that fails (a signer whose role may not write the
        entry's kind, or a member key signing a vote, proposal or exit in another's name,
        included).
    StateDrift
        At the first entry where the stored balances, journal, tallies, vote rows or policy
        versions disagree with the replay of the entries.

    Examples
    --------
    >>> from consortium.db import create_schema, make_engine, make_session_factory
    >>> from consortium.identity.registry import bootstrap_coordinator
    >>> from consortium.ledger.signing import Signer
    >>> engine = make_engine("sqlite://"); create_schema(engine)
    >>> with make_session_factory(engine).begin() as s:
    ...     _ = bootstrap_coordinator(s, coordinator=Signer.generate())
    ...     audit_database(s).log.size
    1
    """
    entries = load_entries(session)
    report = verify_log(
        entries,
        heads=load_checkpoints(session),
        witnessed=witnessed,
        keys=public_keys(session),
        stored_leaves=load_leaf_hashes(session),
        workers=workers,
        on_progress=on_progress,
        pinned_coordinator=pinned_coordinator,
    )
    check_member_signers(entries)
    check_derived_state(session, entries)
    logger.info("derived state matches the replay of %d entries", len(entries))
    return AuditReport(log=report)
