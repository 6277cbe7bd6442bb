"""The board and market steps of ``consortium demo``, each actor through the coordinator service.

Every write here is signed on the actor's side with the key in its own folder and sent to the
service; every receipt is checked against the pinned coordinator key (the entry's signature and
its inclusion in a signed tree head). Nothing here reads the coordinator's key or database.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer

from consortium.cli.demo_flow import CARGO_OWNER, TREASURER, DemoActors
from consortium.client.onboarding import deposit_points, propose_treasurer, register_cargo_owner
from consortium.client.remote import ServiceRefused
from consortium.client.witness import keep_receipt, witness
from consortium.governance.clock import wait_until
from consortium.ledger.entry import Entry
from consortium.privacy.state import member_state_dir
from consortium.synth import ConsortiumSummary
from consortium.wire.governance import ProposalWritten

FEE_PROPOSER = "meridian-line"
TREASURER_PROPOSER = "rhine-road"
OPPOSED = "aurora-air"  # votes against, to show a tally that is not unanimous


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _state(summary: ConsortiumSummary, member: str) -> Path:
    data = (summary.out_dir / summary.member(member).file).parent
    return member_state_dir(data, member=member)  # where the federation kept its accountant


def govern(summary: ConsortiumSummary, actors: DemoActors) -> None:
    """Propose a higher lane fee and the treasurer; let the members vote; execute both.

    Every step is timed by the coordinator's real clock; the demo consortium's genesis policy has
    governance periods of seconds, and the demo waits them out.
    """
    with actors.remote(FEE_PROPOSER) as remote:
        policy = remote.policy()
        old_fee = int(policy["fees"]["lane"])
        fee = remote.propose(
            signer=actors.signer(FEE_PROPOSER), kind="fees", title="Raise the lane forecast fee",
            params={"lane_query_points": old_fee + 2,
                    "warehouse_query_points": int(policy["fees"]["warehouse"])},
        )  # fmt: skip
    keep_receipt(_state(summary, FEE_PROPOSER), fee.receipt)
    with actors.remote(TREASURER_PROPOSER) as remote:
        appoint = propose_treasurer(remote, signer=actors.signer(TREASURER_PROPOSER),
                                    treasurer_key=actors.signer(TREASURER).public_key)  # fmt: skip
    keep_receipt(_state(summary, TREASURER_PROPOSER), appoint.receipt)
    ids = [fee.proposal["proposal_id"], appoint.proposal["proposal_id"]]
    typer.echo(f"  {FEE_PROPOSER} proposes {ids[0]}: lane fee {old_fee} -> {old_fee + 2} points")
    typer.echo(f"  {TREASURER_PROPOSER} proposes {ids[1]}: appoint the treasurer's key")
    typer.echo(f"  voting opens in {policy['voting_delay_s']} s and lasts "
               f"{policy['voting_period_s']} s")  # fmt: skip
    wait_until(max(_time(fee.proposal["vote_start"]), _time(appoint.proposal["vote_start"])))
    for member in actors.members:
        support = "against" if member == OPPOSED else "for"
        with actors.remote(member) as remote:
            try:
                votes = [remote.vote(signer=actors.signer(member), proposal_id=pid,
                                     support=support) for pid in ids]  # fmt: skip
            except ServiceRefused as exc:  # no points at the snapshot: no vote
                typer.echo(f"    {member:<20} cannot vote: {exc}")
                continue
        for vote in votes:
            keep_receipt(_state(summary, member), vote.receipt)
        power = _payload(votes[0])["power"]
        typer.echo(f"    {member:<20} votes {support:<8} on both with power {power} (at the "
                   "snapshot), signed with its own key")  # fmt: skip
    with actors.remote(FEE_PROPOSER) as remote:  # anyone may ask; the coordinator's clock decides
        wait_until(max(_time(remote.proposal(pid)["deadline"]) for pid in ids))
        queued = [remote.queue(pid).proposal for pid in ids]
        typer.echo(f"  {' and '.join(ids)} queued; executable after the "
                   f"{policy['timelock_s']} s timelock")  # fmt: skip
        wait_until(max(_time(q["eta"] or q["deadline"]) for q in queued))
        for pid in ids:
            typer.echo(f"  {pid}: {remote.execute(pid).proposal['state']}")
        typer.echo(f"  the lane fee in force is now {remote.policy()['fees']['lane']} points; "
                   "the treasurer's key is registered")  # fmt: skip


def _payload(written: ProposalWritten) -> Mapping[str, Any]:
    return Entry.from_json(written.receipt.entry.model_dump()).payload_object()


def sell_forecasts(actors: DemoActors) -> None:
    """Register a cargo owner; the treasurer credits it; it buys a lane and a warehouse forecast."""
    owner = actors.signer(CARGO_OWNER)
    with actors.remote(CARGO_OWNER) as remote:
        registered = register_cargo_owner(remote, signer=owner)
    typer.echo(f"  a cargo owner registers its key by a signed request: {registered.account}")
    with actors.remote(TREASURER) as remote:
        credit = deposit_points(remote, treasurer=actors.signer(TREASURER),
                                owner_key_id=owner.key_id, amount=200,
                                external_ref="INV-DEMO-0001")  # fmt: skip
    typer.echo(f"  the treasurer credits {credit.account} with {credit.amount} points "
               f"(invoice INV-DEMO-0001): balance {credit.balance}")  # fmt: skip
    now = datetime.now(UTC)
    lane = {
        "origin": "CNSHA", "destination": "DEHAM", "mode": "sea",
        "departure_from": (now + timedelta(days=1)).replace(microsecond=0).isoformat(),
        "departure_to": (now + timedelta(days=8)).replace(microsecond=0).isoformat(),
    }  # fmt: skip
    with actors.remote(CARGO_OWNER) as remote:
        for kind, params in (
            ("lane", lane),
            ("warehouse", {"warehouse_id": "WH-DEDUI-01", "horizon_days": 7}),
        ):
            try:
                paid = remote.buy_forecast(owner=owner, kind=kind, params=params,
                                           max_price_points=50)  # fmt: skip
            except ServiceRefused as exc:  # the demo shows the refusal and goes on
                typer.echo(f"  {kind} query refused ({exc.code}), nothing charged: {exc}")
                continue
            split = ", ".join(f"{a.split(':', 1)[-1]} {p}" for a, p in sorted(paid.parts.items()))
            typer.echo(f"  {kind} query answered for {paid.fee} points: {_describe(paid.answer)}")
            typer.echo(f"    split: {split}; the cargo owner has {paid.balance_left} points left")


def witness_members(summary: ConsortiumSummary, actors: DemoActors) -> None:
    """Each member checks the newest signed head from its own state folder, as a witness."""
    for member in actors.members:
        with actors.remote(member) as remote:
            report = witness(remote, state=_state(summary, member),
                             member_key=actors.signer(member).public_key,
                             pin=actors.service.pin)  # fmt: skip
        typer.echo(
            f"  {member:<20} witness: head of {report.size} entries signed by the pinned key; "
            f"{report.own_entries} own entries proven included, {report.receipts_confirmed} "
            "receipts confirmed"
        )


def _describe(answer: Mapping[str, Any]) -> str:
    if "on_time_rate" in answer:
        from consortium.widgets.answer_card import lane_card  # noqa: PLC0415

        card = lane_card(answer, tolerances={answer["mode"]: answer["tolerance_minutes"]})
        return (
            f"{card.title}: typical transit {card.transit} ({card.interval} for "
            f"{float(answer['interval_level']):.0%} of departures), typical delay {card.delay}, "
            f"{card.on_time_label.lower()}: {card.on_time}; {card.departures}; {card.legs} pooled"
        )
    return (
        f"{answer['warehouse_id']}: stock-out risk {float(answer['p_stockout_mean']):.0%} "
        f"per SKU series within {answer['horizon_days']} days ({answer['sku_series']}+ series)"
    )
