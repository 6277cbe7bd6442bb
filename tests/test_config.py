import pytest

from consortium.config import load_settings
from consortium.errors import ConfigError


@pytest.mark.parametrize(
    ("field", "value"),
    [("interval_level", 1.0), ("interval_level", 0.0), ("stock_horizon_days", 0)],
)
def test_invalid_setting_names_the_field(field: str, value: float) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(**{field: value})
    assert info.value.name == field


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSORTIUM_ON_TIME_TOLERANCE_MINUTES", "30")
    assert load_settings().on_time_tolerance_minutes == 30
