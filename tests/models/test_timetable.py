"""A member's timetable as a stored ETA model: saved, loaded, and refused when malformed."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from consortium.errors import ModelError
from consortium.models.families import family
from consortium.models.family import ModelSettings
from consortium.models.store import load_model, load_stored_model, save_model
from consortium.models.timetable import TimetableEta

ARRIVALS = ["09:50", "10:00", "10:10", "10:40", "12:00"]  # -10, 0, 10, 40, 120 minutes late
LEGS = pd.DataFrame(
    {
        "leg_id": ["a", "b", "c", "d", "e"],
        "scheduled_arrival": pd.to_datetime(["2024-01-01 10:00"] * 5, utc=True),
        "actual_arrival": pd.to_datetime([f"2024-01-01 {t}" for t in ARRIVALS], utc=True),
    }
)


def _saved(tmp_path: Path) -> tuple[TimetableEta, Path]:
    make = family("eta").timetable
    assert make is not None
    model = make(ModelSettings(interval_level=0.5)).fit(LEGS)
    save_model(model, tmp_path / "m", card={"kind": "eta", "name": "own"})
    return model, tmp_path / "m"


def test_a_saved_timetable_loads_and_forecasts_the_schedule(tmp_path: Path) -> None:
    # Prepare
    model, out = _saved(tmp_path)
    # Execute
    loaded = load_stored_model(out)
    table = family("eta").forecast_table(loaded, LEGS.assign(actual_arrival=pd.NaT))
    # Assert
    assert isinstance(loaded, TimetableEta)
    assert loaded.to_dict() == model.to_dict()
    assert loaded.to_dict()["delay_lower"] == 0.0
    assert loaded.to_dict()["delay_upper"] == 40.0
    assert (table["eta"] == "2024-01-01T10:00:00+00:00").all()
    assert (table["eta_upper"] == "2024-01-01T10:40:00+00:00").all()
    assert table["p_on_time"].tolist() == [0.6] * 5  # 3 of 5 within 15 minutes
    with pytest.raises(ModelError, match="not a network"):
        load_model(out)


def test_a_malformed_timetable_is_refused_naming_the_file(tmp_path: Path) -> None:
    # Prepare
    _, out = _saved(tmp_path)
    data = json.loads((out / "timetable.json").read_text())
    (out / "timetable.json").write_text(json.dumps({**data, "on_time_rate": 1.5}))
    # Execute / Assert
    with pytest.raises(ModelError, match="timetable.json.*out of range"):
        load_stored_model(out)
    with pytest.raises(ModelError, match="not fitted"):
        TimetableEta(level=0.8, tolerance_minutes=15).predict_eta(LEGS)
