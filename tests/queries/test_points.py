from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from consortium.ledger.signing import Signer
from consortium.points.rules import cargo_account
from consortium.points.store import balances, mint
from consortium.queries.points import balances_frame, points_overview
from tests.queries.world import CARGO_DEPOSIT, World


def test_overview_totals_match_the_minted_contributions_and_the_deposit(world: World) -> None:
    # Prepare: contribution points = examples trained in every recorded round (1 per example)
    earned = sum(n for report in world.models.reports for n in report.examples.values())
    # Execute
    with world.factory.begin() as s:
        overview = points_overview(s)
        held = balances(s)
    # Assert
    assert overview.books_ok
    assert overview.books_problem is None
    assert overview.minted == earned + CARGO_DEPOSIT
    assert overview.burned == 0
    assert overview.circulating == overview.minted - overview.burned == sum(held.values())
    assert overview.cargo_points == CARGO_DEPOSIT - world.paid.fee
    assert overview.treasury_points == world.paid.parts.get("treasury", 0)
    assert overview.member_points == earned + world.paid.fee - overview.treasury_points
    assert overview.accounts == len(held)


def test_balances_frame_lists_every_account_largest_first(world: World) -> None:
    with world.factory.begin() as s:
        frame = balances_frame(s)
        held = balances(s)
    assert dict(zip(frame["account"], frame["balance"], strict=True)) == held
    assert frame["balance"].is_monotonic_decreasing
    assert frame["balance"].dtype == "int64"
    kinds = dict(zip(frame["account"], frame["kind"], strict=True))
    assert kinds[cargo_account(world.cargo.key_id)] == "cargo"
    assert kinds["member:rhine"] == "member"


def test_overview_reports_books_that_do_not_balance(
    factory: sessionmaker[Session], coordinator: Signer
) -> None:
    # Prepare: a balance changed behind the store's back
    with factory.begin() as s:
        mint(s, account="member:alpha", amount=50, reason="contribution",
             refs={"model": "eta", "round": 1}, signer=coordinator)  # fmt: skip
    with factory.begin() as s:
        s.execute(text("UPDATE points_accounts SET balance = 60 WHERE account = 'member:alpha'"))
    # Execute
    with factory.begin() as s:
        overview = points_overview(s)
    # Assert
    assert not overview.books_ok
    assert overview.circulating == 60
    assert overview.minted == 50
    assert overview.books_problem is not None
    assert "books-unbalanced" in overview.books_problem
