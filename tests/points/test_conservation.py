"""Conservation under random sequences of sequential and concurrent operations, on both backends.

A hypothesis state machine mints, deposits, redeems and settles at random, sometimes several
operations at once from different threads (each its own transaction). After every step: the
balances sum to minted minus burned, no balance is negative, the journal sums equal the balances,
every entry's lines sum to zero, and the store equals a plain-Python model of the same operations.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy.orm import Session, sessionmaker

from consortium.errors import InsufficientPoints
from consortium.ledger.audit import verify_database
from consortium.ledger.keyring import Role
from consortium.ledger.signing import Signer
from consortium.ledger.store import load_entries
from consortium.points.rules import replay_balances, split_revenue
from consortium.points.store import (
    balances,
    check_books,
    contributions,
    deposit,
    mint,
    redeem,
    settle,
    supply,
)
from tests.points.conftest import registered

Factory = sessionmaker[Session]
MEMBERS = ("member:alpha-line", "member:beta-rail", "member:gamma-air")
_ids = itertools.count()


@dataclass(frozen=True)
class Op:
    """One random operation and the balance changes it makes if it succeeds."""

    kind: str
    account: str
    amount: int
    bps: int = 0


OPS = st.one_of(
    st.builds(Op, st.just("mint"), st.sampled_from(MEMBERS), st.integers(1, 400)),
    st.builds(Op, st.just("deposit"), st.sampled_from(["c0", "c1"]), st.integers(1, 400)),
    st.builds(Op, st.just("redeem"), st.sampled_from([*MEMBERS, "c0", "c1", "treasury"]),
              st.integers(1, 500)),
    # only cargo owners pay (issue 14, item 11): a member payer is refused outright
    st.builds(Op, st.just("settle"), st.sampled_from(["c0", "c1"]), st.integers(1, 300),
              st.integers(0, 10_000)),
)  # fmt: skip


def run_machine(factory: Factory, coordinator: Signer, *, examples: int, steps: int) -> None:
    treasurer = registered(factory, coordinator, Role.TREASURER)[0]
    owners = registered(factory, coordinator, Role.CARGO_OWNER, count=2)
    cargo = {f"c{i}": "cargo:" + owner.key_id for i, owner in enumerate(owners)}

    class Conservation(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.model_name = f"model-{next(_ids)}"  # each example pays its own rounds
            self.round = 0
            with factory.begin() as s:
                self.expected = balances(s)
                totals = supply(s)
            self.minted, self.burned = totals.minted, totals.burned

        # -- applying one operation in its own transaction --------------------------------
        def _account(self, op: Op) -> str:
            return cargo.get(op.account, op.account)

        def _prepare(self, op: Op) -> tuple[Callable[[Session], object], dict[str, int]]:
            """Return the call and the balance changes it makes if it succeeds."""
            account = self._account(op)
            ref = f"ref-{next(_ids)}"
            if op.kind == "mint":
                self.round += 1
                call = partial(mint, account=account, amount=op.amount, reason="contribution",
                               refs={"model": self.model_name, "round": self.round},
                               signer=coordinator)  # fmt: skip
                return call, {account: op.amount}
            if op.kind in ("deposit", "redeem"):
                operation = deposit if op.kind == "deposit" else redeem
                call = partial(operation, account=account, amount=op.amount, external_ref=ref,
                               signer=treasurer)  # fmt: skip
                return call, {account: op.amount if op.kind == "deposit" else -op.amount}
            with factory.begin() as s:
                weights = contributions(s, model=self.model_name)
            parts = split_revenue(op.amount, weights=weights, treasury_share_bps=op.bps)
            changes = dict(parts)
            changes[account] = changes.get(account, 0) - op.amount
            call = partial(settle, payer=account, parts=parts, refs={"query": ref},
                           signer=coordinator)  # fmt: skip
            return call, changes

        def _record(self, op: Op, changes: dict[str, int]) -> None:
            for account, delta in changes.items():
                self.expected[account] = self.expected.get(account, 0) + delta
            if op.kind in ("mint", "deposit"):
                self.minted += op.amount
            elif op.kind == "redeem":
                self.burned += op.amount

        @rule(op=OPS)
        def one(self, op: Op) -> None:
            call, changes = self._prepare(op)
            debit = max(0, -changes.get(self._account(op), 0)) if op.kind != "settle" else op.amount
            affordable = self.expected.get(self._account(op), 0) >= debit
            try:
                with factory.begin() as s:
                    call(s)
            except InsufficientPoints:
                assert not affordable, f"{op} refused with {self.expected}"
                return
            assert affordable, f"{op} accepted although the model says it overdraws"
            self._record(op, changes)

        @rule(ops=st.lists(OPS, min_size=2, max_size=5))
        def concurrently(self, ops: list[Op]) -> None:
            prepared = [self._prepare(op) for op in ops]
            outcome: list[BaseException | None] = [None] * len(ops)
            start = threading.Barrier(len(ops))

            def worker(i: int) -> None:
                start.wait()
                try:
                    with factory.begin() as s:
                        prepared[i][0](s)
                except BaseException as exc:  # noqa: BLE001  (inspected below, in the test thread)
                    outcome[i] = exc

            threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(ops))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for op, (_, changes), exc in zip(ops, prepared, outcome, strict=True):
                assert exc is None or isinstance(exc, InsufficientPoints), repr(exc)
                if exc is None:
                    self._record(op, changes)

        @invariant()
        def books_balance(self) -> None:
            with factory.begin() as s:
                totals = check_books(s)  # sum = minted - burned, journal = balances, entries = 0
                stored = balances(s)
            assert totals.circulating == totals.minted - totals.burned
            assert (totals.minted, totals.burned) == (self.minted, self.burned)
            assert all(v >= 0 for v in stored.values())
            assert {a: v for a, v in stored.items() if v} == {
                a: v for a, v in self.expected.items() if v
            }

    run_state_machine_as_test(
        Conservation,
        settings=settings(max_examples=examples, stateful_step_count=steps, deadline=None,
                          database=None),
    )  # fmt: skip
    with factory.begin() as s:
        entries = load_entries(s)
        assert replay_balances(entries).balances == balances(s)  # the ledger alone agrees
        assert verify_database(s).size == len(entries)


def test_points_are_conserved_under_random_concurrent_operations(
    factory: Factory, coordinator: Signer
) -> None:
    run_machine(factory, coordinator, examples=8, steps=10)
