"""ipywidgets panels for the member, board and cargo-owner notebooks (an edge: thin over the API).

Each panel is a small class holding its widgets and one action method, so a notebook can both show
it (``display(panel.widget)``) and drive it non-interactively when executed headless by papermill
or nbmake:

* :class:`ValidationPanel` checks a file against a data contract (``panel.validate()``);
* :class:`FederationPanel` follows a federated run live: pass ``on_event=panel.on_event`` to
  :func:`consortium.federation.runner.federate`;
* :class:`BallotPanel` shows each voter's power at a proposal's snapshot and casts their votes,
  each signed with the voter's own key (``panel.cast()``);
* :class:`LaneQueryPanel` buys a lane forecast for a cargo owner (``panel.ask()``).

Times come from a ``clock`` (default: now, UTC) so a notebook can walk a proposal through its
voting delay, voting period and timelock in seconds.
"""

from __future__ import annotations

import html
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import ipywidgets as widgets
import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from consortium.data import ValidationReport, validate_file
from consortium.errors import ConsortiumError
from consortium.forecasts.messages import new_query, sign_query
from consortium.governance.models import ProposalRecord, VoteRecord
from consortium.governance.rules import Support, quorum
from consortium.governance.store import cast_vote, get_proposal, voting_power
from consortium.ledger.signing import Signer
from consortium.points.store import balance
from consortium.policy.model import ConsortiumPolicy
from consortium.schemas import available_contracts

if TYPE_CHECKING:  # the federation and query modules import torch: load them only when used
    from consortium.forecasts.service import PaidAnswer, QueryService
    from consortium.rounds import FederationEvent, RoundReport

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
_RED, _GREEN, _AMBER = "#b00020", "#1b7f3b", "#b26a00"
_STATUS_COLOURS = {"ok": _GREEN, "degraded": _AMBER, "failed": _RED}
_TABLE = "<table style='border-collapse:collapse'>{}</table>"


def _now() -> datetime:
    return datetime.now(UTC)


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    """Return an HTML table of already escaped cells."""
    cell = "<{0} style='padding:2px 10px;text-align:left;border-bottom:1px solid #ddd'>{1}</{0}>"
    head = "".join(cell.format("th", h) for h in header)
    body = "".join("<tr>" + "".join(cell.format("td", c) for c in row) + "</tr>" for row in rows)
    return _TABLE.format(f"<tr>{head}</tr>{body}")


def _error_html(exc: ConsortiumError) -> str:
    return f"<p style='color:{_RED}'>{html.escape(exc.diagnostics())}</p>"


def _number(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else "∞"


def _setting(value: object) -> str:
    """Show a policy value; a mapping (the fee schedule) as ``lane 10, warehouse 25``."""
    if isinstance(value, Mapping):
        return html.escape(", ".join(f"{k} {v}" for k, v in value.items()))
    return html.escape(str(value))


# ------------------------------------------------------------------------------- data contracts
def report_html(report: ValidationReport) -> str:
    """Render a validation report as a short HTML summary."""
    status = "meets" if report.valid else "breaks"
    colour = _GREEN if report.valid else _RED
    parts = [
        (
            f"<p style='color:{colour}'><b>{html.escape(report.source.name)}</b> {status} "
            f"contract <code>{report.contract}.v{report.version}</code> "
            f"({report.n_rows:,} rows checked).</p>"
        )
    ]
    if report.dropped_columns:
        cols = ", ".join(html.escape(c) for c in report.dropped_columns)
        parts.append(f"<p>Not in the contract, dropped at load (data minimisation): {cols}</p>")
    if report.personal_columns:
        cols = ", ".join(html.escape(c) for c in report.personal_columns)
        parts.append(f"<p>Personal fields, never sent to a model or the ledger: {cols}</p>")
    if report.problems:
        rows = "".join(f"<li>{html.escape(str(p))}</li>" for p in report.problems)
        hidden = report.total - len(report.problems)
        more = f"<p>... and {hidden} more problems</p>" if hidden > 0 else ""
        parts.append(f"<ol>{rows}</ol>{more}")
    return "".join(parts)


class ValidationPanel:
    """Pick a file and a contract, check the file, and see every problem with its location.

    Examples
    --------
    >>> from consortium.config import REPO_ROOT
    >>> panel = ValidationPanel(REPO_ROOT / "data_schemas/examples/legs.valid.csv", contract="legs")
    >>> panel.validate().valid
    True
    """

    def __init__(self, path: Path | str = "", *, contract: str = "legs") -> None:
        self.path = widgets.Text(value=str(path), description="File", layout={"width": "60%"})
        self.contract = widgets.Dropdown(
            options=sorted(available_contracts()), value=contract, description="Contract"
        )
        self.button = widgets.Button(description="Validate", button_style="primary")
        self.result = widgets.HTML()
        self.button.on_click(lambda _: self.validate())
        self.widget = widgets.VBox(
            [widgets.HBox([self.path, self.contract, self.button]), self.result]
        )

    def validate(self) -> ValidationReport | None:
        """Check the chosen file; show the report (or the error) and return it."""
        try:
            report = validate_file(self.path.value, contract=self.contract.value)
        except ConsortiumError as exc:
            self.result.value = _error_html(exc)
            return None
        self.result.value = report_html(report)
        return report


# ------------------------------------------------------------------------------- federation
def _get(report: RoundReport | Mapping[str, object], name: str) -> object:
    return report[name] if isinstance(report, Mapping) else getattr(report, name)


def rounds_html(reports: Iterable[RoundReport]) -> str:
    """Render one row per round: status, members reporting, loss, ε spent, who sat out."""
    rows = []
    for r in reports:
        colour = _STATUS_COLOURS.get(r.status, _RED)
        status = f"<b style='color:{colour}'>{html.escape(r.status)}</b>"
        if r.code:
            status += f" <code>{html.escape(r.code)}</code>"
        if r.failures:
            status += f" ({len(r.failures)} dropped)"
        spent = "<br>".join(
            f"{html.escape(m)} {_number(e)}" for m, e in sorted(r.epsilon_spent.items())
        )
        rows.append([
            str(r.server_round), status, f"{r.members_aggregated}/{r.members_total}",
            "–" if r.loss is None else f"{r.loss:.4f}", spent or "–",
            html.escape(", ".join(r.sat_out)) or "–", f"{r.seconds:.1f} s",
        ])  # fmt: skip
    header = ("round", "status", "members reporting", "loss", "ε spent (total so far)",
              "sat out", "time")  # fmt: skip
    return _table(header, rows)


def metrics_html(metrics: Mapping[str, Mapping[str, float]]) -> str:
    """Render per-member test metrics: test rows first, then every metric reported."""
    keys = sorted({k for m in metrics.values() for k in m} - {"n", "test_rows", "epsilon_spent"})
    header = ["member", "test rows", *keys]
    if any("epsilon_spent" in m for m in metrics.values()):
        header.append("ε spent")
        keys.append("epsilon_spent")
    rows = [
        [html.escape(member), f"{int(values.get('test_rows', 0)):,}"]
        + [_number(values[k]) if k in values else "–" for k in keys]
        for member, values in sorted(metrics.items())
    ]
    return _table(header, rows)


def epsilon_by_round(reports: Iterable[RoundReport | Mapping[str, object]]) -> pd.DataFrame:
    """Return ε spent so far by each member after each round (rows: rounds, columns: members).

    Accepts :class:`~consortium.federation.server_app.RoundReport` objects or the
    ``round_reports`` of a model card. A member missing from a round (a failed round, a dropout)
    is ``NaN`` there.

    Examples
    --------
    >>> epsilon_by_round([{"server_round": 1, "epsilon_spent": {"a": 1.5}},
    ...                   {"server_round": 2, "epsilon_spent": {"a": 2.5}}])["a"].tolist()
    [1.5, 2.5]
    """
    data = {
        int(_get(r, "server_round")): dict(_get(r, "epsilon_spent"))  # type: ignore[call-overload, arg-type]
        for r in reports
    }
    frame = pd.DataFrame.from_dict(data, orient="index", dtype=float).sort_index()
    frame.index.name = "round"
    frame.columns.name = "member"
    return frame.reindex(columns=sorted(frame.columns))


def model_card_html(card: Mapping[str, object]) -> str:
    """Summarise a federated model's card: what was trained, by how many, ε spent, metrics."""
    fed: Mapping[str, object] = card.get("federation", {})  # type: ignore[assignment]
    privacy: Mapping[str, object] = card.get("privacy", {})  # type: ignore[assignment]
    facts = [
        ("model", f"{card.get('name')} ({card.get('kind')})"),
        ("version", f"<code>{str(card.get('model_version', ''))[:16]}…</code>"),
        ("members", str(fed.get("members", "–"))),
        ("rounds", f"{fed.get('rounds', '–')} × {fed.get('local_epochs', '–')} local epoch(s)"),
        ("secure aggregation", html.escape(str(fed.get("secure_aggregation", "–")))),
        ("privacy", html.escape(str(privacy.get("mechanism", "–")))),
        ("not covered by ε", html.escape(str(privacy.get("not_covered_by_epsilon", "–")))),
    ]
    parts = [_table(("", ""), ([f"<b>{k}</b>", v] for k, v in facts))]
    spent: Mapping[str, float] = privacy.get("epsilon_spent", {})  # type: ignore[assignment]
    if spent:
        parts.append("<h4>ε spent per member</h4>")
        parts.append(_table(("member", "ε"), ([html.escape(m), _number(e)]
                                              for m, e in sorted(spent.items()))))  # fmt: skip
    metrics: Mapping[str, Mapping[str, float]] = card.get("metrics_per_member", {})  # type: ignore[assignment]
    if metrics:
        parts.append(f"<h4>Test metrics ({html.escape(str(card.get('evaluated_on', '')))})</h4>")
        parts.append(metrics_html(metrics))
    return "".join(parts)


class FederationPanel:
    """Live progress of a federated run: a bar over the stages, a row per round, then metrics.

    The stages are the secure sum of statistics, rounds 1..R, calibration and evaluation. After
    each round the table shows its status (``ok``, ``degraded``, ``failed``), how many members
    reported, the mean loss, the ε each member has spent so far and who sat out; after the
    evaluation, each member's test metrics.

    Parameters
    ----------
    rounds
        Rounds expected (the bar's length); the first event corrects it.

    Examples
    --------
    >>> from consortium.rounds import FederationEvent
    >>> panel = FederationPanel(rounds=2)
    >>> panel.on_event(FederationEvent("statistics", 0, 2, detail={"members": 3}))
    >>> panel.progress.value, panel.progress.max
    (1, 5)
    """

    def __init__(self, *, rounds: int = 1) -> None:
        self.progress = widgets.IntProgress(
            value=0, min=0, max=rounds + 3, description="Federation", bar_style="info"
        )
        self.stage = widgets.HTML("waiting for the coordinator…")
        self.table = widgets.HTML(rounds_html(()))
        self.metrics = widgets.HTML()
        self.widget = widgets.VBox(
            [widgets.HBox([self.progress, self.stage]), self.table, self.metrics]
        )
        self.reports: list[RoundReport] = []
        self.member_metrics: dict[str, dict[str, float]] = {}

    def on_event(self, event: FederationEvent) -> None:
        """Show one :class:`~consortium.federation.server_app.FederationEvent`."""
        self.progress.max = event.rounds + 3
        members = event.detail.get("members", "?")
        if event.stage == "statistics":
            step, text = 1, f"statistics: secure sum over {members} members"
        elif event.stage == "round" and event.report is not None:
            report = event.report
            self.reports = [r for r in self.reports if r.server_round != report.server_round]
            self.reports.append(report)
            self.reports.sort(key=lambda r: r.server_round)
            self.table.value = rounds_html(self.reports)
            step = 1 + event.server_round
            text = f"round {event.server_round}/{event.rounds}: {report.status}"
        elif event.stage == "calibration":
            step, text = event.rounds + 2, f"calibration: secure sum over {members} members"
        elif event.stage == "evaluation":
            self.member_metrics = {
                m: dict(v) for m, v in dict(event.detail.get("metrics", {})).items()
            }
            self.metrics.value = "<h4>Test metrics per member</h4>" + metrics_html(
                self.member_metrics
            )
            step, text = event.rounds + 3, "done: evaluated on every member's test rows"
        else:
            logger.debug("ignoring federation event %s", event.stage)
            return
        self.progress.value = min(step, self.progress.max)
        troubled = any(r.status != "ok" for r in self.reports)
        done = self.progress.value == self.progress.max
        self.progress.bar_style = "warning" if troubled else ("success" if done else "info")
        self.stage.value = html.escape(text)


# ------------------------------------------------------------------------------- governance
def policy_html(policy: ConsortiumPolicy, *, before: ConsortiumPolicy | None = None) -> str:
    """Render the board-set parameters; with ``before``, show both and highlight changes."""
    now, old = policy.to_dict(), before.to_dict() if before is not None else None
    rows = []
    for key, value in now.items():
        changed = old is not None and old.get(key) != value
        shown = _setting(value)
        row = [html.escape(key), f"<b style='color:{_GREEN}'>{shown}</b>" if changed else shown]
        if old is not None:
            row.insert(1, _setting(old.get(key)))
        rows.append(row)
    header = ("parameter", "before", "now") if old is not None else ("parameter", "value")
    return _table(header, rows)


def proposal_html(record: ProposalRecord, *, now: datetime) -> str:
    """Render a proposal: params, state at ``now``, timeline and tally against the quorum."""
    needed = quorum(record.total_power, quorum_bps=record.timeline.quorum_bps)
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
                   f"{tally.abstain_power} of {record.total_power} (quorum {needed})")),
        ("executable from", "–" if record.eta is None else f"{record.eta:%Y-%m-%d %H:%M} UTC"),
    ]  # fmt: skip
    return _table(("", ""), ([f"<b>{k}</b>", v] for k, v in facts))


class BallotPanel:
    """Each voter's power at a proposal's snapshot, a choice per voter, and a button to vote.

    Every vote is signed with the voter's own key in its own transaction; a refused vote (closed
    voting, no power at the snapshot, a second vote) is shown with its reason and writes nothing.

    Parameters
    ----------
    factory
        Session factory of the coordinator database.
    proposal_id
        The proposal to vote on.
    voters
        Member id -> that member's signing key.
    default, choices
        The choice preselected for every voter, and per-voter exceptions.
    clock
        Returns the time votes are cast at (default: now, UTC).

    Examples
    --------
    >>> # panel = BallotPanel(factory, proposal_id=pid, voters={"rhine-road": rhine_key})
    >>> # display(panel.widget); panel.cast()  # -> [VoteRecord(...)]
    """

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        proposal_id: str,
        voters: Mapping[str, Signer],
        default: Support | str = Support.FOR,
        choices: Mapping[str, Support | str] | None = None,
        clock: Clock = _now,
    ) -> None:
        self.factory, self.proposal_id, self.voters, self.clock = (
            factory, proposal_id, dict(voters), clock,
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
        with self.factory.begin() as session:
            return {m: voting_power(session, self.proposal_id, m) for m in self.voters}

    def refresh(self) -> ProposalRecord:
        """Show the proposal as it stands now and each voter's power; return it."""
        powers = self.powers()
        with self.factory.begin() as session:
            record = get_proposal(session, self.proposal_id)
        rows = ([html.escape(m), f"{p:,}"] for m, p in powers.items())
        self.proposal.value = (
            proposal_html(record, now=self.clock())
            + f"<h4>Voting power at the snapshot (entry {record.snapshot_seq})</h4>"
            + _table(("member", "power (capped points)"), rows)
        )
        return record

    def cast(self) -> list[VoteRecord]:
        """Cast every voter's chosen vote at ``clock()``; show and return the votes counted."""
        now, cast, refused = self.clock(), [], []
        for member, signer in self.voters.items():
            try:
                with self.factory.begin() as session:
                    cast.append(
                        cast_vote(session, proposal_id=self.proposal_id, signer=signer, now=now,
                                  support=self.choices[member].value)  # fmt: skip
                    )
            except ConsortiumError as exc:
                refused.append(f"<li>{html.escape(member)}: {html.escape(exc.diagnostics())}</li>")
        rows = ([html.escape(v.member), str(v.support), f"{v.power:,}", str(v.seq)] for v in cast)
        self.result.value = _table(("member", "vote", "power", "ledger entry"), rows) + (
            f"<p style='color:{_RED}'>Refused:</p><ul>{''.join(refused)}</ul>" if refused else ""
        )
        self.refresh()
        return cast


# ------------------------------------------------------------------------------- paid queries
def paid_answer_html(paid: PaidAnswer, *, balance_left: int | None = None) -> str:
    """Render the answer a cargo owner bought, the fee it paid and how the fee was split."""
    facts = [
        (k.replace("_", " "), html.escape(_number(v) if isinstance(v, float) else str(v)))
        for k, v in paid.answer.summary().items()
        if k != "model_version"
    ]
    facts += [
        ("model version", f"<code>{paid.model_version[:16]}…</code>"),
        ("fee", f"<b>{paid.fee} points</b> paid by <code>{html.escape(paid.payer[:22])}…</code>"),
    ]
    if balance_left is not None:
        facts.append(("balance left", f"{balance_left:,} points"))
    split = ([html.escape(k), str(v)] for k, v in sorted(paid.parts.items()))
    return (
        _table(("", ""), ([f"<b>{k}</b>", v] for k, v in facts))
        + f"<h4>Split of the fee (ledger entries {paid.settled_seq} and {paid.answered_seq})</h4>"
        + _table(("account", "points"), split)
    )


class LaneQueryPanel:
    """A cargo owner buys a lane forecast: lane, departure window and price cap, then Buy.

    The query is signed with the owner's key and answered, paid and recorded in one
    transaction by :func:`consortium.forecasts.service.answer_query`; a refusal writes nothing
    and costs nothing.

    Parameters
    ----------
    factory
        Session factory of the coordinator database.
    service
        The coordinator's :class:`~consortium.forecasts.service.QueryService`.
    owner
        The cargo owner's registered key.
    origin, destination, mode, departure, days
        The lane and the departure window (``departure`` defaults to a week after ``clock()``).
    max_price_points
        The most the owner agrees to pay.
    clock
        Returns the time the query is issued and answered (default: now, UTC).

    Examples
    --------
    >>> # panel = LaneQueryPanel(factory, service=service, owner=owner_key)
    >>> # display(panel.widget); panel.ask().fee  # -> the board's current lane fee
    """

    def __init__(  # noqa: PLR0913
        self,
        factory: sessionmaker[Session],
        *,
        service: QueryService,
        owner: Signer,
        origin: str = "ITMIL",
        destination: str = "FRPAR",
        mode: str = "road",
        departure: date | None = None,
        days: int = 7,
        max_price_points: int = 20,
        clock: Clock = _now,
    ) -> None:
        self.factory, self.service, self.owner, self.clock = factory, service, owner, clock
        start = departure or (clock() + timedelta(days=7)).date()
        self.origin = widgets.Text(value=origin, description="From")
        self.destination = widgets.Text(value=destination, description="To")
        self.mode = widgets.Dropdown(options=["sea", "road", "rail", "air"], value=mode,
                                     description="Mode")  # fmt: skip
        self.departure = widgets.DatePicker(value=start, description="Departing")
        self.days = widgets.BoundedIntText(value=days, min=1, max=92, description="Days")
        self.max_price = widgets.BoundedIntText(
            value=max_price_points, min=0, max=10**9, description="Max points"
        )
        self.button = widgets.Button(description="Buy forecast", button_style="primary")
        self.result = widgets.HTML()
        self.button.on_click(lambda _: self.ask())
        self.widget = widgets.VBox([
            widgets.HBox([self.origin, self.destination, self.mode]),
            widgets.HBox([self.departure, self.days, self.max_price]), self.button, self.result,
        ])  # fmt: skip

    def params(self) -> dict[str, object]:
        """Return the ``lane`` query parameters the widgets describe (times in UTC)."""
        start = datetime.combine(self.departure.value, time(0), tzinfo=UTC)
        return {
            "origin": self.origin.value.strip().upper(),
            "destination": self.destination.value.strip().upper(),
            "mode": self.mode.value,
            "departure_from": start.isoformat(),
            "departure_to": (start + timedelta(days=int(self.days.value))).isoformat(),
        }

    def ask(self) -> PaidAnswer | None:
        """Sign, send and pay for the query; show the answer and split (or the refusal)."""
        from consortium.forecasts.service import answer_query  # noqa: PLC0415  (imports torch)

        now = self.clock()
        query = new_query(kind="lane", params=self.params(), issuer=self.owner,
                          max_price_points=int(self.max_price.value), now=now)  # fmt: skip
        try:
            with self.factory.begin() as session:
                paid = answer_query(session, query=query, service=self.service, now=now,
                                    signature=sign_query(query, signer=self.owner))  # fmt: skip
                left = balance(session, paid.payer)
        except ConsortiumError as exc:
            self.result.value = _error_html(exc)
            return None
        self.result.value = paid_answer_html(paid, balance_left=left)
        return paid
