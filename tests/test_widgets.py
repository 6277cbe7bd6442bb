"""The notebook panels, driven as a headless notebook drives them: real events, real ledger."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.orm import Session, sessionmaker

from consortium.client.connection import Coordinator, connect, with_query_service
from consortium.config import REPO_ROOT
from consortium.data import load_table
from consortium.governance.clock import ManualClock
from consortium.governance.rules import Support
from consortium.governance.store import create_proposal
from consortium.identity.registry import bootstrap_coordinator, register_key
from consortium.ledger.keyring import Role
from consortium.ledger.signing import Signer
from consortium.ledger.store import ledger_size
from consortium.membership import admit_member
from consortium.points.store import balance, deposit, mint
from consortium.policy.model import ConsortiumPolicy
from consortium.rounds import FederationEvent, RoundReport
from consortium.synth import generate_consortium
from consortium.widgets import (
    BallotPanel,
    FederationPanel,
    LaneQueryPanel,
    ValidationPanel,
    epsilon_by_round,
    model_card_html,
    policy_html,
)

EXAMPLES = REPO_ROOT / "data_schemas" / "examples"
Factory = sessionmaker[Session]


# ------------------------------------------------------------------------------- validation
def test_panel_lists_each_problem_with_its_location() -> None:
    # Prepare
    panel = ValidationPanel(EXAMPLES / "stock.invalid.constraints.csv", contract="stock")
    # Execute
    report = panel.validate()
    # Assert
    assert report is not None
    assert not report.valid
    assert "row 1, column &#x27;on_hand_units&#x27;" in panel.result.value


def test_panel_shows_an_error_for_a_missing_file(tmp_path: Path) -> None:
    panel = ValidationPanel(tmp_path / "absent.csv", contract="legs")
    assert panel.validate() is None
    assert "absent.csv" in panel.result.value


def test_button_click_runs_the_check() -> None:
    panel = ValidationPanel(EXAMPLES / "legs.valid.csv", contract="legs")
    panel.button.click()
    assert "meets" in panel.result.value


# ------------------------------------------------------------------------------- federation
def _round(n: int, **changes: object) -> RoundReport:
    base: dict[str, object] = {
        "model": "eta", "server_round": n, "status": "ok", "members_total": 3,
        "members_aggregated": 3, "examples": {"alpha": 100, "beta": 50, "gamma": 20},
        "epsilon_spent": {"alpha": 1.25 * n, "beta": 1.5 * n, "gamma": 1.75 * n},
        "loss": 1.0 / n, "seconds": 2.5, "model_version": f"v{n}",
    }  # fmt: skip
    return RoundReport(**{**base, **changes})  # type: ignore[arg-type]


METRICS = {
    "alpha": {"mae": 12.5, "coverage": 0.8, "n": 40.0, "epsilon_spent": 2.5, "test_rows": 40.0},
    "beta": {"mae": 30.25, "coverage": 0.75, "n": 9.0, "epsilon_spent": 3.0, "test_rows": 9.0},
}


def test_federation_panel_follows_every_stage_of_a_run() -> None:
    # Prepare
    panel = FederationPanel(rounds=1)
    degraded = _round(2, status="degraded", members_aggregated=2, sat_out=("gamma",),
                      failures=("gamma: timed out",), loss=0.4)  # fmt: skip
    events = [
        FederationEvent("statistics", 0, 2, detail={"members": 3}),
        FederationEvent("round", 1, 2, _round(1)),
        FederationEvent("round", 2, 2, degraded),
        FederationEvent("calibration", 2, 2, detail={"members": 3}),
        FederationEvent("evaluation", 2, 2, detail={"metrics": METRICS}),
    ]
    seen = []
    # Execute
    for event in events:
        panel.on_event(event)
        seen.append((panel.progress.value, panel.progress.bar_style))
    # Assert: five stages on a bar of 2 rounds + 3; amber once a round is degraded
    assert panel.progress.max == 5
    assert seen == [(1, "info"), (2, "info"), (3, "warning"), (4, "warning"), (5, "warning")]
    table = panel.table.value
    assert table.count("<tr>") == 3  # header + two rounds
    assert "3/3" in table
    assert "2/3" in table
    assert "alpha 1.25" in table
    assert "gamma 3.5" in table
    assert "0.4000" in table
    assert "degraded" in table
    assert "(1 dropped)" in table
    assert ">gamma<" in table  # sat out
    assert [r.server_round for r in panel.reports] == [1, 2]
    assert panel.member_metrics == METRICS
    assert "30.25" in panel.metrics.value
    assert "<th" in panel.metrics.value
    assert ">n<" not in panel.metrics.value  # `n` repeats the test rows
    assert "done" in panel.stage.value


def test_a_clean_run_ends_green_and_a_failed_round_shows_its_code() -> None:
    # Prepare
    clean, failing = FederationPanel(rounds=1), FederationPanel(rounds=1)
    failed = _round(1, status="failed", members_aggregated=0, epsilon_spent={}, loss=None,
                    code="too-few-members", model_version=None)  # fmt: skip
    # Execute
    clean.on_event(FederationEvent("round", 1, 1, _round(1)))
    clean.on_event(FederationEvent("evaluation", 1, 1, detail={"metrics": {}}))
    failing.on_event(FederationEvent("round", 1, 1, failed))
    # Assert
    assert (clean.progress.value, clean.progress.bar_style) == (4, "success")
    assert failing.progress.bar_style == "warning"
    assert "too-few-members" in failing.table.value
    assert "0/3" in failing.table.value


def test_epsilon_by_round_reads_reports_and_model_cards_alike() -> None:
    # Prepare: round 2 failed, so nobody spent anything in it
    reports = [_round(1), _round(2, status="failed", epsilon_spent={}), _round(3)]
    card_reports = [asdict(r) for r in reports]
    # Execute
    live, from_card = epsilon_by_round(reports), epsilon_by_round(card_reports)
    # Assert
    pd.testing.assert_frame_equal(live, from_card)
    assert list(live.columns) == ["alpha", "beta", "gamma"]
    assert live.loc[3, "beta"] == 4.5
    assert math.isnan(live.loc[2, "alpha"])


def test_model_card_summary_lists_privacy_and_metrics() -> None:
    card = {
        "kind": "eta", "name": "federated-dp-eta", "model_version": "ab" * 32,
        "federation": {"members": 2, "rounds": 3, "local_epochs": 1,
                       "secure_aggregation": "SecAgg+ (Flower)"},
        "privacy": {"epsilon_spent": {"alpha": 2.5, "beta": math.inf}},
        "metrics_per_member": METRICS, "evaluated_on": "each member's own test rows",
    }  # fmt: skip
    shown = model_card_html(card)
    assert "federated-dp-eta" in shown
    assert "SecAgg+" in shown
    assert "3 × 1" in shown
    assert "∞" in shown
    assert "12.5" in shown


# ------------------------------------------------------------------------------- governance
@dataclass
class Board:
    handle: Coordinator
    factory: Factory
    coordinator: Signer
    keys: dict[str, Signer]
    proposal_id: str
    vote_start: datetime
    clock: ManualClock


@pytest.fixture
def board(tmp_path: Path) -> Board:
    """Three members (700/200/100 points) and a fee proposal made tomorrow (after every entry)."""
    tomorrow = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    clock = ManualClock(tomorrow)  # the coordinator's clock, injected (no caller passes a time)
    handle = replace(connect(f"sqlite:///{tmp_path / 'c.db'}", create_tables=True), clock=clock)
    factory, coordinator = handle.factory, Signer.generate()
    keys = {m: Signer.generate() for m in ("alpha", "beta", "gamma")}
    with factory.begin() as s:
        bootstrap_coordinator(s, coordinator=coordinator)
        for (member, key), amount in zip(keys.items(), (700, 200, 100), strict=True):
            admit_member(s, member=member, public_key=key.public_key, signer=coordinator)
            mint(s, account=f"member:{member}", amount=amount, reason="contribution",
                 refs={"model": "eta", "round": 1}, signer=coordinator)  # fmt: skip
        proposal = create_proposal(
            s, kind="fees", params={"lane_query_points": 14, "warehouse_query_points": 25},
            title="Raise the lane fee", signer=keys["beta"], clock=clock,
        )  # fmt: skip
    return Board(handle, factory, coordinator, keys, proposal.proposal_id, proposal.vote_start,
                 clock)  # fmt: skip


def test_ballot_shows_capped_powers_and_casts_each_voters_choice(board: Board) -> None:
    # Prepare: the default cap is 30 % of the 1000 points at the snapshot
    panel = BallotPanel(board.handle, proposal_id=board.proposal_id, voters=board.keys,
                        choices={"gamma": "against"},
                        clock=lambda: board.vote_start + timedelta(hours=1))  # fmt: skip
    panel.choices["beta"].value = "abstain"  # what a click on the toggle does
    board.clock.set(board.vote_start + timedelta(hours=1))  # voting is open
    # Execute
    powers = panel.powers()
    votes = panel.cast()
    # Assert
    assert powers == {"alpha": 300, "beta": 200, "gamma": 100}
    assert [(v.member, v.support, v.power) for v in votes] == [
        ("alpha", Support.FOR, 300), ("beta", Support.ABSTAIN, 200),
        ("gamma", Support.AGAINST, 100),
    ]  # fmt: skip
    assert "for 300, against 100, abstain 200 of 600" in panel.proposal.value
    assert "<b>active</b>" in panel.proposal.value
    assert "Refused" not in panel.result.value


def test_ballot_shows_refusals_and_writes_nothing_for_them(board: Board) -> None:
    # Prepare: one ballot before voting opens, one that votes twice
    early = BallotPanel(board.handle, proposal_id=board.proposal_id, voters=board.keys,
                        clock=lambda: board.vote_start - timedelta(minutes=1))  # fmt: skip
    twice = BallotPanel(board.handle, proposal_id=board.proposal_id,
                        voters={"alpha": board.keys["alpha"]}, default="abstain",
                        clock=lambda: board.vote_start + timedelta(hours=1))  # fmt: skip
    with board.factory.begin() as s:
        size = ledger_size(s)
    # Execute
    none_yet = early.cast()
    board.clock.set(board.vote_start + timedelta(hours=1))  # voting is open
    first = twice.cast()
    with board.factory.begin() as s:
        after_first = ledger_size(s)
    twice.button.click()  # the same voter again, through the button
    # Assert
    assert none_yet == []
    assert "voting-not-open" in early.result.value
    assert early.result.value.count("<li>") == 3
    assert [v.support for v in first] == [Support.ABSTAIN]
    assert "double-vote" in twice.result.value
    with board.factory.begin() as s:
        assert after_first == size + 1
        assert ledger_size(s) == after_first


def test_policy_table_highlights_what_changed() -> None:
    before = ConsortiumPolicy()
    after = before.with_changes({"fees": {"lane": 14}})
    shown = policy_html(after, before=before)
    assert "'>lane 10 points, warehouse 25 points</td>" in shown  # before
    assert "<b style='color:#1b7f3b'>lane 14 points, warehouse 25 points</b>" in shown
    assert shown.count("<b style=") == 1
    assert "before" not in policy_html(after)
    # values for people: durations, percentages, tolerances
    assert "'>3 days</td>" in shown  # voting_period_s
    assert "'>10 %</td>" in shown  # treasury_share_bps
    assert "air 15 min, rail 12 h, road 1 h, sea 1 day" in shown


# ------------------------------------------------------------------------------- paid queries
@pytest.fixture(scope="module")
def eta_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny ETA model on one carrier's legs, with its lane catalog (seconds on one core)."""
    import torch  # noqa: PLC0415

    from consortium.forecasts.catalog import LaneCatalog, lane_sums  # noqa: PLC0415
    from consortium.models.store import save_model  # noqa: PLC0415
    from consortium.privacy.training import train_local  # noqa: PLC0415

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("widgets-eta")
    generate_consortium(root / "synth", seed=7, scale=0.02)
    legs = load_table(root / "synth/members/rhine-road/legs.csv", contract="legs",
                      purpose="eta-training").frame  # fmt: skip
    trained = train_local(legs, kind="eta", epsilon=8.0, home=root / "home", epochs=1, seed=1)
    save_model(trained.model, root / "eta", card=trained.card)
    LaneCatalog(np.asarray(lane_sums(legs))).save(root / "eta")
    return root / "eta"


@dataclass
class Market:
    factory: Factory
    owner: Signer
    panel: LaneQueryPanel


@pytest.fixture
def market(tmp_path: Path, eta_model_dir: Path) -> Market:
    handle = connect(f"sqlite:///{tmp_path / 'q.db'}", create_tables=True)
    factory, coordinator = handle.factory, Signer.generate()
    treasurer, owner = Signer.generate(), Signer.generate()
    with factory.begin() as s:
        bootstrap_coordinator(s, coordinator=coordinator)
        register_key(s, public_key=treasurer.public_key, role=Role.TREASURER, signer=coordinator)
        register_key(s, public_key=owner.public_key, role=Role.CARGO_OWNER, signer=coordinator)
        for member, amount in (("alpha", 300), ("beta", 100)):
            mint(s, account=f"member:{member}", amount=amount, reason="contribution",
                 refs={"model": "eta", "round": 1}, signer=coordinator)  # fmt: skip
        deposit(s, account="cargo:" + owner.key_id, amount=15, external_ref="INV-1",
                signer=treasurer)  # fmt: skip
    answering = with_query_service(handle, coordinator_key=coordinator, eta_model_dir=eta_model_dir)
    panel = LaneQueryPanel(answering, owner=owner, departure=date(2026, 3, 9),
                           clock=lambda: datetime.now(UTC))  # fmt: skip
    return Market(factory, owner, panel)


def test_lane_panel_buys_a_forecast_and_shows_fee_and_split(market: Market) -> None:
    # Prepare: the default lane fee is 10; treasury 10 %, the rest 3 : 1
    assert market.panel.params()["departure_to"] == "2026-03-16T00:00:00+00:00"
    # Execute
    paid = market.panel.ask()
    # Assert
    assert paid is not None
    assert paid.fee == 10
    assert dict(paid.parts) == {"member:alpha": 7, "member:beta": 2, "treasury": 1}
    shown = market.panel.result.value
    assert "<b>Price paid</b></td>" in shown
    assert ">10 points<" in shown
    assert "<b>Balance left</b></td>" in shown
    assert ">5 points<" in shown
    assert "On time (within 1 h of schedule)" in shown  # road: the board's default tolerance
    assert "ITMIL → FRPAR by road" in shown
    assert "delay minutes" not in shown  # a card, not the raw answer


def test_lane_panel_shows_a_refusal_and_charges_nothing(market: Market) -> None:
    # Prepare
    with market.factory.begin() as s:
        size = ledger_size(s)
    # Execute: no carrier's pool holds an air leg ITMIL > FRPAR; then 15 points buy one
    # forecast at 10, not two
    market.panel.mode.value = "air"
    unknown = market.panel.ask()
    unknown_shown = market.panel.result.value
    market.panel.mode.value = "road"
    market.panel.ask()
    too_poor = market.panel.ask()
    # Assert
    assert unknown is None
    assert "unknown-lane" in unknown_shown
    assert too_poor is None
    assert "balance 5 is less than 10" in market.panel.result.value
    with market.factory.begin() as s:
        assert ledger_size(s) == size + 2  # the one paid forecast: settled + answered
        assert balance(s, "cargo:" + market.owner.key_id) == 5


# ------------------------------------------------------- units, answer cards, tables (pure)
def test_durations_take_the_unit_of_the_mode_and_shrink_below_one() -> None:
    from consortium.widgets.units import duration, seconds_text, unit_for

    # a 30-day sea crossing in days, a road trip in hours, an air delay in minutes
    assert duration(43_200, unit=unit_for("sea", what="transit")) == "30 days"
    assert duration(312, unit=unit_for("road", what="transit")) == "5.2 h"
    assert duration(45, unit=unit_for("air")) == "45 min"
    assert duration(300, unit=unit_for("rail")) == "5 h"  # under a day: hours
    assert duration(-90, unit="days", signed=True) == "-1.5 h"
    assert [seconds_text(s) for s in (259_200, 86_400, 3_600, 90, 1)] == [
        "3 days", "1 day", "1 h", "1 min", "1 s",
    ]  # fmt: skip


def test_on_time_share_grows_with_the_tolerance_and_stays_in_the_interval() -> None:
    from consortium.widgets.units import on_time_share

    shares = [
        on_time_share(lower=-60, median=300, upper=2000, level=0.8, tolerance=t)
        for t in (-120, -60, 0, 300, 1000, 2000, 5000)
    ]
    values = [share for share, _ in shares]
    assert values == sorted(values)
    assert shares[0] == (0.1, "under")
    assert shares[-1] == (0.9, "over")
    assert shares[3] == (0.5, "about")  # the median is the 0.5 quantile


def _lane_answer(
    mode: str, *, hours: float, delays: tuple[float, float, float]
) -> dict[str, object]:
    low, mid, high = delays
    return {
        "origin": "CNSHA", "destination": "NLRTM", "mode": mode, "departures": 28,
        "departure_from": "2026-06-01T00:00:00Z", "departure_to": "2026-06-08T00:00:00Z",
        "on_time_rate": 0.25, "tolerance_minutes": 15, "interval_level": 0.8,
        "delay_minutes_lower": low, "delay_minutes_median": mid, "delay_minutes_upper": high,
        "transit_hours_lower": hours + low / 60, "transit_hours_median": hours + mid / 60,
        "transit_hours_upper": hours + high / 60, "legs_in_pool": 120, "model_version": "ab" * 32,
    }  # fmt: skip


def test_the_answer_card_speaks_days_for_sea_and_minutes_for_air() -> None:
    from consortium.widgets.answer_card import interval_frame, lane_card

    sea = lane_card(_lane_answer("sea", hours=720, delays=(-600, 720, 3140.5)))
    air = lane_card(_lane_answer("air", hours=11, delays=(-10, 12, 95)))
    assert (sea.transit, sea.delay, sea.unit) == ("30.5 days", "+12 h", "days")
    assert sea.on_time_label == "On time (within 1 day of schedule)"
    assert sea.on_time == "about 62 %"  # read from the interval at the sea tolerance
    assert (air.delay, air.unit) == ("+12 min", "hours")
    assert air.on_time_label == "On time (within 15 min of schedule)"
    assert air.on_time == "about 25 %"  # the model's own on-time rate at its 15 minutes
    assert sea.departures == "28 departures, 01 Jun 2026 to 08 Jun 2026"
    frame = interval_frame(_lane_answer("sea", hours=720, delays=(-600, 720, 3140.5)))
    assert frame["transit"].round(1).tolist() == [29.6, 30.5, 32.2]
    assert set(frame["unit"]) == {"days"}


def test_tables_for_people_show_no_missing_value_and_whole_fields() -> None:
    from consortium.widgets.tables import for_people, payload_fields, policy_value, zone

    frame = pd.DataFrame({
        "time": ["2026-06-01T12:05:59.123456Z", None], "share": pd.array([1250, None], "Int64"),
        "eta": [None, "2026-06-02T00:00:00Z"], "round": pd.array([1, None], "Int64"),
    })  # fmt: skip
    shown = for_people(frame, tz=zone("Europe/Amsterdam"), times=("time", "eta"), bps=("share",))
    assert shown.values.tolist() == [
        ["2026-06-01 14:05 CEST", "12.5 %", "–", "1"],
        ["–", "–", "2026-06-02 02:00 CEST", "–"],
    ]
    payload = {"model": "eta", "participants": [{"member": "meridian", "examples": 120}],
               "model_version": "f" * 64, "note": None}  # fmt: skip
    fields = payload_fields(payload)
    assert fields == (
        "model: eta · participants: member meridian examples 120 · "
        f"model_version: {'f' * 16} · note: –"
    )
    assert not fields.endswith("…")
    assert policy_value("timelock_s", 86_400) == "1 day"
    assert policy_value("vote_power_cap_bps", 3000) == "30 %"
