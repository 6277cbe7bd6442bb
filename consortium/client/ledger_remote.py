"""The coordinator's ledger, fetched from its service and verified here, on the client.

A client trusts nothing the service says without checking it: :func:`verify_service_ledger`
fetches the newest signed tree head (checked against the pinned coordinator key, and for
consistency with the last head this client saw) and every entry, then runs the same
verification as ``consortium ledger verify`` on them
(:func:`consortium.ledger.verify.verify_log`: the pinned genesis key, sequence, time order,
each key's role and lifecycle, every signature and hash, the head's root) and checks that each
vote, proposal and exit is authorised by the member it names
(:func:`consortium.audit.state.check_member_signers`). The tables shown are built from the
entries that were verified.

Examples
--------
>>> remote = RemoteCoordinator("https://coordinator.example:8443", pin="ab" * 8)  # doctest: +SKIP
>>> checked = verify_service_ledger(remote)  # doctest: +SKIP
>>> checked.status.ok, checked.status.size  # doctest: +SKIP
(True, 42)
>>> recent_entries_of(checked.entries, limit=5)  # doctest: +SKIP
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import pandas as pd

from consortium.audit.state import check_member_signers
from consortium.client.remote import RemoteCoordinator, ServiceRefused
from consortium.errors import VerificationError
from consortium.ledger.checkpoint import Checkpoint
from consortium.ledger.entry import Entry
from consortium.ledger.kinds import EntryKind
from consortium.ledger.verify import verify_log
from consortium.queries.ledger import TreeHead, VerificationStatus

__all__ = [
    "ServiceLedger",
    "entry_kinds_of_entries",
    "fetch_entries",
    "recent_entries_of",
    "verify_service_ledger",
]

PAGE = 1000
"""Entries the service sends per call (its most)."""


@dataclass(frozen=True)
class ServiceLedger:
    """The service's ledger as this client fetched and verified it.

    ``status`` says whether every check passed (else why, and the first failing entry);
    ``head`` is the newest signed tree head (``None`` before the first); ``entries`` are the
    entries fetched (all of them, verified when ``status.ok``).
    """

    status: VerificationStatus
    head: TreeHead | None
    entries: tuple[Entry, ...]


def fetch_entries(remote: RemoteCoordinator, *, start: int = 0) -> list[Entry]:
    """Fetch every entry from ``start`` on, a page at a time, until the service has no more.

    Raises
    ------
    ServiceRefused
        If the service refuses or cannot be reached.
    """
    entries: list[Entry] = []
    while True:
        page = remote.entries(start=start + len(entries), stop=start + len(entries) + PAGE)
        entries += page
        if len(page) < PAGE:
            return entries


def _latest_head(remote: RemoteCoordinator) -> Checkpoint | None:
    try:
        return remote.head()
    except ServiceRefused as exc:
        if exc.code == "unknown-head":
            return None
        raise


def verify_service_ledger(remote: RemoteCoordinator) -> ServiceLedger:
    """Fetch the newest head and every entry from the service and verify them here.

    A failed check is returned, not raised: ``status.ok`` is false with the reason and the
    first failing entry.

    Raises
    ------
    ServiceRefused
        If the service refuses or cannot be reached (nothing was checked).
    """
    entries: list[Entry] = []
    head: Checkpoint | None = None
    try:
        head = _latest_head(remote)
        entries = fetch_entries(remote)
        report = verify_log(entries, heads=[] if head is None else [head],
                            pinned_coordinator=remote.pin)  # fmt: skip
        check_member_signers(entries)
    except VerificationError as exc:
        status = VerificationStatus(ok=False, size=len(entries), error=exc.reason, index=exc.index)
    else:
        status = VerificationStatus(ok=True, size=report.size, root=report.root,
                                    heads_checked=report.heads_checked, keys=report.keys,
                                    uncovered=report.uncovered)  # fmt: skip
    shown = None if head is None else TreeHead.of(head)
    return ServiceLedger(status=status, head=shown, entries=tuple(entries))


def entry_kinds_of_entries(entries: Sequence[Entry]) -> pd.DataFrame:
    """Return the number of entries of each kind (``kind``, ``entries``), most first."""
    counts = Counter(e.kind for e in entries)
    frame = pd.DataFrame(sorted(counts.items()), columns=["kind", "entries"])
    frame = frame.astype({"entries": "int64"})
    return frame.sort_values(["entries", "kind"], ascending=[False, True], ignore_index=True)


def actor_labels_of(entries: Sequence[Entry]) -> dict[str, str]:
    """Return a label per registered key id, from the entries: ``role:member`` or ``role:key``.

    The labels :func:`consortium.queries.ledger.actor_labels` reads from the coordinator's
    tables, replayed from the ``key-registered`` and ``member-admitted`` entries.
    """
    roles: dict[str, str] = {}
    members: dict[str, str] = {}
    for entry in entries:
        if entry.kind not in (EntryKind.KEY_REGISTERED, EntryKind.MEMBER_ADMITTED):
            continue
        payload = entry.payload_object()
        key_id, role, member = payload.get("key_id"), payload.get("role"), payload.get("member")
        if not isinstance(key_id, str):
            continue
        if entry.kind == EntryKind.KEY_REGISTERED and isinstance(role, str):
            roles[key_id] = role
        elif isinstance(member, str):
            members[key_id] = member
    return {key_id: f"{role}:{members.get(key_id, key_id[:12])}" for key_id, role in roles.items()}


def recent_entries_of(
    entries: Sequence[Entry], *, limit: int = 50, kinds: Collection[str] | None = None
) -> pd.DataFrame:
    """Return the latest ``limit`` entries, newest first, optionally of the given kinds.

    The columns of :func:`consortium.queries.ledger.recent_entries` (``seq``, ``time``,
    ``kind``, ``actor``, ``payload`` in full).
    """
    if limit <= 0:
        raise ValueError(f"limit must be positive, got {limit}")
    labels = actor_labels_of(entries)
    chosen = [e for e in reversed(entries) if kinds is None or e.kind in kinds][:limit]
    rows = [(e.seq, e.time, e.kind, labels.get(e.actor, e.actor[:12]),
             e.payload.decode()) for e in chosen]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["seq", "time", "kind", "actor", "payload"])
    return frame.astype({"seq": "int64"})
