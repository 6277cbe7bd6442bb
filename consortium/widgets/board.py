"""The board's panels: the policy in force, a proposal's timeline and tally, and a ballot.

Every vote is cast through :mod:`consortium.client.board`, signed with the voter's own key and
timed by the coordinator's clock. The panels show states at their ``clock`` (default: now, UTC).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import datetime

import ipywidgets as widgets

from consortium.client.board import (
    ConsortiumPolicy,
    ProposalRecord,
    Support,
    VoteRecord,
    cast_vote,
    get_proposal,
    quorum_needed,
    voting_powers,
)
from consortium.client.connection import Coordinator
from consortium.client.keys import Signer
from consortium.errors import ConsortiumError
from consortium.widgets.formatting import GREEN, RED, Clock, facts_table, now_utc, setting, table
from consortium.widgets.units import bps_percent, duration, seconds_text


def _for_people(key: str, value: object) -> str:
    """Show a policy value in people's units: durations, percentages, points, tolerances."""
    if key == "fees" and isinstance(value, Mapping):
        return html.escape(", ".join(f"{k} {v} points" for k, v in value.items()))
    if key == "on_time_tolerance_minutes" and isinstance(value, Mapping):
        return html.escape(", ".join(f"{mode} {duration(float(v), unit='days')}"
                                     for mode, v in value.items()))  # fmt: skip
    if isinstance(value, int) and not isinstance(value, bool):
        if key.endswith("_s"):
            return html.escape(seconds_text(value))
        if key.endswith("_bps"):
            return html.escape(bps_percent(value))
    return setting(value)


def policy_html(policy: ConsortiumPolicy, *, before: ConsortiumPolicy | None = None) -> str:
    """Render the board-set parameters; with ``before``, show both and highlight changes.

    Names as ``policy show`` prints them; values for people (``3 days``, ``10 %``, ``1 h``).
    """
    now, old = policy.to_dict(), before.to_dict() if before is not None else None
    rows = []
    for key, value in now.items():
        changed = old is not None and old.get(key) != value
        shown = _for_people(key, value)
        row = [html.escape(key), f"<b style='color:{GREEN}'>{shown}</b>" if changed else shown]
        if old is not None:
            row.insert(1, _for_people(key, old.get(key)))
        rows.append(row)
    header = ("parameter", "before", "now") if old is not None else ("parameter", "value")
    return table(header, rows)


def proposal_html(record: ProposalRecord, *, now: datetime) -> str:
    """Render a proposal: params, state at ``now``, timeline and tally against the quorum."""
    tally = record.tally
    params = ", ".join(f"{k}={v}" for k, v in record.params.items())
    facts = [
        ("proposal", f"<code>{record.proposal_id}</code> {html.escape(record.title)}"),
        ("kind", f"{record.kind}: {html.escape(params)}"),
        ("proposed by", html.escape(record.proposer)),
        ("state", f"<b>{record.state(now=now)}</b> at {now:%Y-%m-%d %H:%M} UTC"),
        ("voting", (f"opens after {record.vote_start:%Y-%m-%d %H:%M}, closes "
                    f"{record.deadline:%Y-%m-%d %H:%M} UTC")),
        ("snapshot", f"ledger entry {record.snapshot_seq}"
                     + ("" if record.snapshot_fixed else " (fixed by the first vote)")),
        ("tally", (f"for {tally.for_power}, against {tally.against_power}, abstain "
                   f"{tally.abstain_power} of {record.total_power} "
                   f"(quorum {quorum_needed(record)})")),
        ("executable from", "–" if record.eta is None else f"{record.eta:%Y-%m-%d %H:%M} UTC"),
    ]  # fmt: skip
    return facts_table(facts)


class BallotPanel:
    """Each voter's power at a proposal's snapshot, a choice per voter, and a button to vote.

    Every vote is signed with the voter's own key in its own transaction; a refused vote (closed
    voting, no power at the snapshot, a second vote) is shown with its reason and writes nothing.

    Parameters
    ----------
    coordinator
        The coordinator handle (:mod:`consortium.client`).
    proposal_id
        The proposal to vote on.
    voters
        Member id -> that member's signing key.
    default, choices
        The choice preselected for every voter, and per-voter exceptions.
    clock
        The time the proposal's state is shown at (default: now, UTC); votes are timed by the
        coordinator's clock, never by this one.

    Examples
    --------
    >>> # panel = BallotPanel(coordinator, proposal_id=pid, voters={"rhine-road": rhine_key})
    >>> # display(panel.widget); panel.cast()  # -> [VoteRecord(...)]
    """

    def __init__(
        self,
        coordinator: Coordinator,
        *,
        proposal_id: str,
        voters: Mapping[str, Signer],
        default: Support | str = Support.FOR,
        choices: Mapping[str, Support | str] | None = None,
        clock: Clock = now_utc,
    ) -> None:
        self.coordinator, self.proposal_id, self.voters, self.clock = (
            coordinator, proposal_id, dict(voters), clock,
        )  # fmt: skip
        self.choices = {
            member: widgets.ToggleButtons(
                options=[s.value for s in Support],
                value=Support((choices or {}).get(member, default)).value,
                description=member, style={"description_width": "160px"},
            )
            for member in self.voters
        }  # fmt: skip
        self.proposal = widgets.HTML()
        self.button = widgets.Button(description="Cast votes", button_style="primary")
        self.result = widgets.HTML()
        self.button.on_click(lambda _: self.cast())
        self.widget = widgets.VBox(
            [self.proposal, *self.choices.values(), self.button, self.result]
        )
        self.refresh()

    def powers(self) -> dict[str, int]:
        """Each voter's capped voting power at the proposal's snapshot."""
        return voting_powers(self.coordinator, proposal_id=self.proposal_id, members=self.voters)

    def refresh(self) -> ProposalRecord:
        """Show the proposal as it stands now and each voter's power; return it."""
        powers = self.powers()
        record = get_proposal(self.coordinator, self.proposal_id)
        rows = ([html.escape(m), f"{p:,}"] for m, p in powers.items())
        self.proposal.value = (
            proposal_html(record, now=self.clock())
            + f"<h4>Voting power at the snapshot (entry {record.snapshot_seq})</h4>"
            + table(("member", "power (capped points)"), rows)
        )
        return record

    def cast(self) -> list[VoteRecord]:
        """Cast every voter's chosen vote (timed by the coordinator); show the votes counted."""
        cast: list[VoteRecord] = []
        refused: list[str] = []
        for member, signer in self.voters.items():
            try:
                cast.append(
                    cast_vote(
                        self.coordinator,
                        signer=signer,
                        proposal_id=self.proposal_id,
                        support=self.choices[member].value,
                    )  # fmt: skip
                )
            except ConsortiumError as exc:
                refused.append(f"<li>{html.escape(member)}: {html.escape(exc.diagnostics())}</li>")
        rows = ([html.escape(v.member), str(v.support), f"{v.power:,}", str(v.seq)] for v in cast)
        self.result.value = table(("member", "vote", "power", "ledger entry"), rows) + (
            f"<p style='color:{RED}'>Refused:</p><ul>{''.join(refused)}</ul>" if refused else ""
        )
        self.refresh()
        return cast
