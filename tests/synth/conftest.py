"""A small synthetic consortium shared by the synth tests (generated once per session)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from consortium.synth import ConsortiumSummary, generate_consortium

TIMESTAMP_COLUMNS = (
    "scheduled_departure",
    "scheduled_arrival",
    "actual_departure",
    "actual_arrival",
)


@pytest.fixture(scope="session")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> ConsortiumSummary:
    """Seed 7 at scale 0.1: 6k road legs, 600 sea, 400 rail, 110 air, 3 x 731 stock rows."""
    return generate_consortium(tmp_path_factory.mktemp("synth"), seed=7, scale=0.1)


@pytest.fixture(scope="session")
def raw_tables(consortium: ConsortiumSummary) -> dict[str, pd.DataFrame]:
    """Every member's table exactly as written (all cells as strings, empty cells as "")."""
    return {
        m.member_id: pd.read_csv(consortium.out_dir / m.file, dtype=str, keep_default_na=False)
        for m in consortium.members
    }


@pytest.fixture(scope="session")
def legs(consortium: ConsortiumSummary) -> dict[str, pd.DataFrame]:
    """Each carrier's legs with UTC timestamps and ``delay_h`` (actual minus planned arrival)."""
    out = {}
    for m in consortium.members:
        if m.kind != "carrier":
            continue
        frame = pd.read_csv(consortium.out_dir / m.file)
        for column in TIMESTAMP_COLUMNS:
            frame[column] = pd.to_datetime(frame[column], format="ISO8601", utc=True)
        arrival_delay = frame["actual_arrival"] - frame["scheduled_arrival"]
        frame["delay_h"] = arrival_delay.dt.total_seconds() / 3600
        out[m.member_id] = frame
    return out


@pytest.fixture(scope="session")
def stock(consortium: ConsortiumSummary) -> dict[str, pd.DataFrame]:
    """Each warehouse's daily stock rows."""
    return {
        m.member_id: pd.read_csv(consortium.out_dir / m.file)
        for m in consortium.members
        if m.kind == "warehouse"
    }


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by relative path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def read_tree() -> object:
    """:func:`tree_bytes`, as a fixture so test modules need not import this file."""
    return tree_bytes
