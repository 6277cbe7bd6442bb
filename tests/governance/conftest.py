"""A small consortium for the governance tests: three members holding points, short timings.

``alpha`` 600, ``beta`` 300, ``gamma`` 100 contribution points (so 1000 in all); the board's
cap is 50 % (alpha votes with 500), quorum 40 %, voting opens 60 s after a proposal, lasts one
hour, late-quorum extension 5 minutes, timelock 10 minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from consortium.governance import models as _governance_models  # noqa: F401  (tables)
from consortium.governance.clock import ManualClock
from consortium.governance.rules import Support
from consortium.governance.store import cast_vote, queue_proposal
from consortium.ledger.signing import Signer
from consortium.membership import admit_member
from consortium.points import models as _points_models  # noqa: F401  (tables)
from consortium.points.store import mint
from consortium.policy.store import change_policy

BALANCES = {"alpha": 600, "beta": 300, "gamma": 100}
TIMINGS = {
    "voting_delay_s": 60,
    "voting_period_s": 3600,
    "quorum_bps": 4000,
    "timelock_s": 600,
    "late_quorum_extension_s": 300,
    "vote_power_cap_bps": 5000,
}


@dataclass
class Board:
    """The consortium under test: its keys, session factory, and the coordinator's clock.

    The clock is injected into the store API (never through a user-facing option); it only moves
    forwards, as the ledger's entry times must.
    """

    factory: sessionmaker[Session]
    coordinator: Signer
    keys: dict[str, Signer]
    t0: datetime
    clock: ManualClock

    def at(self, seconds: float) -> datetime:
        """A time ``seconds`` after the proposals' creation time."""
        return self.t0 + timedelta(seconds=seconds)

    def tick(self, seconds: float) -> ManualClock:
        """Move the coordinator's clock to :meth:`at` ``(seconds)`` and return it."""
        self.clock.set(self.at(seconds))
        return self.clock

    def elapsed(self) -> float:
        """Seconds from :attr:`t0` to the coordinator's clock."""
        return (self.clock.now() - self.t0).total_seconds()

    def until(self, moment: datetime) -> ManualClock:
        """Move the coordinator's clock to ``moment`` and return it."""
        self.clock.set(moment)
        return self.clock

    def pass_and_queue(self, proposal_id: str, *, voters: tuple[str, ...] = ("alpha", "beta"),
                       created: float = 0) -> datetime:  # fmt: skip
        """Vote ``for`` with ``voters``, queue after the deadline; return the eta."""
        with self.factory.begin() as s:
            for name in voters:
                cast_vote(s, proposal_id=proposal_id, support=Support.FOR,
                          signer=self.keys[name], clock=self.tick(created + 61))  # fmt: skip
        with self.factory.begin() as s:
            record = queue_proposal(s, proposal_id=proposal_id, clock=self.tick(created + 7200),
                                    signer=self.coordinator)  # fmt: skip
        assert record.eta is not None
        return record.eta

    def pass_and_queue_all(self, proposal_ids: list[str]) -> list[datetime]:
        """Vote ``for`` every proposal (alpha, beta) at 62 s, queue each at 7200 s; the etas."""
        with self.factory.begin() as s:
            for pid in proposal_ids:
                for name in ("alpha", "beta"):
                    cast_vote(s, proposal_id=pid, support=Support.FOR, signer=self.keys[name],
                              clock=self.tick(62))  # fmt: skip
        etas = []
        with self.factory.begin() as s:
            for pid in proposal_ids:
                record = queue_proposal(s, proposal_id=pid, clock=self.tick(7200),
                                        signer=self.coordinator)  # fmt: skip
                assert record.eta is not None
                etas.append(record.eta)
        return etas


@pytest.fixture
def board(factory: sessionmaker[Session], coordinator: Signer) -> Board:
    """Members admitted, points minted (round 1 of ``eta``), short governance timings."""
    keys = {name: Signer.generate() for name in BALANCES}
    with factory.begin() as s:
        for name, key in keys.items():
            admit_member(s, member=name, public_key=key.public_key, signer=coordinator)
        for name, amount in BALANCES.items():
            mint(s, account=f"member:{name}", amount=amount, reason="contribution",
                 refs={"model": "eta", "round": 1}, signer=coordinator)  # fmt: skip
        change_policy(s, changes=TIMINGS, signer=coordinator)
    # Proposals are made "tomorrow": every entry written so far (real clock) precedes them.
    t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    return Board(factory, coordinator, keys, t0, ManualClock(t0))
