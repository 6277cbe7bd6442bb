"""Persist ledger entries and signed tree heads with SQLAlchemy; never commits.

Appends are ordered by one row, ``ledger_head``: :func:`append_entry` increments its ``size``
with ``UPDATE ... RETURNING``, which row-locks it until the caller's transaction ends on
PostgreSQL (a concurrent appender waits, then reads the new size), and runs inside
``BEGIN IMMEDIATE`` on SQLite (see :mod:`consortium.db`). The primary key on ``seq`` is the
backstop: a duplicate can never commit, and because the head and the entry change in the same
transaction a rollback or crash leaves neither, so there is never a gap.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consortium.config import REPO_ROOT
from consortium.errors import EntryOutOfOrder, LedgerError
from consortium.ledger.admission import JOIN_ACTION
from consortium.ledger.appends import INSERT_ENTRY, RESERVE_SEQ, previous_time, remember_append
from consortium.ledger.checkpoint import DEFAULT_ORIGIN, Checkpoint
from consortium.ledger.entry import Entry, sign_entry
from consortium.ledger.keyring import Role
from consortium.ledger.kinds import APPLICANT, EntryKind, writers_of
from consortium.ledger.merkle import MerkleTree
from consortium.ledger.models import (
    HEAD_ROW_ID,
    CheckpointRow,
    EntryRow,
    HeadRow,
    KeyRow,
    RequestNonceRow,
)
from consortium.ledger.payload import PayloadPolicy
from consortium.ledger.requests import (
    Actor,
    Countersigned,
    RequestRejected,
    SignedRequest,
    binding_problem,
    payload_with_request,
)
from consortium.ledger.signing import Signer

logger = logging.getLogger(__name__)


class KeyProblem(StrEnum):
    """Why a key may not act: the three answers of :func:`active_key`."""

    NOT_REGISTERED = "not-registered"
    REVOKED = "revoked"
    WRONG_ROLE = "wrong-role"


class SignerNotAllowed(LedgerError, PermissionError):
    """The signing key is not registered, was revoked, or lacks the role the action needs.

    ``problem`` says which (:class:`KeyProblem`); ``reason`` says it in words.
    """

    def __init__(
        self, key_id: str, reason: str, *, problem: KeyProblem = KeyProblem.NOT_REGISTERED
    ) -> None:
        self.key_id = key_id
        self.reason = reason
        self.problem = problem
        super().__init__(f"key {key_id[:16]}...: {reason}")


@functools.cache
def default_policy() -> PayloadPolicy:
    """Return the payload policy built from the kit's data contracts (read once per process)."""
    return PayloadPolicy.from_contracts(REPO_ROOT / "data_schemas")


def ensure_ledger(session: Session) -> None:
    """Create the single head row if the ledger is new (run once after creating the schema)."""
    if session.get(HeadRow, HEAD_ROW_ID) is None:
        session.add(HeadRow(id=HEAD_ROW_ID, size=0))
        session.flush()


def _reserve_seq(session: Session) -> int:
    size = session.execute(RESERVE_SEQ).scalar_one_or_none()
    if size is None:
        raise LedgerError("ledger is not initialised: call ensure_ledger() once")
    return size - 1


def active_key(
    session: Session,
    key_id: str,
    *,
    roles: Collection[str] | None = None,
    action: str = "act",
) -> KeyRow:
    """Return the registry row of an active key, optionally of one of ``roles``.

    The one lookup behind every "may this key do this?": the ledger asks it for every entry's
    signer, and every store above the ledger asks it through
    :func:`consortium.identity.registry.require_role`.

    Parameters
    ----------
    session
        The caller's session.
    key_id
        The key to look up.
    roles
        The roles allowed to do ``action``; ``None`` accepts any role.
    action
        What the key is about to do, for the refusal's reason (``"mint points"``).

    Raises
    ------
    SignerNotAllowed
        With :attr:`~SignerNotAllowed.problem` ``not-registered``, ``revoked`` or ``wrong-role``.
    """
    needed = "" if roles is None else " or ".join(sorted(roles))
    needs = f"; {action} needs a {needed} key" if needed else ""
    row = session.get(KeyRow, key_id)
    if row is None:
        raise SignerNotAllowed(key_id, f"not registered{needs}", problem=KeyProblem.NOT_REGISTERED)
    if row.revoked_seq is not None:
        raise SignerNotAllowed(
            key_id, f"revoked at entry {row.revoked_seq}{needs}", problem=KeyProblem.REVOKED
        )
    if roles is not None and row.role not in roles:
        raise SignerNotAllowed(
            key_id,
            f"a {row.role} key cannot {action}; it needs a {needed} key",
            problem=KeyProblem.WRONG_ROLE,
        )
    return row


def _check_signer(
    session: Session, signer: Signer, kind: str, payload: Mapping[str, object], seq: int
) -> None:
    genesis = (
        seq == 0
        and kind == EntryKind.KEY_REGISTERED
        and payload.get("key_id") == signer.key_id
        and payload.get("role") == Role.COORDINATOR
    )
    if not genesis:
        active_key(session, signer.key_id, roles=writers_of(kind), action=f"sign {kind} entries")


def check_request(
    session: Session, request: SignedRequest, *, kind: str, payload: Mapping[str, object]
) -> None:
    """Check that ``request`` authorises an entry of ``kind`` with ``payload``; read-only.

    The actor's key must be active and of a role that may authorise ``kind``
    (:data:`~consortium.ledger.kinds.WRITERS`), the signature must verify under it, the action
    and the bound fields must match (:func:`~consortium.ledger.requests.binding_problem`), the
    nonce must be new. A ``join`` request's key must be unregistered (:mod:`.admission`).

    Raises
    ------
    SignerNotAllowed
        The actor's key is unknown, revoked or of the wrong role.
    RequestRejected
        ``bad-signature``, ``wrong-action``, ``body-mismatch``, ``key-in-use`` or ``replay``.
    """
    if request.action != JOIN_ACTION:
        action = f"authorise {kind} entries"
        key = active_key(session, request.actor_key_id, roles=writers_of(kind), action=action)
        request.verify(bytes(key.public_key))
    elif APPLICANT in writers_of(kind) and session.get(KeyRow, request.actor_key_id) is not None:
        raise RequestRejected(request.subject, code="key-in-use", reason="key already registered")
    problem = binding_problem(kind, payload, request)
    if problem is not None:
        raise RequestRejected(request.subject, code=problem[0], reason=problem[1])
    if session.get(RequestNonceRow, request.nonce) is not None:
        raise RequestRejected(
            request.subject, code="replay", reason="this request's nonce was used before"
        )


def append_entry(
    session: Session,
    *,
    kind: str,
    payload: Mapping[str, object],
    signer: Actor,
    policy: PayloadPolicy | None = None,
    moment: datetime | None = None,
) -> Entry:
    """Sign and append one entry inside the caller's transaction.

    Parameters
    ----------
    session
        The caller's session; the entry commits or rolls back with the state change it records.
    kind
        Entry kind: an :class:`~consortium.ledger.kinds.EntryKind` (any kebab-case token is
        accepted; the kit writes only those).
    payload
        Ids, numbers, hashes and enums only (checked by ``policy``).
    signer
        The actor's key; it must be registered, not revoked, and of a role that may sign
        ``kind`` (:data:`~consortium.ledger.kinds.WRITERS`). Or a
        :class:`~consortium.ledger.requests.Countersigned` request: the coordinator signs the
        entry, the request (embedded in the payload) must pass :func:`check_request`, and its
        nonce is recorded in the same transaction.
    policy
        Payload policy; default :func:`default_policy`.
    moment
        Entry time (tz-aware); default now.

    Raises
    ------
    PayloadRejected
        If the payload breaks the policy (nothing is written).
    SignerNotAllowed
        If the signer is not an active registered key, or its role may not sign ``kind``
        (``problem`` ``wrong-role``); nothing is written.
    RequestRejected
        A countersigned request that does not authorise this entry or was used before.

    Examples
    --------
    >>> from consortium.db import create_schema, make_engine, make_session_factory
    >>> from consortium.identity.registry import bootstrap_coordinator
    >>> engine = make_engine("sqlite://"); create_schema(engine)
    >>> coordinator = Signer.generate()
    >>> with make_session_factory(engine).begin() as session:
    ...     _ = bootstrap_coordinator(session, coordinator=coordinator)
    ...     append_entry(session, kind="round-closed", payload={"round": 1},
    ...                  signer=coordinator).seq
    1
    """
    request = signer.request if isinstance(signer, Countersigned) else None
    key = signer.coordinator if isinstance(signer, Countersigned) else signer
    if request is not None:
        payload = payload_with_request(payload, request)
    (policy or default_policy()).check(kind, payload)
    seq = _reserve_seq(session)
    if request is None:
        _check_signer(session, key, kind, payload, seq)
    else:
        active_key(session, key.key_id, roles=(Role.COORDINATOR,), action="countersign requests")
        check_request(session, request, kind=kind, payload=payload)
    entry = sign_entry(
        seq=seq, moment=moment or datetime.now(UTC), kind=kind, payload=payload, signer=key
    )
    check_time_order(session, seq=seq, time=entry.time)
    session.execute(  # Core INSERT: no identity-map growth in long transactions
        INSERT_ENTRY,
        {"seq": entry.seq, "time": entry.time, "kind": entry.kind, "actor": entry.actor,
         "payload": entry.payload.decode("utf-8"), "signature": entry.signature,
         "leaf_hash": entry.leaf_hash()},
    )  # fmt: skip
    remember_append(session, seq=seq, time=entry.time)
    if request is not None:
        _record_nonce(session, request, seq=seq)
    logger.debug("appended entry %d (%s)", seq, kind)
    return entry


def _record_nonce(session: Session, request: SignedRequest, *, seq: int) -> None:
    """Store the request's nonce (a concurrent twin fails on the primary key: ``replay``)."""
    row = {"nonce": request.nonce, "actor_key_id": request.actor_key_id, "seq": seq}
    try:
        with session.begin_nested():
            session.execute(insert(RequestNonceRow).values(**row))
    except IntegrityError as exc:
        raise RequestRejected(
            request.subject, code="replay", reason="this request's nonce was used before"
        ) from exc


def check_time_order(session: Session, *, seq: int, time: str) -> None:
    """Refuse an entry whose time is older than the entry before it (times never go back).

    ``time`` is the canonical ``format_time`` text, whose order is the order of the instants.

    Raises
    ------
    EntryOutOfOrder
        Naming the entry's seq, its time and the previous entry's time (nothing is written).
    """
    if seq == 0:
        return
    previous = previous_time(session, seq)
    if previous is not None and time < previous:
        raise EntryOutOfOrder(seq, time, previous)


def ledger_size(session: Session) -> int:
    """Return the number of committed (or own uncommitted) entries."""
    head = session.get(HeadRow, HEAD_ROW_ID)
    return 0 if head is None else head.size


def load_entries(session: Session, *, start: int = 0, stop: int | None = None) -> list[Entry]:
    """Return entries ``start <= seq < stop`` in order, as frozen :class:`Entry` values."""
    t = EntryRow.__table__.c
    query = select(t.seq, t.time, t.kind, t.payload, t.actor, t.signature).where(t.seq >= start)
    if stop is not None:
        query = query.where(t.seq < stop)
    rows = session.execute(query.order_by(t.seq))
    return [Entry(s, tm, k, p.encode("utf-8"), a, bytes(sig)) for s, tm, k, p, a, sig in rows]


def load_leaf_hashes(session: Session, *, size: int | None = None) -> list[bytes]:
    """Return the stored leaf hashes of the first ``size`` entries (default: all)."""
    t = EntryRow.__table__.c
    query = select(t.leaf_hash).order_by(t.seq)
    if size is not None:
        query = query.where(t.seq < size)
    return [bytes(h) for h in session.execute(query).scalars()]


def load_tree(session: Session, *, size: int | None = None) -> MerkleTree:
    """Build the Merkle tree of the first ``size`` entries from stored leaf hashes."""
    leaves = load_leaf_hashes(session, size=size)
    if size is not None and len(leaves) != size:
        raise LedgerError(f"ledger has {len(leaves)} entries, fewer than {size}")
    return MerkleTree(leaves)


def publish_checkpoint(
    session: Session,
    *,
    signer: Signer,
    moment: datetime | None = None,
    origin: str = DEFAULT_ORIGIN,
) -> Checkpoint:
    """Sign and store a tree head over every committed entry; ``signer`` must be a coordinator."""
    return publish_with_proof(session, signer=signer, moment=moment, origin=origin)[0]


def publish_with_proof(
    session: Session,
    *,
    signer: Signer,
    index: int | None = None,
    moment: datetime | None = None,
    origin: str = DEFAULT_ORIGIN,
    tree: MerkleTree | None = None,
    size: int | None = None,
) -> tuple[Checkpoint, list[bytes]]:
    """Sign and store a tree head over every entry; return it with entry ``index``'s audit path.

    A write through the coordinator service returns both (a receipt, as Rekor's): the client
    checks the head against the pinned coordinator key and its entry's path against the head.
    ``tree`` is a tree the caller keeps of at least the ledger's entries (default: built here);
    ``size`` the ledger's size the caller read in this transaction (default: read here).
    """
    active_key(session, signer.key_id, roles=(Role.COORDINATOR,), action="sign tree heads")
    size = ledger_size(session) if size is None else size
    tree = load_tree(session, size=size) if tree is None else tree
    checkpoint = Checkpoint.sign(
        size=size, root=tree.root(size), moment=moment or datetime.now(UTC), signer=signer,
        origin=origin,
    )  # fmt: skip
    session.execute(insert(CheckpointRow), {"size": size, "text": checkpoint.to_text()})
    logger.info("published tree head at size %d", size)
    return checkpoint, ([] if index is None else tree.inclusion_proof(index, size))


def load_checkpoints(session: Session) -> list[Checkpoint]:
    """Every stored tree head, in publication order."""
    texts = session.execute(select(CheckpointRow.text).order_by(CheckpointRow.id)).scalars()
    return [Checkpoint.from_text(text) for text in texts]


def latest_checkpoint(session: Session) -> Checkpoint | None:
    """Return the most recently published tree head."""
    text = session.execute(
        select(CheckpointRow.text).order_by(CheckpointRow.id.desc()).limit(1)
    ).scalar_one_or_none()
    return None if text is None else Checkpoint.from_text(text)


def public_keys(session: Session) -> dict[str, bytes]:
    """Every registered public key by key id (revoked ones included: old entries need them)."""
    rows = session.execute(select(KeyRow.key_id, KeyRow.public_key))
    return {key_id: bytes(public_key) for key_id, public_key in rows}
