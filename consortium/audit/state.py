"""Replay the state derived from the ledger and compare it with the coordinator's tables.

Each check replays the entries in order and raises :class:`~consortium.errors.StateDrift` for
the first entry (lowest seq) where the stored state and the replay disagree:

* points: every points entry's journal lines (:func:`consortium.points.replay.journal_lines`)
  against the stored journal at that seq, then every stored balance against the replayed one
  (named at the last entry that moved the account: the stored balance should be its state
  from there on);
* governance: every proposal's stored tally (and its vote rows) against the sum of its
  ``vote-cast`` entries (:func:`consortium.governance.tallies.tallies_from_entries`);
* policy: every stored policy version against the ``policy-changed`` entries
  (:func:`consortium.policy.model.policy_from_entries`), and so the policy in force.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from sqlalchemy import inspect, select
from sqlalchemy.orm import DeclarativeBase, Session

from consortium.errors import ConsortiumError, StateDrift, VerificationError
from consortium.governance.models import ProposalRow, VoteRow
from consortium.governance.rules import Tally
from consortium.governance.tallies import tallies_from_entries
from consortium.ledger.admission import JOIN_ACTION
from consortium.ledger.entry import Entry
from consortium.ledger.kinds import POINTS_KINDS, EntryKind
from consortium.ledger.requests import authoriser, binding_problem, embedded_request
from consortium.points.accounts import BURN_SINK, MINT_SOURCE
from consortium.points.models import AccountRow, JournalRow
from consortium.points.replay import journal_lines
from consortium.policy.model import ConsortiumPolicy, policy_from_entries
from consortium.policy.store import PolicyVersionRow

__all__ = [
    "check_balances",
    "check_derived_state",
    "check_member_signers",
    "check_policy",
    "check_tallies",
]

_MEMBER_FIELD: dict[str, str] = {
    EntryKind.VOTE_CAST: "member",
    EntryKind.PROPOSAL_CREATED: "proposer",
    EntryKind.MEMBER_EXIT_REQUESTED: "member",
}
"""The kinds a member signs for itself, and the payload field naming that member."""


def _applicant_admission(entry: Entry, admitted: Mapping[str, str]) -> bool:
    """Whether ``entry`` is an applicant's own admit proposal, opened by its join request.

    Raises
    ------
    VerificationError
        If it embeds a join request that does not authorise it (another member, key or kind;
        a forged signature) or names a member id already admitted.
    """
    request = embedded_request(entry.kind, entry.payload)
    if request is None or request.action != JOIN_ACTION:
        return False
    problem = binding_problem(entry.kind, entry.payload_object(), request)
    member = request.body.get("member_id")
    if problem is None and member in admitted:
        problem = ("member-id-taken", f"member {member!r} is already admitted")
    if problem is not None:
        raise VerificationError(
            f"a {entry.kind} entry embeds a join request that does not open it: {problem[1]}",
            index=entry.seq,
        )
    return True


def check_member_signers(entries: Sequence[Entry]) -> None:
    """Check that each vote, proposal and exit request is authorised by the member it names.

    Authorised: signed by the member's admitted key, or countersigned by the coordinator over a
    request that key signed (:func:`consortium.ledger.requests.authoriser`). The one exception
    is an applicant's ``admit-member`` proposal: its proposer is not admitted yet, and the join
    request it embeds must open exactly that proposal (:mod:`consortium.ledger.admission`).

    The role table lets any member key sign a vote; this replay (from the ``member-admitted``
    entries) makes sure it signed its own, so one member cannot vote or leave in another's name.

    Raises
    ------
    VerificationError
        At the first such entry signed by another key than the named member's admitted key.
    """
    keys: dict[str, str] = {}
    for entry in entries:
        if entry.kind == EntryKind.MEMBER_ADMITTED:
            payload = entry.payload_object()
            member, key_id = payload.get("member"), payload.get("key_id")
            if isinstance(member, str) and isinstance(key_id, str):
                keys[member] = key_id
            continue
        field = _MEMBER_FIELD.get(entry.kind)
        if field is None:
            continue
        named = entry.payload_object().get(field)
        if _applicant_admission(entry, keys):
            continue
        author = authoriser(entry.kind, entry.payload, entry.actor)
        if not isinstance(named, str) or keys.get(named) != author:
            raise VerificationError(
                f"a {entry.kind} entry for member {named!r} is signed by key "
                f"{author[:16]}..., not by that member's admitted key",
                index=entry.seq,
            )


def _has(session: Session, model: type[DeclarativeBase]) -> bool:
    """Whether the database has ``model``'s table (a ledger-only database has none of them)."""
    return inspect(session.connection()).has_table(str(model.__tablename__))


def _lines(pairs: Sequence[tuple[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for account, delta in pairs:
        out[account] = out.get(account, 0) + delta
    return {a: d for a, d in sorted(out.items()) if d}


def _replayed_lines(entry: Entry) -> dict[str, int]:
    try:
        return _lines(journal_lines(entry.kind, entry.payload_object()))
    except ConsortiumError as exc:
        raise StateDrift(entry.seq, what="points entry", stored="a malformed payload",
                         replayed=f"no journal lines ({exc})") from exc  # fmt: skip


def check_balances(session: Session, entries: Sequence[Entry]) -> None:
    """Compare the stored journal and balances with the points entries.

    Raises
    ------
    StateDrift
        At the first points entry whose stored journal lines differ, at a journal line with no
        points entry, or at the last entry that moved an account whose stored balance differs
        from the replay (``None`` for an account no entry ever moved).
    """
    journal: dict[int, list[tuple[str, int]]] = {}
    if _has(session, JournalRow):
        for seq, account, delta in session.execute(
            select(JournalRow.seq, JournalRow.account, JournalRow.delta)
        ):
            journal.setdefault(int(seq), []).append((str(account), int(delta)))
    balances: dict[str, int] = {}
    last_moved: dict[str, int] = {}
    for entry in entries:
        stored = _lines(journal.pop(entry.seq, []))
        replayed = _replayed_lines(entry) if entry.kind in POINTS_KINDS else {}
        if stored != replayed:
            raise StateDrift(entry.seq, what=f"journal lines of entry {entry.seq}",
                             stored=str(stored), replayed=str(replayed))  # fmt: skip
        for account, delta in replayed.items():
            if account in (MINT_SOURCE, BURN_SINK):
                continue
            balances[account] = balances.get(account, 0) + delta
            last_moved[account] = entry.seq
            if balances[account] < 0:
                raise StateDrift(entry.seq, what=f"balance of {account}", stored="(any)",
                                 replayed=f"{balances[account]} (overdrawn)")  # fmt: skip
    if journal:
        seq = min(journal)
        raise StateDrift(seq, what=f"journal lines of entry {seq}",
                         stored=str(_lines(journal[seq])), replayed="no points entry")  # fmt: skip
    stored_balances: dict[str, int] = {}
    if _has(session, AccountRow):
        rows = session.execute(select(AccountRow.account, AccountRow.balance))
        stored_balances = {str(a): int(b) for a, b in rows}
    drifted = [
        account for account in sorted(set(stored_balances) | set(balances))
        if stored_balances.get(account, 0) != balances.get(account, 0)
    ]  # fmt: skip
    if drifted:
        first = min(drifted, key=lambda a: (last_moved.get(a, -1), a))
        raise StateDrift(
            last_moved.get(first), what=f"balance of {first}",
            stored=str(stored_balances.get(first, 0)), replayed=str(balances.get(first, 0)),
        )  # fmt: skip


def _stored_tally(row: ProposalRow) -> Tally:
    return Tally(int(row.for_power), int(row.against_power), int(row.abstain_power))


def check_tallies(session: Session, entries: Sequence[Entry]) -> None:
    """Compare every proposal's stored tally and vote rows with its ``vote-cast`` entries.

    Raises
    ------
    StateDrift
        At the first vote entry a stored vote row contradicts, or at the last vote entry of
        the first proposal (by creation) whose stored tally differs (its creation if none).
    """
    by_seq = {e.seq: e for e in entries if e.kind == EntryKind.VOTE_CAST}
    if not (_has(session, ProposalRow) and _has(session, VoteRow)):
        if by_seq:
            first = min(by_seq)
            raise StateDrift(first, what="vote entries", stored="no governance tables",
                             replayed="votes")  # fmt: skip
        return
    votes = session.execute(
        select(VoteRow.seq, VoteRow.proposal_id, VoteRow.member, VoteRow.support, VoteRow.power)
        .order_by(VoteRow.seq)
    ).all()  # fmt: skip
    for seq, proposal_id, member, support, power in votes:
        entry = by_seq.get(int(seq))
        cast = {"proposal_id": proposal_id, "member": member, "support": support,
                "power": int(power)}  # fmt: skip
        signed = {} if entry is None else {k: entry.payload_object().get(k) for k in cast}
        if signed != cast:
            raise StateDrift(int(seq), what=f"vote row at entry {seq}",
                             stored=json.dumps(cast), replayed=json.dumps(signed))  # fmt: skip
    try:
        replayed = tallies_from_entries(entries)
    except ConsortiumError as exc:
        raise StateDrift(None, what="vote entries", stored="-", replayed=str(exc)) from exc
    rows = session.execute(select(ProposalRow).order_by(ProposalRow.created_seq)).scalars()
    for row in rows:
        ledger = replayed.get(row.proposal_id)
        tally = Tally() if ledger is None else ledger.tally
        if _stored_tally(row) != tally:
            seq = row.created_seq if ledger is None or ledger.last_seq is None else ledger.last_seq
            raise StateDrift(seq, what=f"tally of proposal {row.proposal_id}",
                             stored=str(_stored_tally(row)), replayed=str(tally))  # fmt: skip


def check_policy(session: Session, entries: Sequence[Entry]) -> None:
    """Compare every stored policy version (and so the one in force) with the entries.

    Raises
    ------
    StateDrift
        At the first ``policy-changed`` entry whose stored version differs or is missing, or
        at a stored version that no ``policy-changed`` entry recorded.
    """
    changes = [e for e in entries if e.kind == EntryKind.POLICY_CHANGED]
    stored: dict[int, str] = {}
    if _has(session, PolicyVersionRow):
        rows = session.execute(select(PolicyVersionRow.seq, PolicyVersionRow.parameters))
        stored = {int(seq): str(parameters) for seq, parameters in rows}
    for number, entry in enumerate(changes):
        try:
            replayed = policy_from_entries(changes[: number + 1]).to_dict()
        except ConsortiumError as exc:
            raise StateDrift(entry.seq, what="policy change", stored="-",
                             replayed=str(exc)) from exc  # fmt: skip
        text = stored.pop(entry.seq, None)
        found = None if text is None else ConsortiumPolicy.from_dict(json.loads(text)).to_dict()
        if found != replayed:
            raise StateDrift(entry.seq, what=f"policy version at entry {entry.seq}",
                             stored=str(found), replayed=str(replayed))  # fmt: skip
    if stored:
        seq = min(stored)
        raise StateDrift(seq, what=f"policy version at entry {seq}", stored=stored[seq],
                         replayed="no policy-changed entry")  # fmt: skip


def check_derived_state(session: Session, entries: Sequence[Entry]) -> None:
    """Run every replay check; the first disagreement (lowest seq across checks) is raised.

    Raises
    ------
    StateDrift
        The disagreement at the lowest seq.
    """
    found: list[StateDrift] = []
    for check in (check_balances, check_tallies, check_policy):
        try:
            check(session, entries)
        except StateDrift as exc:
            found.append(exc)
    if found:
        raise min(found, key=lambda e: (e.index is None, e.index or 0))
