"""Paid queries end to end on SQLite and PostgreSQL: price, answer, exact split, refusals."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from consortium.errors import InsufficientPoints, QueryRejected
from consortium.forecasts.lane import LaneAnswer
from consortium.forecasts.messages import new_query, sign_query
from consortium.forecasts.pooled import model_version
from consortium.forecasts.service import (
    QueryService,
    answer_query,
    compute_answer,
    quote_query,
    settle_answer,
)
from consortium.forecasts.splits import recompute_split, recompute_split_from_entries
from consortium.forecasts.store import AnsweredQueryRow
from consortium.forecasts.warehouse import LocalWarehouseAnswerer, WarehouseAnswer
from consortium.identity.registry import register_key
from consortium.ledger.audit import verify_database
from consortium.ledger.entry import Entry, sign_entry
from consortium.ledger.keyring import Role
from consortium.ledger.kinds import EntryKind
from consortium.ledger.signing import Signer
from consortium.ledger.store import ledger_size, load_entries
from consortium.points.rounds import append_round_completed
from consortium.points.store import balance, balances, check_books, deposit, mint, redeem
from consortium.policy.store import change_policy
from tests.forecasts.conftest import Pool
from tests.store_fixtures import T0

Factory = sessionmaker[Session]
ALPHA, BETA, GAMMA = "member:alpha-line", "member:beta-road", "member:gamma-rail"
DEPOT, DOCKS = "member:depot-dc", "member:docks-dc"
LANE = {
    "origin": "ITMIL", "destination": "FRPAR", "mode": "road",
    "departure_from": "2026-03-02T00:00:00+01:00", "departure_to": "2026-03-09T00:00:00+01:00",
}  # fmt: skip


@dataclass(frozen=True)
class Market:
    """A ledger with contributions minted for two model versions and a funded cargo owner."""

    factory: Factory
    coordinator: Signer
    treasurer: Signer
    owner: Signer
    service: QueryService

    @property
    def payer(self) -> str:
        return "cargo:" + self.owner.key_id

    def query(
        self, kind: str = "lane", *, signer: Signer | None = None, **fields: Any
    ) -> tuple[dict[str, Any], bytes]:
        signer = signer or self.owner
        params = fields.pop("params", LANE if kind == "lane" else
                            {"warehouse_id": "WH-NLRTM-01", "horizon_days": 7})  # fmt: skip
        query = new_query(kind=kind, params=params, issuer=signer, now=T0,
                          max_price_points=fields.pop("max_price_points", 100))  # fmt: skip
        query.update(fields)
        return query, sign_query(query, signer=signer)

    def ask(self, query: dict[str, Any], signature: bytes, **changes: Any) -> Any:
        with self.factory.begin() as session:
            return answer_query(session, query=query, signature=signature,
                                service=replace(self.service, **changes),
                                now=T0 + timedelta(seconds=3))  # fmt: skip

    def state(self) -> tuple[int, dict[str, int], int]:
        """Ledger size, balances and answered-query rows: what a refusal must not change."""
        with self.factory.begin() as s:
            rows = int(s.execute(select(func.count()).select_from(AnsweredQueryRow)).scalar_one())
            return ledger_size(s), balances(s), rows


@pytest.fixture(scope="module")
def answerer(pool: Pool) -> LocalWarehouseAnswerer:
    return LocalWarehouseAnswerer.from_consortium_dir(pool.synth_dir, declining={"warsaw-dc"})


def _round_completed(session: Session, coordinator: Signer, *, model: str, round_: int,
                     version: str) -> None:  # fmt: skip
    append_round_completed(
        session, signer=coordinator,
        payload={"model": model, "round": round_, "model_version": version,
                 "members": ["alpha-line", "beta-road"], "degraded": False, "failures": 0},
    )  # fmt: skip


@pytest.fixture
def market(
    factory: Factory, coordinator: Signer, pool: Pool, answerer: LocalWarehouseAnswerer
) -> Market:
    treasurer, owner = Signer.generate(), Signer.generate()
    eta_version, stock_version = model_version(pool.eta_dir), model_version(pool.stock_dir)
    with factory.begin() as s:
        register_key(s, public_key=treasurer.public_key, role=Role.TREASURER, signer=coordinator)
        register_key(s, public_key=owner.public_key, role=Role.CARGO_OWNER, signer=coordinator)
        for account, amount, model, round_ in [
            (ALPHA, 400, "eta", 1), (BETA, 300, "eta", 1), (ALPHA, 200, "eta", 2),
            (GAMMA, 500, "eta", 3),  # trained the *next* version: no share of this one's fees
            (DEPOT, 120, "stock", 1), (DOCKS, 40, "stock", 1),
        ]:  # fmt: skip
            mint(s, account=account, amount=amount, reason="contribution",
                 refs={"model": model, "round": round_}, signer=coordinator)  # fmt: skip
        _round_completed(s, coordinator, model="eta", round_=2, version=eta_version)
        _round_completed(s, coordinator, model="stock", round_=1, version=stock_version)
        deposit(s, account="cargo:" + owner.key_id, amount=500, external_ref="INV-0001",
                signer=treasurer)  # fmt: skip
    service = QueryService(
        coordinator=coordinator, eta_model_dir=pool.eta_dir, stock_model_dir=pool.stock_dir,
        answerer=answerer,
    )  # fmt: skip
    return Market(factory, coordinator, treasurer, owner, service)


def test_lane_query_is_paid_split_exactly_and_recorded(market: Market) -> None:
    # Prepare
    with market.factory.begin() as s:
        change_policy(s, changes={"fees": {"lane": 11}}, signer=market.coordinator)
        before = balances(s)
        size = ledger_size(s)
    query, signature = market.query()
    # Execute
    paid = market.ask(query, signature)
    # Assert: fee 11, treasury floor(1.1) = 1; 10 by weights alpha 600 : beta 300 (rounds <= 2)
    # = 6.67 : 3.33 -> 6 + 3, the point left over to alpha's larger remainder.
    assert paid.fee == 11
    assert dict(paid.parts) == {ALPHA: 7, BETA: 3, "treasury": 1}
    assert paid.model_round == 2
    assert isinstance(paid.answer, LaneAnswer)
    assert paid.answer.model_version == paid.model_version
    with market.factory.begin() as s:
        after = balances(s)
        entries = load_entries(s, start=size)
        check = recompute_split(s, query["query_id"])
        assert verify_database(s).size == ledger_size(s)
        check_books(s)
    assert after[market.payer] == before[market.payer] - 11
    assert after[ALPHA] - before[ALPHA] == 7
    assert after[BETA] - before[BETA] == 3
    assert after["treasury"] - before.get("treasury", 0) == 1
    assert after[GAMMA] == before[GAMMA]
    assert [e.kind for e in entries] == [EntryKind.QUERY_SETTLED, EntryKind.QUERY_ANSWERED]
    record = entries[1].payload_object()
    assert record["query_id"] == query["query_id"]
    assert record["settled_seq"] == entries[0].seq
    assert record["model_version"] == model_version(market.service.eta_model_dir)  # type: ignore[arg-type]
    assert record["answer"]["on_time_rate"] == paid.answer.on_time_rate  # type: ignore[index]
    assert check.matches
    assert dict(check.recomputed) == dict(paid.parts)


def test_the_next_query_pays_the_fee_the_board_just_set(market: Market) -> None:
    # Prepare
    first = market.ask(*market.query())
    with market.factory.begin() as s:
        change_policy(s, changes={"fees": {"lane": 37}, "treasury_share_bps": 0},
                      signer=market.coordinator, proposal_id="p-fees-2")  # fmt: skip
        before = balance(s, market.payer)
    # Execute
    second = market.ask(*market.query())
    # Assert
    assert first.fee == 10
    assert second.fee == 37
    assert dict(second.parts) == {ALPHA: 25, BETA: 12}  # 37 * 2/3 = 24.67, 37 / 3 = 12.33
    with market.factory.begin() as s:
        assert balance(s, market.payer) == before - 37


def test_warehouse_query_is_answered_by_its_own_node_and_pays_stock_contributors(
    market: Market, pool: Pool
) -> None:
    # Prepare: the synthetic warehouses report few SKU groups; the board allows groups of 1
    with market.factory.begin() as s:
        change_policy(s, changes={"min_group_size": 1}, signer=market.coordinator)
    query, signature = market.query("warehouse")
    # Execute
    paid = market.ask(query, signature)
    # Assert: fee 25, treasury 2; 23 by depot 120 : docks 40 -> 17.25 : 5.75 -> 17 + 6
    assert isinstance(paid.answer, WarehouseAnswer)
    assert paid.answer.warehouse_id == "WH-NLRTM-01"
    assert paid.answer.model_version == model_version(pool.stock_dir)
    assert 0.0 <= paid.answer.p_stockout_mean <= paid.answer.p_stockout_any <= 1.0
    assert dict(paid.parts) == {DEPOT: 17, DOCKS: 6, "treasury": 2}
    with market.factory.begin() as s:
        assert recompute_split(s, query["query_id"]).matches


def _refusals(market: Market) -> dict[str, Callable[[], object]]:
    stranger = Signer.generate()
    poor = Signer.generate()
    with market.factory.begin() as s:
        register_key(s, public_key=poor.public_key, role=Role.CARGO_OWNER,
                     signer=market.coordinator)  # fmt: skip
    used, used_signature = market.query()
    market.ask(used, used_signature)
    replayed_nonce, nonce_signature = market.query(nonce=used["nonce"])
    malformed, malformed_signature = market.query(params={**LANE, "mode": "ship"})
    good, good_signature = market.query()
    tampered = {**good, "max_price_points": 99}

    def ask(query: dict[str, Any], signature: bytes, **changes: Any) -> Callable[[], object]:
        return lambda: market.ask(query, signature, **changes)

    def lane(**params: str) -> Callable[[], object]:
        return ask(*market.query(params={**LANE, **params}))

    def warehouse(warehouse_id: str, horizon_days: int = 7) -> Callable[[], object]:
        return ask(*market.query("warehouse", params={"warehouse_id": warehouse_id,
                                                      "horizon_days": horizon_days}))  # fmt: skip

    return {
        "malformed": ask(malformed, malformed_signature),
        "bad-signature": ask(tampered, good_signature),
        "unknown-issuer": ask(*market.query(signer=stranger)),
        "replay": ask(used, used_signature),
        "replay-nonce": ask(replayed_nonce, nonce_signature),
        "over-max-price": ask(*market.query(max_price_points=9)),
        "insufficient": ask(*market.query(signer=poor)),
        "bad-window": lane(departure_to=LANE["departure_from"]),
        "unknown-lane": lane(mode="air"),
        "too-few-data": lane(origin="NLRTM", destination="CNSHA", mode="sea"),
        "unknown-warehouse": warehouse("WH-NOWHERE-01"),
        "unsupported-horizon": warehouse("WH-NLRTM-01", horizon_days=30),
        "declined": warehouse("WH-PLWAW-01"),
        "declined-too-few-skus": warehouse("WH-DEDUI-01"),
        "not-offered": ask(*market.query("warehouse"), answerer=None),
    }


def test_every_refusal_charges_nothing_and_writes_nothing(market: Market) -> None:
    # Prepare
    refusals = _refusals(market)
    for name, attempt in refusals.items():
        before = market.state()
        # Execute
        with pytest.raises((QueryRejected, InsufficientPoints)) as caught:
            attempt()
        # Assert
        assert market.state() == before, name
        if name == "insufficient":
            assert isinstance(caught.value, InsufficientPoints)
            assert (caught.value.balance, caught.value.requested) == (0, 10)
        else:
            assert isinstance(caught.value, QueryRejected)
            assert caught.value.code == name.removesuffix("-nonce").removesuffix("-too-few-skus"), (
                name
            )
            assert caught.value.subject.startswith("query q-"), name


def _in_threads(count: int, work: Callable[[int], object]) -> list[object]:
    results: list[object] = [None] * count
    start = threading.Barrier(count)

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001  (collected and asserted on below)
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_concurrent_queries_from_one_account_never_overdraw_it(market: Market) -> None:
    # Prepare: 500 points deposited, redeemed down to 95: nine lane queries of 10 fit
    with market.factory.begin() as s:
        redeem(s, account=market.payer, amount=405, external_ref="PAYOUT-1",
               signer=market.treasurer)  # fmt: skip
        before = balances(s)
    messages = [market.query() for _ in range(12)]
    # Execute
    results = _in_threads(12, lambda i: market.ask(*messages[i]))
    # Assert
    paid = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(paid) == 95 // 10 == 9
    assert all(isinstance(r, InsufficientPoints) for r in refused), refused
    with market.factory.begin() as s:
        after = balances(s)
        check_books(s)
        assert all(recompute_split(s, p.query_id).matches for p in paid)  # type: ignore[attr-defined]
    assert after[market.payer] == 5
    collected = sum(p.fee for p in paid)  # type: ignore[attr-defined]
    assert collected == 90
    received = {a: after[a] - before.get(a, 0) for a in after if a != market.payer}
    assert sum(received.values()) == collected
    assert received[ALPHA] == sum(p.parts[ALPHA] for p in paid)  # type: ignore[attr-defined]


def test_the_same_query_sent_concurrently_is_charged_once(market: Market) -> None:
    # Prepare
    query, signature = market.query()
    before = market.state()
    # Execute
    results = _in_threads(6, lambda _: market.ask(query, signature))
    # Assert
    paid = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(paid) == 1
    assert all(isinstance(r, QueryRejected) and r.code == "replay" for r in refused), refused
    size, after, rows = market.state()
    assert (size, rows) == (before[0] + 2, before[2] + 1)
    assert after[market.payer] == before[1][market.payer] - 10


def test_anyone_recomputes_the_split_from_an_export_and_spots_a_forgery(market: Market) -> None:
    # Prepare
    query, signature = market.query()
    paid = market.ask(query, signature)
    with market.factory.begin() as s:
        entries = load_entries(s)
    answered = next(e for e in entries if e.kind == EntryKind.QUERY_ANSWERED)
    record = answered.payload_object()
    forged_record = {**record, "treasury_share_bps": 5000}
    forged = sign_entry(seq=answered.seq, moment=answered.timestamp, kind=EntryKind.QUERY_ANSWERED,
                        payload=forged_record, signer=market.coordinator)  # fmt: skip
    forged_log: list[Entry] = [forged if e.seq == answered.seq else e for e in entries]
    # Execute
    honest = recompute_split_from_entries(entries, query_id=query["query_id"])
    doctored = recompute_split_from_entries(forged_log, query_id=query["query_id"])
    # Assert
    assert honest.matches
    assert dict(honest.paid) == dict(paid.parts)
    assert not doctored.matches
    assert sum(doctored.recomputed.values()) == paid.fee
    with pytest.raises(QueryRejected) as caught:
        recompute_split_from_entries(entries, query_id="q-never-asked")
    assert caught.value.code == "not-answered"


def test_steps_in_separate_transactions_charge_the_fee_in_force_at_settlement(
    market: Market,
) -> None:
    # Prepare: quote under fee 10, the board changes it before the settlement
    query, signature = market.query(max_price_points=12)
    with market.factory.begin() as s:
        quote = quote_query(s, query=query, signature=signature, service=market.service, now=T0)
    answer = compute_answer(quote, service=market.service)
    with market.factory.begin() as s:
        change_policy(s, changes={"fees": {"lane": 12}}, signer=market.coordinator)
        before = balance(s, market.payer)
    # Execute
    with market.factory.begin() as s:
        paid = settle_answer(s, quote=quote, answer=answer, service=market.service)
    # Assert
    assert quote.fee == 10
    assert paid.fee == 12
    assert paid.answer is answer
    with market.factory.begin() as s:
        assert balance(s, market.payer) == before - 12
        assert recompute_split(s, query["query_id"]).matches


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"fees": {"lane": 13}}, "over-max-price"),
        ({"min_group_size": 25}, "policy-changed"),
        (None, "replay"),
    ],
    ids=["fee-above-cap", "group-raised", "replayed-meanwhile"],
)
def test_settlement_refuses_what_changed_since_the_quote_and_charges_nothing(
    market: Market, change: dict[str, object] | None, code: str
) -> None:
    # Prepare
    query, signature = market.query(max_price_points=12)
    with market.factory.begin() as s:
        quote = quote_query(s, query=query, signature=signature, service=market.service, now=T0)
    answer = compute_answer(quote, service=market.service)
    if change is None:
        market.ask(query, signature)  # the same query, answered in between
    else:
        with market.factory.begin() as s:
            change_policy(s, changes=change, signer=market.coordinator)
    before = market.state()
    # Execute
    with market.factory.begin() as s, pytest.raises(QueryRejected) as caught:
        settle_answer(s, quote=quote, answer=answer, service=market.service)
    # Assert
    assert caught.value.code == code
    assert market.state() == before
