"""The one frozen :class:`Settings`, built once at an edge and passed down.

Values come from keyword arguments, then ``CONSORTIUM_*`` environment variables, then defaults.
The forecast defaults below are the only place those numbers are written: the model settings
(:class:`consortium.models.family.ModelSettings`) and the coordinator's run config
(:class:`consortium.federation.instructions.RunConfig`) take theirs from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from consortium.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_INTERVAL_LEVEL = 0.8
"""Nominal coverage of ETA intervals."""
DEFAULT_TOLERANCE_MINUTES = 15
"""An arrival within this many minutes of schedule is on time."""
DEFAULT_HORIZON_DAYS = 7
"""Horizon of the stock-risk model."""
ON_TIME_TOLERANCE_MINUTES_BY_MODE: Mapping[str, int] = MappingProxyType(
    {"sea": 1440, "rail": 720, "road": 60, "air": 15}
)
"""What a cargo owner counts as on time, per mode: a sea voyage within a day of schedule (the
usual schedule-reliability window), rail within 12 hours, road within an hour, air within 15
minutes. These are the defaults of the board's policy key ``on_time_tolerance_minutes``
(changed by an ``on-time-tolerance`` proposal); a lane answer reads its on-time share at the
tolerance in force for its mode."""


class Settings(BaseSettings):
    """Consortium-wide and member-local settings.

    Examples
    --------
    >>> s = Settings(interval_level=0.9)
    >>> s.interval_level
    0.9
    """

    model_config = SettingsConfigDict(env_prefix="CONSORTIUM_", frozen=True, extra="forbid")

    home: Path = Field(
        default=Path(".consortium"),
        description="Member-local state: keys, privacy accountant, witnessed tree heads.",
    )
    schemas_dir: Path = Field(
        default=REPO_ROOT / "data_schemas", description="Folder of the data contracts."
    )
    database_url: str = Field(
        default="sqlite:///.consortium/consortium.db",
        description="SQLAlchemy URL of the coordinator's stores (SQLite or PostgreSQL).",
    )
    interval_level: float = Field(
        default=DEFAULT_INTERVAL_LEVEL, description="Nominal coverage of ETA intervals."
    )
    on_time_tolerance_minutes: int = Field(
        default=DEFAULT_TOLERANCE_MINUTES,
        description="An arrival within this many minutes of schedule is on time.",
    )
    stock_horizon_days: int = Field(
        default=DEFAULT_HORIZON_DAYS, description="Horizon of the stock-risk model."
    )
    max_reported_problems: int = Field(
        default=50, description="Contract problems listed before the rest are only counted."
    )
    models_dir: Path | None = Field(
        default=None,
        description="Folder holding model directories (the dashboard's pooled models).",
    )
    members_dir: Path | None = Field(
        default=None,
        description=(
            "Synthetic consortium folder whose warehouse members answer queries (one machine)."
        ),
    )
    coordinator_key: Path | None = Field(
        default=None, description="The coordinator's private key file (signs paid-query entries)."
    )
    coordinator: str | None = Field(
        default=None,
        description="The coordinator service's URL, for a client on its own machine (dashboard).",
    )
    coordinator_pin: str | None = Field(
        default=None, description="The coordinator key id the client pinned (`coordinator init`)."
    )
    coordinator_ca: Path | None = Field(
        default=None, description="The consortium CA certificate (PEM) of the service's TLS."
    )

    @field_validator("interval_level")
    @classmethod
    def _check_level(cls, v: float) -> float:
        if not 0.0 < v < 1.0:
            raise ValueError("must be strictly between 0 and 1")
        return v

    @field_validator("on_time_tolerance_minutes", "stock_horizon_days", "max_reported_problems")
    @classmethod
    def _check_positive(cls, v: int) -> int:
        if v <= 0:
            raise ValueError("must be positive")
        return v


def load_settings(**overrides: object) -> Settings:
    """Build :class:`Settings`, turning pydantic's error into a :class:`ConfigError`.

    Raises
    ------
    ConfigError
        Naming the first invalid field and why.
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(name, first["msg"]) from exc

