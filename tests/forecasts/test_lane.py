"""Lane answers from the real pooled ETA model: aggregates only, refusals before any charge."""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from consortium.errors import ModelError, QueryRejected
from consortium.forecasts.catalog import LaneCatalog
from consortium.forecasts.lane import (
    DEPARTURE_STEP_HOURS,
    MAX_WINDOW_DAYS,
    LaneRequest,
    answer_lane,
    representative_legs,
)
from consortium.forecasts.pooled import (
    lane_catalog,
    model_version,
    pooled_eta_model,
    pooled_stock_model,
)
from tests.forecasts.conftest import Pool

WEEK = {"departure_from": "2025-06-02T00:00:00+02:00", "departure_to": "2025-06-09T00:00:00+02:00"}


def _request(origin: str, destination: str, mode: str, **window: str) -> LaneRequest:
    params = {"origin": origin, "destination": destination, "mode": mode, **WEEK, **window}
    return LaneRequest.from_params(params)


def test_lane_answer_aggregates_the_pooled_model_over_the_window(pool: Pool) -> None:
    # Prepare
    model, version = pooled_eta_model(pool.eta_dir)
    catalog = lane_catalog(pool.eta_dir)
    request = _request("ITMIL", "FRPAR", "road")
    stats = catalog.lookup("ITMIL", "FRPAR", "road")
    assert stats is not None
    legs = representative_legs(
        request, hours=stats.mean_scheduled_hours, distance_km=stats.mean_distance_km
    )
    scores = model.predict_eta(legs)
    # Execute
    answer = answer_lane(
        model=model, catalog=catalog, request=request, model_version=version, min_group_size=10
    )
    # Assert
    assert answer.departures == 7 * 24 // DEPARTURE_STEP_HOURS == len(legs)
    assert answer.on_time_rate == pytest.approx(scores["p_on_time"].mean(), abs=1e-4)
    assert answer.delay_minutes_median == pytest.approx(
        np.median(scores["delay_minutes"]), abs=0.05
    )
    assert answer.delay_minutes_lower <= answer.delay_minutes_median <= answer.delay_minutes_upper
    assert answer.transit_hours_lower <= answer.transit_hours_median <= answer.transit_hours_upper
    assert answer.transit_hours_median == pytest.approx(
        stats.mean_scheduled_hours + answer.delay_minutes_median / 60, abs=0.01
    )
    assert answer.legs_in_pool % 10 == 0
    assert stats.legs - 10 < answer.legs_in_pool <= stats.legs
    assert answer.model_version == version == model_version(pool.eta_dir)
    assert answer.departure_from == "2025-06-01T22:00:00.000000Z"
    assert 0.0 <= answer.on_time_rate <= 1.0
    assert answer.interval_level == pytest.approx(0.8)


def test_representative_legs_step_through_the_window_with_the_pool_means() -> None:
    # Prepare
    request = _request(
        "CNSHA", "DEHAM", "sea",
        departure_from="2025-06-02T00:00:00Z", departure_to="2025-06-03T01:00:00Z",
    )  # fmt: skip
    # Execute
    legs = representative_legs(request, hours=700.5, distance_km=None)
    # Assert
    assert len(legs) == 5  # 00, 06, 12, 18 and 00 the next day (before 01:00)
    assert (
        (legs["scheduled_arrival"] - legs["scheduled_departure"])
        .eq(pd.Timedelta(hours=700, minutes=30))
        .all()
    )
    assert legs["distance_km"].isna().all()
    assert set(legs["carrier"]) == {""}


def test_unknown_lane_and_too_few_pooled_legs_are_refused(pool: Pool) -> None:
    # Prepare
    model, version = pooled_eta_model(pool.eta_dir)
    catalog = lane_catalog(pool.eta_dir)
    known = catalog.lookup("ITMIL", "FRPAR", "road")
    assert known is not None
    # Execute / Assert
    with pytest.raises(QueryRejected) as unknown:
        answer_lane(model=model, catalog=catalog, request=_request("ITMIL", "FRPAR", "air"),
                    model_version=version, min_group_size=1)  # fmt: skip
    with pytest.raises(QueryRejected) as few:
        answer_lane(model=model, catalog=catalog, request=_request("ITMIL", "FRPAR", "road"),
                    model_version=version, min_group_size=known.legs + 1)  # fmt: skip
    assert unknown.value.code == "unknown-lane"
    assert unknown.value.subject == "lane ITMIL>FRPAR (air)"
    assert few.value.code == "too-few-data"


@pytest.mark.parametrize(
    ("window", "code"),
    [
        ({"departure_to": "2025-06-01T00:00:00Z"}, "bad-window"),
        ({"departure_to": WEEK["departure_from"]}, "bad-window"),
        (
            {
                "departure_to": (
                    datetime(2025, 6, 2, tzinfo=UTC) + timedelta(days=MAX_WINDOW_DAYS + 1)
                ).isoformat()
            },
            "bad-window",
        ),
        ({"departure_from": "2025-06-02T00:00:00"}, "bad-window"),
    ],
)
def test_bad_windows_are_refused(window: dict[str, str], code: str) -> None:
    with pytest.raises(QueryRejected) as caught:
        _request("ITMIL", "FRPAR", "road", **window)
    assert caught.value.code == code


def test_origin_equal_to_destination_is_refused() -> None:
    with pytest.raises(QueryRejected) as caught:
        _request("ITMIL", "ITMIL", "road")
    assert caught.value.code == "same-place"


def test_model_version_follows_the_weights_file_and_the_cache_reloads(
    pool: Pool, tmp_path: Path
) -> None:
    # Prepare
    copy = tmp_path / "eta"
    shutil.copytree(pool.eta_dir, copy)
    first_model, first = pooled_eta_model(copy)
    again_model, again = pooled_eta_model(copy)
    state = first_model.network.state_dict()
    state = {k: v.clone() + (0.01 if v.is_floating_point() else 0) for k, v in state.items()}
    # Execute
    torch.save(state, copy / "weights.pt")
    second_model, second = pooled_eta_model(copy)
    # Assert
    assert again_model is first_model
    assert again == first
    assert first == hashlib.sha256((pool.eta_dir / "weights.pt").read_bytes()).hexdigest()
    assert second == hashlib.sha256((copy / "weights.pt").read_bytes()).hexdigest() != first
    assert second_model is not first_model


def test_model_kinds_and_missing_files_are_model_errors(pool: Pool, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="ETA model"):
        pooled_stock_model(pool.eta_dir)
    with pytest.raises(ModelError, match="stock-risk model"):
        pooled_eta_model(pool.stock_dir)
    with pytest.raises(ModelError, match="missing"):
        model_version(tmp_path)
    with pytest.raises(ModelError, match="missing"):
        lane_catalog(pool.stock_dir)
    assert isinstance(lane_catalog(pool.eta_dir), LaneCatalog)


def test_a_board_tolerance_reads_the_share_on_time_from_each_departures_interval(
    pool: Pool,
) -> None:
    # Prepare
    model, version = pooled_eta_model(pool.eta_dir)
    catalog = lane_catalog(pool.eta_dir)
    request = _request("ITMIL", "FRPAR", "road")
    ask = partial(answer_lane, model=model, catalog=catalog, request=request,
                  model_version=version, min_group_size=10)  # fmt: skip
    # Execute
    trained = ask(tolerance_minutes=model.spec.tolerance_minutes)
    month = ask(tolerance_minutes=30 * 1440)
    # Assert: the model's own tolerance keeps its calibrated probability; a month late is past
    # every departure's upper bound, so the share is the interval's upper quantile
    assert trained == ask()
    assert month.tolerance_minutes == 30 * 1440
    assert month.on_time_rate == pytest.approx((1 + model.spec.interval_level) / 2)
