"""The round index: round-completed entries found by model version through an indexed column."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from consortium.errors import PointsError
from consortium.ledger.kinds import EntryKind
from consortium.ledger.signing import Signer
from consortium.ledger.store import append_entry, ledger_size, load_entries
from consortium.points.models import RoundRow
from consortium.points.rounds import (
    append_round_completed,
    index_rounds,
    latest_rounds,
    round_of_version,
)

Factory = sessionmaker[Session]


def _rounds(factory: Factory) -> int:
    with factory.begin() as s:
        return int(s.execute(select(func.count()).select_from(RoundRow)).scalar_one())


def test_the_round_of_a_version_is_found_and_the_latest_entry_wins(
    factory: Factory, coordinator: Signer
) -> None:
    # Prepare: "v2" is recorded twice for eta (a later round re-produced it), once for stock
    with factory.begin() as s:
        for model, round_, version in [("eta", 1, "v1"), ("eta", 2, "v2"), ("stock", 1, "v2"),
                                       ("eta", 3, "v2"), ("eta", 4, "v4")]:  # fmt: skip
            append_round_completed(
                s, payload={"model": model, "round": round_, "model_version": version},
                signer=coordinator,
            )  # fmt: skip
    # Execute
    with factory.begin() as s:
        found = {
            (model, version): round_of_version(s, model=model, version=version)
            for model, version in [("eta", "v1"), ("eta", "v2"), ("stock", "v2"),
                                   ("stock", "v1"), ("eta", "v9")]
        }  # fmt: skip
        latest = latest_rounds(s)
        kinds = [e.kind for e in load_entries(s, start=1)]
    # Assert
    assert found == {("eta", "v1"): 1, ("eta", "v2"): 3, ("stock", "v2"): 1,
                     ("stock", "v1"): None, ("eta", "v9"): None}  # fmt: skip
    assert latest == {"eta": 4, "stock": 1}
    assert kinds == [EntryKind.ROUND_COMPLETED] * 5


@pytest.mark.parametrize(
    "payload",
    [
        {"round": 1, "model_version": "v1"},
        {"model": "eta", "model_version": "v1"},
        {"model": "eta", "round": -1},
        {"model": "eta", "round": True},
        {"model": "", "round": 1},
    ],
)
def test_a_round_entry_without_model_or_round_is_refused_and_nothing_is_written(
    factory: Factory, coordinator: Signer, payload: dict[str, object]
) -> None:
    # Prepare
    with factory.begin() as s:
        before = ledger_size(s)
    # Execute
    with pytest.raises(PointsError) as caught, factory.begin() as s:
        append_round_completed(s, payload=payload, signer=coordinator)
    # Assert
    assert caught.value.code == "bad-round"
    with factory.begin() as s:
        assert ledger_size(s) == before
    assert _rounds(factory) == 0


def test_index_rounds_indexes_entries_written_before_the_index_once(
    factory: Factory, coordinator: Signer
) -> None:
    # Prepare: entries appended directly, as a database from before the index holds them
    with factory.begin() as s:
        append_entry(s, kind=EntryKind.ROUND_COMPLETED, signer=coordinator,
                     payload={"model": "eta", "round": 1, "model_version": "v1"})  # fmt: skip
        append_entry(s, kind=EntryKind.ROUND_FAILED, signer=coordinator,
                     payload={"model": "eta", "round": 2, "code": "no-results"})  # fmt: skip
        append_entry(s, kind=EntryKind.ROUND_COMPLETED, signer=coordinator,
                     payload={"model": "eta", "round": "3"})  # fmt: skip
        append_round_completed(s, payload={"model": "eta", "round": 4, "model_version": "v4"},
                               signer=coordinator)  # fmt: skip
    with factory.begin() as s:
        assert round_of_version(s, model="eta", version="v1") is None
    # Execute
    with factory.begin() as s:
        first = index_rounds(s)
    with factory.begin() as s:
        again = index_rounds(s)
    # Assert
    assert (first, again) == (1, 0)
    with factory.begin() as s:
        assert round_of_version(s, model="eta", version="v1") == 1
        assert latest_rounds(s) == {"eta": 4}
    assert _rounds(factory) == 2
