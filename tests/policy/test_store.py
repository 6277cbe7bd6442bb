"""Policy versions on SQLite and PostgreSQL: one row and one signed entry per change."""

from __future__ import annotations

import doctest
import threading

import pytest
from sqlalchemy.orm import Session, sessionmaker

from consortium.errors import GovernanceError
from consortium.identity.registry import register_key
from consortium.ledger.audit import verify_database
from consortium.ledger.keyring import Role
from consortium.ledger.signing import Signer
from consortium.ledger.store import ledger_size, load_entries
from consortium.policy import model as policy_model
from consortium.policy import store as policy_store
from consortium.policy.model import ConsortiumPolicy, policy_from_entries
from consortium.policy.store import (
    change_policy,
    current_policy,
    current_version,
    policy_at,
    policy_history,
)

Factory = sessionmaker[Session]


def _size(factory: Factory) -> tuple[int, int]:
    with factory.begin() as s:
        return ledger_size(s), current_version(s)


def test_defaults_apply_until_the_board_changes_them(factory: Factory) -> None:
    with factory.begin() as s:
        assert current_policy(s) == ConsortiumPolicy()
        assert current_version(s) == 0
        assert policy_history(s) == []


def test_a_change_is_a_version_and_a_signed_entry(factory: Factory, coordinator: Signer) -> None:
    # Execute
    with factory.begin() as s:
        first = change_policy(s, changes={"fees": {"lane": 12}, "max_epsilon_per_round": 1.5},
                              signer=coordinator, proposal_id="prop-7")  # fmt: skip
        second = change_policy(s, changes={"treasury_share_bps": 500}, signer=coordinator)
    # Assert
    with factory.begin() as s:
        entries = load_entries(s)
        history = policy_history(s)
        assert current_policy(s) == second
        assert policy_at(s, seq=entries[-2].seq) == ConsortiumPolicy()
        assert policy_at(s, seq=entries[-1].seq) == first
        assert policy_at(s, seq=entries[-1].seq + 1) == second
        report = verify_database(s)
    assert dict(second.fees) == {"lane": 12, "warehouse": 25}
    assert (second.max_epsilon_per_round, second.treasury_share_bps) == (1.5, 500)
    assert [(v.version, v.seq, v.proposal_id) for v in history] == [
        (1, entries[-2].seq, "prop-7"), (2, entries[-1].seq, None)
    ]  # fmt: skip
    assert entries[-2].kind == "policy-changed"
    assert entries[-2].payload_object() == {
        "version": 1, "fees": {"lane": 12, "warehouse": 25}, "max_epsilon_per_round": 1.5,
        "proposal_id": "prop-7",
    }  # fmt: skip
    assert entries[-1].payload_object() == {"version": 2, "treasury_share_bps": 500}
    assert entries[-1].actor == coordinator.key_id
    assert policy_from_entries(entries) == second  # anyone rebuilds it from the ledger
    assert report.size == len(entries)


def test_only_the_coordinator_key_changes_the_policy(factory: Factory, coordinator: Signer) -> None:
    # Prepare
    others = [Signer.generate() for _ in range(3)]
    with factory.begin() as s:
        register_key(s, public_key=others[0].public_key, role=Role.BOARD, signer=coordinator)
        register_key(s, public_key=others[1].public_key, role=Role.TREASURER, signer=coordinator)
    before = _size(factory)
    for signer in others:  # board, treasurer, unregistered
        # Execute
        with pytest.raises(GovernanceError) as caught, factory.begin() as s:
            change_policy(s, changes={"quorum_bps": 100}, signer=signer)
        # Assert
        assert caught.value.code == "not-allowed"
        assert _size(factory) == before


@pytest.mark.parametrize(
    ("kwargs", "subject", "code"),
    [
        ({"changes": {"quorum_bps": 20_000}}, "quorum_bps", "bad-policy-value"),
        ({"changes": {"max_epsilon_per_round": 0}}, "max_epsilon_per_round", "bad-policy-value"),
        ({"changes": {"colour": "red"}}, "colour", "unknown-policy-key"),
        ({"changes": {"quorum_bps": 1}, "proposal_id": "a proposal"}, "proposal_id",
         "bad-proposal-id"),
    ],
)  # fmt: skip
def test_invalid_changes_write_nothing(
    factory: Factory, coordinator: Signer, kwargs: dict[str, object], subject: str, code: str
) -> None:
    before = _size(factory)
    with pytest.raises(GovernanceError) as caught, factory.begin() as s:
        change_policy(s, signer=coordinator, **kwargs)  # type: ignore[arg-type]
    assert (caught.value.subject, caught.value.code) == (subject, code)
    assert _size(factory) == before


def test_concurrent_changes_each_build_on_the_latest_version(
    factory: Factory, coordinator: Signer
) -> None:
    # Prepare: four executors change four different keys at the same moment
    changes = [{"quorum_bps": 2500}, {"timelock_s": 7200}, {"fees": {"lane": 11}},
               {"fees": {"warehouse": 30}}]  # fmt: skip
    errors: list[BaseException] = []
    start = threading.Barrier(len(changes))

    def worker(change: dict[str, object]) -> None:
        start.wait()
        try:
            with factory.begin() as s:
                change_policy(s, changes=change, signer=coordinator)
        except BaseException as exc:  # noqa: BLE001  (reported by the test thread)
            errors.append(exc)

    # Execute
    threads = [threading.Thread(target=worker, args=(c,)) for c in changes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Assert: no change was lost to a stale read
    assert errors == []
    with factory.begin() as s:
        policy = current_policy(s)
        assert [v.version for v in policy_history(s)] == [1, 2, 3, 4]
        assert policy_from_entries(load_entries(s)) == policy
    assert (policy.quorum_bps, policy.timelock_s) == (2500, 7200)
    assert dict(policy.fees) == {"lane": 11, "warehouse": 30}


@pytest.mark.parametrize("module", [policy_model, policy_store])
def test_docstring_examples_run(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert (result.failed, result.attempted > 0) == (0, True)
