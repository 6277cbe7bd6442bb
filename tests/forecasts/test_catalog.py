"""The lane catalog: additive per-member lane totals, their secure sum, lookup and storage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consortium.errors import ConfigError, ModelError
from consortium.forecasts.catalog import (
    CATALOG_FILE,
    LANE_BUCKETS,
    SUM_ROWS,
    TABLE_BUCKETS,
    LaneCatalog,
    lane_buckets,
    lane_sums,
)
from tests.forecasts.conftest import Pool


def _legs(rows: list[tuple[str, str, str, float, float | None]]) -> pd.DataFrame:
    dep = pd.Timestamp("2025-01-06T08:00:00Z") + pd.to_timedelta(np.arange(len(rows)), unit="h")
    return pd.DataFrame(
        {
            "origin": [r[0] for r in rows],
            "destination": [r[1] for r in rows],
            "mode": [r[2] for r in rows],
            "scheduled_departure": dep,
            "scheduled_arrival": dep + pd.to_timedelta([r[3] for r in rows], unit="h"),
            "distance_km": [np.nan if r[4] is None else r[4] for r in rows],
        }
    )


def test_lookup_reports_count_and_means_of_the_pool(pool: Pool) -> None:
    # Prepare
    legs = pool.all_legs
    hours = (legs["scheduled_arrival"] - legs["scheduled_departure"]).dt.total_seconds() / 3600
    expected = (
        legs.assign(hours=hours)
        .groupby(["origin", "destination", "mode"])
        .agg(n=("hours", "size"), hours=("hours", "mean"), km=("distance_km", "mean"))
    )
    catalog = LaneCatalog(pool.sums)
    for lane, row in expected.iterrows():
        # Execute
        found = catalog.lookup(*lane)
        # Assert
        assert found is not None
        assert found.legs == row["n"]
        assert found.mean_scheduled_hours == pytest.approx(row["hours"], rel=1e-9)
        assert found.mean_distance_km == pytest.approx(row["km"], rel=1e-9)
    assert catalog.total_legs == len(legs)


def test_secure_sum_of_members_equals_totals_of_the_pooled_legs(pool: Pool) -> None:
    # Execute
    per_member = [lane_sums(frame) for frame in pool.legs.values()]
    # Assert
    assert all(s.shape == (len(SUM_ROWS), LANE_BUCKETS) for s in per_member)
    np.testing.assert_allclose(sum(per_member), lane_sums(pool.all_legs), rtol=1e-12)


def test_a_lane_sharing_a_bucket_with_another_still_reads_its_own_figures() -> None:
    # Prepare: two lanes that collide in the first table
    seen: dict[int, tuple[str, str, str]] = {}
    pair = None
    for i in range(10_000):
        lane = (f"A{i:04d}", "DEHAM", "road")
        column = lane_buckets(*lane)[0]
        if column in seen:
            pair = (seen[column], lane)
            break
        seen[column] = lane
    assert pair is not None
    first, second = pair
    legs = _legs([(*first, 10.0, 100.0)] * 3 + [(*second, 50.0, 900.0)] * 7)
    catalog = LaneCatalog(lane_sums(legs))
    # Execute
    found_first, found_second = catalog.lookup(*first), catalog.lookup(*second)
    # Assert
    assert catalog.sums[0, lane_buckets(*first)[0]] == 10  # the shared bucket mixes both lanes
    assert found_first is not None
    assert found_second is not None
    assert (found_first.legs, found_first.mean_scheduled_hours) == (3, 10.0)
    assert (found_second.legs, found_second.mean_distance_km) == (7, 900.0)
    assert catalog.total_legs == 10


def test_unknown_lane_and_missing_distance() -> None:
    # Prepare
    catalog = LaneCatalog(lane_sums(_legs([("DEHAM", "DEMUC", "road", 8.0, None)] * 3)))
    # Execute
    found = catalog.lookup("DEHAM", "DEMUC", "road")
    # Assert
    assert found is not None
    assert found.legs == 3
    assert found.mean_distance_km is None
    assert catalog.lookup("DEMUC", "DEHAM", "road") is None
    assert catalog.lookup("DEHAM", "DEMUC", "rail") is None


def test_catalog_round_trips_through_the_model_directory(pool: Pool, tmp_path: Path) -> None:
    # Prepare
    catalog = LaneCatalog(pool.sums)
    # Execute
    path = catalog.save(tmp_path / "model")
    loaded = LaneCatalog.load(tmp_path / "model")
    # Assert
    assert path.name == CATALOG_FILE
    np.testing.assert_array_equal(loaded.sums, catalog.sums)
    assert loaded.lookup("ITMIL", "FRPAR", "road") == catalog.lookup("ITMIL", "FRPAR", "road")


def test_loading_refuses_missing_foreign_key_and_malformed_files(
    pool: Pool, tmp_path: Path
) -> None:
    # Prepare
    LaneCatalog(pool.sums, key=b"another-consortium").save(tmp_path / "foreign")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / CATALOG_FILE).write_bytes(b"not an npz file")
    # Execute / Assert
    with pytest.raises(ModelError, match="missing"):
        LaneCatalog.load(tmp_path / "nowhere")
    with pytest.raises(ModelError, match="another lane hashing key"):
        LaneCatalog.load(tmp_path / "foreign")
    with pytest.raises(ModelError, match="not a lane catalog"):
        LaneCatalog.load(tmp_path / "broken")


def test_malformed_sums_are_config_errors_naming_lane_sums() -> None:
    with pytest.raises(ConfigError) as caught:
        LaneCatalog(np.zeros((3, LANE_BUCKETS)))
    assert caught.value.name == "lane_sums"
    bad = np.zeros((len(SUM_ROWS), LANE_BUCKETS))
    bad[0, 5] = np.nan
    with pytest.raises(ConfigError, match="non-finite"):
        LaneCatalog(bad)
    bad[0, 5] = -3.0
    with pytest.raises(ConfigError, match="negative"):
        LaneCatalog(bad)
    with pytest.raises(ConfigError, match="missing columns"):
        lane_sums(pd.DataFrame({"origin": ["A"], "destination": ["B"]}))


_PLACES = st.sampled_from(["DEHAM", "DEMUC", "NLRTM", "CNSHA"])
_ROW = st.tuples(
    _PLACES,
    _PLACES,
    st.sampled_from(["sea", "road"]),
    st.floats(0.5, 900.0),
    st.one_of(st.none(), st.floats(1.0, 20000.0)),
)


@settings(max_examples=25, deadline=None)
@given(st.lists(_ROW, min_size=0, max_size=12), st.lists(_ROW, min_size=0, max_size=12))
def test_lane_sums_are_additive_over_members(
    first: list[tuple[str, str, str, float, float | None]],
    second: list[tuple[str, str, str, float, float | None]],
) -> None:
    # Execute
    together = lane_sums(_legs(first + second))
    # Assert
    np.testing.assert_allclose(lane_sums(_legs(first)) + lane_sums(_legs(second)), together)
    assert together[0, :TABLE_BUCKETS].sum() == len(first) + len(second)
