"""The points store on SQLite and PostgreSQL: roles, atomicity, the journal, ledger entries."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from consortium.errors import InsufficientPoints, PointsError
from consortium.identity.registry import revoke_key
from consortium.ledger.audit import verify_database
from consortium.ledger.keyring import Role
from consortium.ledger.signing import Signer
from consortium.ledger.store import ledger_size, load_entries
from consortium.points.models import AccountRow, JournalRow
from consortium.points.rules import (
    contributions_from_entries,
    replay_balances,
    split_revenue,
)
from consortium.points.store import (
    balance,
    balances,
    balances_at,
    check_books,
    contributions,
    deposit,
    history,
    mint,
    mint_contributions,
    open_account,
    redeem,
    settle,
    supply,
)
from tests.points.conftest import registered

Factory = sessionmaker[Session]
ALPHA, BETA, GAMMA = "member:alpha-line", "member:beta-rail", "member:gamma-air"


def cargo(owner: Signer) -> str:
    return "cargo:" + owner.key_id


def _state(factory: Factory) -> tuple[int, dict[str, int], int]:
    """Ledger size, balances and journal line count: what a refused operation must not change."""
    with factory.begin() as s:
        lines = int(s.execute(select(func.count()).select_from(JournalRow)).scalar_one())
        return ledger_size(s), balances(s), lines


def _mint(factory: Factory, coordinator: Signer, account: str, amount: int, round_: int,
          model: str = "eta") -> None:  # fmt: skip
    with factory.begin() as s:
        mint(s, account=account, amount=amount, reason="contribution",
             refs={"model": model, "round": round_, "model_version": "ab" * 32},
             signer=coordinator)  # fmt: skip


def test_mint_credits_member_and_records_the_round(factory: Factory, coordinator: Signer) -> None:
    # Execute
    with factory.begin() as s:
        entry = mint(s, account=ALPHA, amount=1200, reason="contribution",
                     refs={"model": "eta", "round": 3, "model_version": "cd" * 32},
                     signer=coordinator)  # fmt: skip
    # Assert
    with factory.begin() as s:
        assert balance(s, ALPHA) == 1200
        assert supply(s).minted == 1200
        assert contributions(s, model="eta") == {ALPHA: 1200}
        assert contributions(s, model="eta", up_to_round=2) == {}
        assert contributions(s, model="stock") == {}
        stored = load_entries(s)[-1]
        report = verify_database(s)
    assert stored == entry
    assert entry.kind == "points-minted"
    assert entry.payload_object() == {
        "account": ALPHA, "amount": 1200, "reason": "contribution",
        "refs": {"model": "eta", "round": 3, "model_version": "cd" * 32},
    }  # fmt: skip
    assert report.size == entry.seq + 1


def test_only_a_coordinator_key_mints(factory: Factory, coordinator: Signer) -> None:
    # Prepare
    others = [
        registered(factory, coordinator, role)[0]
        for role in (Role.TREASURER, Role.MEMBER, Role.BOARD, Role.CARGO_OWNER)
    ]
    others.append(Signer.generate())  # not registered at all
    before = _state(factory)
    for signer in others:
        # Execute
        with pytest.raises(PointsError) as caught, factory.begin() as s:
            mint(s, account=ALPHA, amount=10, reason="contribution",
                 refs={"model": "eta", "round": 1}, signer=signer)  # fmt: skip
        # Assert
        assert caught.value.code == "not-allowed"
        assert _state(factory) == before


def test_a_revoked_coordinator_key_cannot_mint(factory: Factory, coordinator: Signer) -> None:
    # Prepare
    other = registered(factory, coordinator, Role.COORDINATOR)[0]
    with factory.begin() as s:
        revoke_key(s, key_id=other.key_id, signer=coordinator)
    # Execute / Assert
    with pytest.raises(PointsError, match="revoked") as caught, factory.begin() as s:
        mint(s, account=ALPHA, amount=10, reason="contribution", refs={"model": "eta", "round": 1},
             signer=other)  # fmt: skip
    assert caught.value.code == "not-allowed"


def test_a_member_is_paid_once_per_model_and_round(factory: Factory, coordinator: Signer) -> None:
    # Prepare
    _mint(factory, coordinator, ALPHA, 100, round_=1)
    before = _state(factory)
    # Execute
    with pytest.raises(PointsError) as caught:
        _mint(factory, coordinator, ALPHA, 100, round_=1)
    _mint(factory, coordinator, ALPHA, 50, round_=2)
    _mint(factory, coordinator, ALPHA, 70, round_=1, model="stock")
    # Assert
    assert caught.value.code == "already-minted"
    assert before[1][ALPHA] == 100
    with factory.begin() as s:
        assert balance(s, ALPHA) == 220
        assert contributions(s, model="eta") == {ALPHA: 150}
        assert contributions(s, model="eta", up_to_round=1) == {ALPHA: 100}


MALFORMED_MINTS: list[tuple[dict[str, object], str]] = [
    ({"amount": 0}, "bad-amount"),
    ({"amount": -5}, "bad-amount"),
    ({"amount": 2.0}, "bad-amount"),
    ({"amount": True}, "bad-amount"),
    ({"amount": 10**13}, "bad-amount"),
    ({"reason": "gift"}, "bad-reason"),
    ({"account": "treasury"}, "bad-account"),
    ({"account": "member:Alice Smith"}, "bad-account"),
    ({"account": "mint"}, "bad-account"),
    ({"refs": {"round": 1}}, "bad-refs"),
    ({"refs": {"model": "eta", "round": -1}}, "bad-refs"),
    ({"refs": {"model": "eta", "round": "1"}}, "bad-refs"),
]


def test_mint_refuses_malformed_requests(factory: Factory, coordinator: Signer) -> None:
    before = _state(factory)
    for override, code in MALFORMED_MINTS:
        # Prepare
        args: dict[str, object] = {"account": ALPHA, "amount": 10, "reason": "contribution",
                                   "refs": {"model": "eta", "round": 1}} | override  # fmt: skip
        # Execute
        with pytest.raises(PointsError) as caught, factory.begin() as s:
            mint(s, signer=coordinator, **args)  # type: ignore[arg-type]
        # Assert
        assert caught.value.code == code, override
        assert _state(factory) == before


def test_mint_contributions_skips_zero_awards(factory: Factory, coordinator: Signer) -> None:
    with factory.begin() as s:
        entries = mint_contributions(
            s, awards={BETA: 30, ALPHA: 20, GAMMA: 0}, refs={"model": "eta", "round": 4},
            signer=coordinator,
        )  # fmt: skip
    assert [e.payload_object()["account"] for e in entries] == [ALPHA, BETA]
    with factory.begin() as s:
        assert balances(s) == {ALPHA: 20, BETA: 30}


def test_deposit_and_redeem_by_treasurer_count_in_supply(
    factory: Factory, treasurer: Signer, cargo_owner: Signer
) -> None:
    # Execute
    with factory.begin() as s:
        put = deposit(s, account=cargo(cargo_owner), amount=500, external_ref="INV-2026-0042",
                      signer=treasurer)  # fmt: skip
        out = redeem(s, account=cargo(cargo_owner), amount=200, external_ref="PAYOUT-7",
                     signer=treasurer)  # fmt: skip
    # Assert
    with factory.begin() as s:
        assert balance(s, cargo(cargo_owner)) == 300
        totals = check_books(s)
        report = verify_database(s)
    assert (totals.minted, totals.burned, totals.circulating) == (500, 200, 300)
    assert (put.kind, out.kind) == ("points-deposited", "points-redeemed")
    assert put.payload_object() == {
        "account": cargo(cargo_owner),
        "amount": 500,
        "external_ref": "INV-2026-0042",
    }
    assert put.actor == out.actor == treasurer.key_id
    assert report.size == out.seq + 1


def test_deposit_refusals_name_the_reason(
    factory: Factory, coordinator: Signer, treasurer: Signer, cargo_owner: Signer
) -> None:
    # Prepare
    member_key = registered(factory, coordinator, Role.MEMBER)[0]
    with factory.begin() as s:
        deposit(s, account=cargo(cargo_owner), amount=5, external_ref="INV-1", signer=treasurer)
    before = _state(factory)
    cases = [
        ({"account": ALPHA}, treasurer, "not-a-cargo-account"),
        ({"account": "treasury"}, treasurer, "not-a-cargo-account"),
        ({"account": "cargo:" + Signer.generate().key_id}, treasurer, "unknown-cargo-owner"),
        ({"account": cargo(member_key)}, treasurer, "unknown-cargo-owner"),
        ({}, coordinator, "not-allowed"),
        ({}, cargo_owner, "not-allowed"),
        ({"external_ref": "INV-1"}, treasurer, "duplicate-external-ref"),
        ({"external_ref": "paid by jane@example.com"}, treasurer, "bad-external-ref"),
        ({"amount": 1.5}, treasurer, "bad-amount"),
    ]
    for override, signer, code in cases:
        args: dict[str, object] = {"account": cargo(cargo_owner), "amount": 10,
                                   "external_ref": "INV-2"} | override  # fmt: skip
        # Execute
        with pytest.raises(PointsError) as caught, factory.begin() as s:
            deposit(s, signer=signer, **args)  # type: ignore[arg-type]
        # Assert
        assert caught.value.code == code, override
        assert _state(factory) == before


def test_redeem_overdraft_writes_nothing_even_if_the_caller_commits(
    factory: Factory, treasurer: Signer, cargo_owner: Signer
) -> None:
    # Prepare
    with factory.begin() as s:
        deposit(s, account=cargo(cargo_owner), amount=40, external_ref="INV-1", signer=treasurer)
    before = _state(factory)
    # Execute: the caller catches the error and commits its transaction
    with factory.begin() as s:
        with pytest.raises(InsufficientPoints) as caught:
            redeem(s, account=cargo(cargo_owner), amount=41, external_ref="OUT-1",
                   signer=treasurer)  # fmt: skip
        redeem(s, account=cargo(cargo_owner), amount=15, external_ref="OUT-2", signer=treasurer)
    # Assert: only the second redemption exists, and the failed one left no entry or gap
    assert (caught.value.account, caught.value.balance, caught.value.requested) == (
        cargo(cargo_owner), 40, 41,
    )  # fmt: skip
    size, after, lines = _state(factory)
    assert size == before[0] + 1
    assert after == {cargo(cargo_owner): 25}
    assert lines == before[2] + 2
    with factory.begin() as s:
        assert verify_database(s).size == size
        assert check_books(s).burned == 15


def test_settle_pays_the_exact_split_in_one_recomputable_entry(
    factory: Factory, coordinator: Signer, treasurer: Signer, cargo_owner: Signer
) -> None:
    # Prepare: three contributors to eta rounds 1-2, a round 3 that must not count
    for account, points in ((ALPHA, 300), (BETA, 200), (GAMMA, 100)):
        _mint(factory, coordinator, account, points, round_=1)
    _mint(factory, coordinator, ALPHA, 100, round_=2)
    _mint(factory, coordinator, BETA, 900, round_=3)
    with factory.begin() as s:
        deposit(s, account=cargo(cargo_owner), amount=100, external_ref="INV-9", signer=treasurer)
        weights = contributions(s, model="eta", up_to_round=2)
    parts = split_revenue(25, weights=weights, treasury_share_bps=1000)
    refs = {"query": "q-1", "model": "eta", "round": 2, "fee_kind": "warehouse",
            "treasury_share_bps": 1000}  # fmt: skip
    # Execute
    with factory.begin() as s:
        entry = settle(s, payer=cargo(cargo_owner), parts=parts, refs=refs, signer=coordinator)
    # Assert
    assert weights == {ALPHA: 400, BETA: 200, GAMMA: 100}
    # 23 points after the treasury's 2: floors 13, 6, 3; the spare point goes to the largest
    # remainder (23*200 mod 700 = 400, BETA)
    assert parts == {ALPHA: 13, BETA: 7, GAMMA: 3, "treasury": 2}
    with factory.begin() as s:
        assert balance(s, cargo(cargo_owner)) == 75
        assert balance(s, ALPHA) == 413
        assert balance(s, "treasury") == 2
        check_books(s)
        entries = load_entries(s)
    assert entry.kind == "query-settled"
    payload = entry.payload_object()
    assert payload["amount"] == 25
    assert payload["parts"] == [{"account": a, "amount": n} for a, n in sorted(parts.items())]
    # anyone recomputes the split from the ledger alone
    recomputed = split_revenue(
        payload["amount"],  # type: ignore[arg-type]
        weights=contributions_from_entries(entries[: entry.seq], model="eta", up_to_round=2),
        treasury_share_bps=1000,
    )
    assert recomputed == parts


def test_settle_overdraft_rolls_back_with_the_callers_transaction(
    factory: Factory, coordinator: Signer, treasurer: Signer, cargo_owner: Signer
) -> None:
    # Prepare
    with factory.begin() as s:
        deposit(s, account=cargo(cargo_owner), amount=9, external_ref="INV-1", signer=treasurer)
    before = _state(factory)

    # Execute: the paid query's transaction (the query entry, then the payment) fails as a whole
    def paid_query() -> None:
        with factory.begin() as s:
            mint(s, account=ALPHA, amount=5, reason="contribution",
                 refs={"model": "eta", "round": 1}, signer=coordinator)  # fmt: skip
            settle(s, payer=cargo(cargo_owner), parts={ALPHA: 6, "treasury": 4},
                   refs={"query": "q"}, signer=coordinator)  # fmt: skip

    with pytest.raises(InsufficientPoints) as caught:
        paid_query()
    # Assert
    assert caught.value.requested == 10
    assert _state(factory) == before


def test_settle_from_an_unopened_account_is_insufficient(
    factory: Factory, coordinator: Signer, cargo_owner: Signer
) -> None:
    before = _state(factory)
    with pytest.raises(InsufficientPoints) as caught, factory.begin() as s:
        settle(s, payer=cargo(cargo_owner), parts={"treasury": 1}, refs={}, signer=coordinator)
    assert (caught.value.balance, caught.value.requested) == (0, 1)
    assert _state(factory) == before


def test_settle_refusals(
    factory: Factory, coordinator: Signer, treasurer: Signer, cargo_owner: Signer
) -> None:
    with factory.begin() as s:
        deposit(s, account=cargo(cargo_owner), amount=50, external_ref="INV-1", signer=treasurer)
    cases = [
        ({"signer": treasurer}, "not-allowed"),
        ({"parts": {}}, "no-parts"),
        ({"parts": {ALPHA: 0}}, "bad-amount"),
        ({"parts": {"burn": 3}}, "bad-account"),
        ({"payer": "mint"}, "bad-account"),
        ({"refs": {"note": "thanks a lot"}}, None),  # free text: the ledger policy refuses it
    ]
    before = _state(factory)
    for override, code in cases:
        args: dict[str, object] = {
            "payer": cargo(cargo_owner), "parts": {ALPHA: 3}, "refs": {"query": "q"},
            "signer": coordinator,
        } | override  # fmt: skip
        with pytest.raises(Exception) as caught, factory.begin() as s:  # noqa: PT011
            settle(s, **args)  # type: ignore[arg-type]
        if code is not None:
            assert isinstance(caught.value, PointsError), override
            assert caught.value.code == code, override
        else:
            assert type(caught.value).__name__ == "PayloadRejected"
        assert _state(factory) == before


def test_a_payer_that_is_also_a_part_pays_the_whole_fee_first(
    factory: Factory, treasurer: Signer, coordinator: Signer, cargo_owner: Signer
) -> None:
    # Prepare
    payer = cargo(cargo_owner)
    with factory.begin() as s:
        deposit(s, account=payer, amount=8, external_ref="INV-8", signer=treasurer)
    # Execute / Assert: 8 points cannot pay a 10-point fee even though 6 would come back
    with pytest.raises(InsufficientPoints), factory.begin() as s:
        settle(s, payer=payer, parts={payer: 6, "treasury": 4}, refs={}, signer=coordinator)
    with factory.begin() as s:
        settle(s, payer=payer, parts={payer: 3, "treasury": 5}, refs={}, signer=coordinator)
        assert balances(s) == {payer: 3, "treasury": 5}
        check_books(s)


def test_balances_at_snapshots_member_accounts_before_an_entry(
    factory: Factory, coordinator: Signer, treasurer: Signer, cargo_owner: Signer
) -> None:
    # Prepare
    _mint(factory, coordinator, ALPHA, 100, round_=1)
    _mint(factory, coordinator, BETA, 50, round_=1)
    with factory.begin() as s:
        snapshot = ledger_size(s)
    _mint(factory, coordinator, ALPHA, 25, round_=2)
    with factory.begin() as s:
        deposit(s, account=cargo(cargo_owner), amount=30, external_ref="INV-1", signer=treasurer)
        settle(s, payer=cargo(cargo_owner), parts={BETA: 10, "treasury": 2}, refs={},
               signer=coordinator)  # fmt: skip
        # Execute
        at_snapshot = balances_at(s, seq=snapshot)
        now = balances_at(s, seq=ledger_size(s))
        everyone = balances_at(s, seq=ledger_size(s), prefix="")
    # Assert
    assert at_snapshot == {ALPHA: 100, BETA: 50}
    assert now == {ALPHA: 125, BETA: 60}
    assert everyone == {ALPHA: 125, BETA: 60, cargo(cargo_owner): 18, "treasury": 2}


def test_history_lists_movements_with_the_balance_after_each(
    factory: Factory, coordinator: Signer, treasurer: Signer, cargo_owner: Signer
) -> None:
    # Prepare
    account = cargo(cargo_owner)
    with factory.begin() as s:
        deposit(s, account=account, amount=30, external_ref="INV-1", signer=treasurer)
        settle(s, payer=account, parts={"treasury": 12}, refs={}, signer=coordinator)
        redeem(s, account=account, amount=8, external_ref="OUT-1", signer=treasurer)
        # Execute
        moves = history(s, account=account)
        last = history(s, account=account, limit=2)
    # Assert
    assert [(m.kind, m.delta, m.balance) for m in moves] == [
        ("points-deposited", 30, 30), ("query-settled", -12, 18), ("points-redeemed", -8, 10),
    ]  # fmt: skip
    assert last == moves[1:]
    assert moves[0].time.endswith("Z")


def test_open_account_is_idempotent_and_validates(factory: Factory) -> None:
    with factory.begin() as s:
        open_account(s, ALPHA)
        open_account(s, ALPHA)
    with factory.begin() as s:
        assert balances(s) == {ALPHA: 0}
        assert balance(s, BETA) == 0
    with pytest.raises(PointsError) as caught, factory.begin() as s:
        open_account(s, "Member:Alpha")
    assert caught.value.code == "bad-account"


def test_the_ledger_alone_rebuilds_every_balance(
    factory: Factory, coordinator: Signer, treasurer: Signer, cargo_owner: Signer
) -> None:
    # Prepare
    _mint(factory, coordinator, ALPHA, 70, round_=1)
    _mint(factory, coordinator, BETA, 30, round_=1)
    with factory.begin() as s:
        deposit(s, account=cargo(cargo_owner), amount=90, external_ref="INV-1", signer=treasurer)
        settle(s, payer=cargo(cargo_owner),
               parts=split_revenue(25, weights=contributions(s, model="eta"),
                                   treasury_share_bps=1000),
               refs={"query": "q-1"}, signer=coordinator)  # fmt: skip
        redeem(s, account=ALPHA, amount=5, external_ref="OUT-1", signer=treasurer)
    # Execute
    with factory.begin() as s:
        replay = replay_balances(load_entries(s))
        stored, totals = balances(s), check_books(s)
    # Assert
    assert replay.balances == stored
    assert (replay.minted, replay.burned) == (totals.minted, totals.burned) == (190, 5)


def test_books_check_catches_a_balance_edited_behind_the_journal(
    factory: Factory, coordinator: Signer
) -> None:
    # Prepare
    _mint(factory, coordinator, ALPHA, 70, round_=1)
    _mint(factory, coordinator, BETA, 30, round_=1)
    with factory.begin() as s:
        s.execute(update(AccountRow).where(AccountRow.account == ALPHA).values(balance=60))
        s.execute(update(AccountRow).where(AccountRow.account == BETA).values(balance=40))
    # Execute / Assert: the total still matches, the per-account journal does not
    with pytest.raises(PointsError) as caught, factory.begin() as s:
        check_books(s)
    assert (caught.value.subject, caught.value.code) == (ALPHA, "books-unbalanced")


def test_the_database_refuses_a_negative_balance(factory: Factory, coordinator: Signer) -> None:
    _mint(factory, coordinator, ALPHA, 5, round_=1)
    with pytest.raises(IntegrityError), factory.begin() as s:
        s.execute(update(AccountRow).where(AccountRow.account == ALPHA).values(balance=-1))
