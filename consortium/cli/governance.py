"""`consortium propose|vote|execute` and `consortium proposals ...` (``members``: cli/members.py).

Each command opens one transaction on the coordinator's database (``--db`` or
``CONSORTIUM_DATABASE_URL``) and signs with the key file given by ``--key`` (prompting for its
passphrase when it is encrypted). Proposing, voting, queueing, cancelling and executing are timed
by the coordinator's clock; no option sets their time. The logic lives in
:mod:`consortium.governance` and :mod:`consortium.membership`; these commands only parse and
print.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from consortium.cli.database import DbOption, load_key
from consortium.cli.errors import reported_errors
from consortium.cli.members import members_app
from consortium.cli.service_options import CaOption, CoordinatorOption, PinOption, open_remote
from consortium.errors import ConfigError, GovernanceError
from consortium.governance.rules import BPS, ProposalKind, Support, quorum
from consortium.ledger.canonical import format_time

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from consortium.governance.models import ProposalRecord

proposals_app = typer.Typer(
    help="List, inspect, queue and cancel board proposals.", no_args_is_help=True
)

KeyOption = Annotated[
    Path, typer.Option("--key", help="Your Ed25519 private key file (prompts if encrypted).")
]
NowOption = Annotated[
    str | None,
    typer.Option("--now", hidden=True, help="Show states as at this ISO 8601 time (read only)."),
]
"""Read-only commands only: what changes the ledger is timed by the coordinator's clock."""
ProposalArg = Annotated[str, typer.Argument(help="Proposal id (p-...).")]


def _session_factory(db: str | None, *, read_only: bool = False) -> sessionmaker[Session]:
    from consortium.cli.database import open_database

    return open_database(db, read_only=read_only)


def _now(now: str | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(now)
    except ValueError as exc:
        raise ConfigError("--now", "not an ISO 8601 time") from exc
    if moment.tzinfo is None:
        raise ConfigError("--now", "needs a UTC offset (Z or +hh:mm)")
    return moment


def _pct(bps: int) -> str:
    return f"{bps * 100 / BPS:.2f} %"


def _line(record: ProposalRecord, now: datetime) -> str:
    t = record.tally
    return (
        f"{record.proposal_id}  {record.kind:<17} {record.state(now=now)!s:<9} "
        f"for={t.for_power} against={t.against_power} abstain={t.abstain_power}  "
        f"deadline {format_time(record.deadline)}"
    )


def propose(
    kind: Annotated[ProposalKind, typer.Option("--kind", help="What the proposal changes.")],
    title: Annotated[str, typer.Option("--title", help="Short title (3-200 characters).")],
    key: KeyOption,
    params: Annotated[
        str,
        typer.Option(
            "--params",
            help="The kind's params as JSON, e.g. "
            '\'{"lane_query_points": 12, "warehouse_query_points": 30}\'.',
        ),
    ] = "{}",
    member: Annotated[
        str | None, typer.Option("--member", help="admit-member/remove-member: the member id.")
    ] = None,
    public_key: Annotated[
        Path | None, typer.Option("--public-key", help="admit-member: the new member's .pub file.")
    ] = None,
    description: Annotated[str, typer.Option("--description", help="Longer text.")] = "",
    db: DbOption = None,
    coordinator: CoordinatorOption = None,
    pin: PinOption = None,
    ca: CaOption = None,
) -> None:
    """Propose a change to the board (signed with your member key; timed by the coordinator).

    --params takes the names `policy show` prints (e.g. max_epsilon_per_round); a param the kind
    does not take is an error listing those it does.
    """
    from consortium.cli import proposal_params
    from consortium.governance.store import create_proposal
    from consortium.identity.keys import load_public_key

    with reported_errors():
        try:
            values: dict[str, Any] = json.loads(params)
        except json.JSONDecodeError as exc:
            raise ConfigError("--params", f"not JSON: {exc.msg}") from exc
        if not isinstance(values, dict):
            raise ConfigError("--params", "must be a JSON object")
        if member is not None:
            values["member_id"] = member
        values, notes = proposal_params.to_message(str(kind), values)
        for note in notes:
            typer.secho(f"note: {note}", err=True, fg=typer.colors.YELLOW)
        raw_key = load_public_key(public_key) if public_key is not None else None
        signer = load_key(key)
        if coordinator is not None:
            with open_remote(coordinator, pin, ca) as remote:
                written = remote.propose(signer=signer, kind=str(kind), params=values,
                                         title=title, description=description,
                                         public_key=raw_key)  # fmt: skip
            view = written.proposal
            typer.echo(f"proposal {view['proposal_id']} ({view['kind']}) at ledger entry "
                       f"{written.receipt.entry.seq} (receipt checked)")  # fmt: skip
            typer.echo(f"voting opens after {view['vote_start']} and closes {view['deadline']}")
            return
        with _session_factory(db).begin() as session:
            try:
                record = create_proposal(
                    session, kind=kind, params=values, title=title, description=description,
                    signer=signer, public_key=raw_key,
                )  # fmt: skip
            except GovernanceError as exc:
                raise proposal_params.explained(exc, str(kind)) from exc
    typer.echo(
        f"proposal {record.proposal_id} ({record.kind}) at ledger entry {record.created_seq}"
    )
    typer.echo(
        f"voting opens after {format_time(record.vote_start)} and closes "
        f"{format_time(record.deadline)}; quorum {_pct(record.timeline.quorum_bps)}, "
        f"power cap {_pct(record.vote_power_cap_bps)}"
    )


def vote(
    proposal: Annotated[str, typer.Option("--proposal", help="Proposal id (p-...).")],
    support: Annotated[Support, typer.Option("--support", help="for, against or abstain.")],
    key: KeyOption,
    comment: Annotated[
        str | None, typer.Option("--comment", help="Optional remark (kept off the ledger).")
    ] = None,
    db: DbOption = None,
    coordinator: CoordinatorOption = None,
    pin: PinOption = None,
    ca: CaOption = None,
) -> None:
    """Cast your member's vote (signed with your key; timed by the coordinator's clock)."""
    from consortium.governance.store import cast_vote

    with reported_errors():
        signer = load_key(key)
        if coordinator is not None:
            with open_remote(coordinator, pin, ca) as remote:
                written = remote.vote(signer=signer, proposal_id=proposal, support=str(support),
                                      comment=comment)  # fmt: skip
            tally = written.proposal
            typer.echo(f"voted {support} on {proposal} at ledger entry {written.receipt.entry.seq}"
                       f" (receipt checked); for={tally['for_power']} "
                       f"against={tally['against_power']} abstain={tally['abstain_power']}")
            return
        with _session_factory(db).begin() as session:
            cast = cast_vote(session, proposal_id=proposal, support=support, signer=signer,
                             comment=comment)  # fmt: skip
    typer.echo(
        f"{cast.member} voted {cast.support} on {cast.proposal_id} with power {cast.power} "
        f"(point balance at the snapshot, ledger entry {cast.snapshot_seq}, after the cap)"
    )


def execute(proposal: ProposalArg, key: KeyOption, db: DbOption = None) -> None:
    """Execute a queued proposal whose timelock has passed (coordinator key)."""
    from consortium.governance.execution import execute_proposal

    with reported_errors():
        signer = load_key(key)
        with _session_factory(db).begin() as session:
            record = execute_proposal(session, proposal_id=proposal, signer=signer)
    typer.echo(
        f"executed {record.proposal_id} ({record.kind}) at ledger entry {record.executed_seq}"
    )


@proposals_app.command("list")
def list_cmd(db: DbOption = None, now: NowOption = None) -> None:
    """List proposals, newest first, with their state and tally."""
    from consortium.governance.store import list_proposals

    with reported_errors(), _session_factory(db, read_only=True).begin() as session:
        records = list_proposals(session)
    moment = _now(now)
    for record in records:
        typer.echo(_line(record, moment))
    if not records:
        typer.echo("no proposals yet")


@proposals_app.command("show")
def show(
    proposal: ProposalArg,
    member: Annotated[
        str | None, typer.Option("--member", help="Also show this member's power.")
    ] = None,
    db: DbOption = None,
    now: NowOption = None,
) -> None:
    """Show one proposal: params, timeline, snapshot, and every vote with its power."""
    from consortium.cli.proposal_params import for_people
    from consortium.governance.store import get_proposal, votes, voting_power

    with reported_errors(), _session_factory(db, read_only=True).begin() as session:
        record = get_proposal(session, proposal)
        cast = votes(session, proposal)
        power = voting_power(session, proposal, member) if member is not None else None
    moment = _now(now)
    fixed = "" if record.snapshot_fixed else " (provisional until the first vote)"
    typer.echo(_line(record, moment))
    typer.echo(f"title: {record.title}")
    if record.description:
        typer.echo(f"description: {record.description}")
    shown = for_people(str(record.kind), record.params)
    typer.echo(f"proposer: {record.proposer}; params: {json.dumps(shown)}")
    typer.echo(
        f"voting: after {format_time(record.vote_start)} until {format_time(record.deadline)}"
    )
    typer.echo(
        f"snapshot: ledger entry {record.snapshot_seq}{fixed}; total power {record.total_power}"
    )
    if record.eta is not None:
        typer.echo(f"executable from {format_time(record.eta)}")
    for v in cast:
        typer.echo(f"  {v.member:<24} {v.support!s:<8} power {v.power}  (entry {v.seq})")
    if member is not None:
        typer.echo(f"power of {member} at the snapshot: {power}")


@proposals_app.command("tally")
def tally_cmd(proposal: ProposalArg, db: DbOption = None, now: NowOption = None) -> None:
    """Show the tally against the quorum and the majority rule."""
    from consortium.governance.store import get_proposal

    with reported_errors(), _session_factory(db, read_only=True).begin() as session:
        record = get_proposal(session, proposal)
    t = record.tally
    needed = quorum(record.total_power, quorum_bps=record.timeline.quorum_bps)
    typer.echo(f"for {t.for_power}, against {t.against_power}, abstain {t.abstain_power}")
    majority = "yes" if t.for_power > t.against_power else "no"
    typer.echo(
        f"quorum {needed} of total power {record.total_power} (for + abstain: "
        f"{t.for_power + t.abstain_power}); majority: {majority}"
    )
    typer.echo(f"state: {record.state(now=_now(now))}")


@proposals_app.command("queue")
def queue(proposal: ProposalArg, key: KeyOption, db: DbOption = None) -> None:
    """Queue a succeeded proposal; it becomes executable after the timelock (coordinator key)."""
    from consortium.governance.store import queue_proposal

    with reported_errors():
        signer = load_key(key)
        with _session_factory(db).begin() as session:
            record = queue_proposal(session, proposal_id=proposal, signer=signer)
    eta = format_time(record.eta) if record.eta is not None else "-"
    typer.echo(f"queued {record.proposal_id}; executable from {eta}")


@proposals_app.command("cancel")
def cancel(proposal: ProposalArg, key: KeyOption, db: DbOption = None) -> None:
    """Withdraw your own proposal before voting opens (proposer's key)."""
    from consortium.governance.store import cancel_proposal

    with reported_errors():
        signer = load_key(key)
        with _session_factory(db).begin() as session:
            record = cancel_proposal(session, proposal_id=proposal, signer=signer)
    typer.echo(f"canceled {record.proposal_id}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("propose")(propose)
    app.command("vote")(vote)
    app.command("execute")(execute)
    app.add_typer(proposals_app, name="proposals")
    app.add_typer(members_app, name="members")
