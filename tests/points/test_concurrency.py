"""Many threads settle from one payer at once: no lost update, no overdraft, exact count."""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from consortium.errors import InsufficientPoints
from consortium.ledger.audit import verify_database
from consortium.ledger.models import EntryRow
from consortium.ledger.signing import Signer
from consortium.ledger.store import ledger_size
from consortium.points.store import balances, check_books, deposit, settle

THREADS = 8
ATTEMPTS = 24
INITIAL = 1000
PARTS = {"member:alpha-line": 4, "treasury": 3}  # price 7: 1000 // 7 = 142 settle, 6 points left


def test_concurrent_settles_from_one_payer_never_overdraw_or_lose_an_update(
    factory: sessionmaker[Session], coordinator: Signer, treasurer: Signer, cargo_owner: Signer
) -> None:
    # Prepare
    payer = "cargo:" + cargo_owner.key_id
    price = sum(PARTS.values())
    with factory.begin() as s:
        deposit(s, account=payer, amount=INITIAL, external_ref="INV-1", signer=treasurer)
        size_before = ledger_size(s)
    successes = [0] * THREADS
    refused = [0] * THREADS
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def worker(i: int) -> None:
        start.wait()
        for attempt in range(ATTEMPTS):
            try:
                with factory.begin() as s:
                    settle(s, payer=payer, parts=PARTS, refs={"query": f"q-{i}-{attempt}"},
                           signer=coordinator)  # fmt: skip
                successes[i] += 1
            except InsufficientPoints:
                refused[i] += 1
            except BaseException as exc:  # noqa: BLE001  (reported by the test thread)
                errors.append(exc)
                return

    # Execute
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Assert
    assert errors == []
    assert THREADS * ATTEMPTS > INITIAL // price  # more attempts than the payer can afford
    assert sum(successes) == INITIAL // price == 142
    assert sum(refused) == THREADS * ATTEMPTS - 142
    with factory.begin() as s:
        assert balances(s) == {
            payer: INITIAL - 142 * price,
            "member:alpha-line": 142 * PARTS["member:alpha-line"],
            "treasury": 142 * PARTS["treasury"],
        }
        totals = check_books(s)
        settled = s.execute(
            select(func.count()).select_from(EntryRow).where(EntryRow.kind == "query-settled")
        ).scalar_one()
        report = verify_database(s)
    assert (totals.minted, totals.circulating) == (INITIAL, INITIAL)
    assert settled == 142
    assert report.size == size_before + 142  # refused attempts left no entry and no gap
