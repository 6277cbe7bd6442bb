"""Who is in the synthetic consortium, how big each member is, and how it behaves.

The specs are fixed data. :func:`plan_consortium` turns them into row counts for a ``scale``
without generating anything, so sizes can be checked (and shown) cheaply.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Literal

from consortium.errors import ConfigError
from consortium.synth.places import Mode
from consortium.synth.world import N_DAYS

Kind = Literal["carrier", "warehouse"]
MAX_SCALE = 20.0
MIN_CARRIER_ROWS = 10


@dataclass(frozen=True)
class CargoType:
    """A cargo category: its share of the member's legs and its effect on delay (mode units)."""

    name: str
    share: float
    delay_effect: float


@dataclass(frozen=True)
class CarrierSpec:
    """A carrier member: one mode, its lanes, its punctuality and its data habits.

    ``punctuality_bias`` and ``congestion_sensitivity`` are in units of the mode's delay scale;
    ``local_time`` says whether its systems write timestamps in the local time of each location
    (else UTC); ``personal_extras`` adds the ``driver_name`` and ``internal_note`` columns.
    """

    member_id: str
    display_name: str
    mode: Mode
    carrier_code: str
    base_rows: int
    punctuality_bias: float
    congestion_sensitivity: float
    noise_scale: float
    local_time: bool
    cargo: tuple[CargoType, ...]
    missing_departure_rate: float
    missing_weather_rate: float = 0.0
    personal_extras: bool = False

    @property
    def kind(self) -> Kind:
        """Always ``"carrier"``."""
        return "carrier"

    @property
    def modes(self) -> tuple[Mode, ...]:
        """The modes this member operates."""
        return (self.mode,)


@dataclass(frozen=True)
class SkuGroup:
    """One SKU group of a warehouse: demand level, replenishment lead time, capacity headroom."""

    name: str
    daily_units: float
    lead_days: int
    peak_doy: int
    season_amplitude: float
    spike_rate_per_year: float


@dataclass(frozen=True)
class WarehouseSpec:
    """A warehouse member at a world location, fed by inbound legs from ``upstream`` hubs.

    ``upstream`` lists (location code, weight, transit days): congestion and weather there,
    ``transit days`` before an expected delivery, delay the delivery.
    """

    member_id: str
    display_name: str
    warehouse_id: str
    location: str
    inbound_modes: tuple[Mode, ...]
    upstream: tuple[tuple[str, float, int], ...]
    sku_groups: tuple[SkuGroup, ...]

    @property
    def kind(self) -> Kind:
        """Always ``"warehouse"``."""
        return "warehouse"

    @property
    def modes(self) -> tuple[Mode, ...]:
        """The modes its inbound deliveries arrive by."""
        return self.inbound_modes


MemberSpec = CarrierSpec | WarehouseSpec


@dataclass(frozen=True)
class MemberPlan:
    """What one member will hold at a given scale (no data generated)."""

    member_id: str
    display_name: str
    kind: Kind
    modes: tuple[Mode, ...]
    rows: int
    contract: Literal["legs", "stock"]


_C = CargoType
CARRIERS: tuple[CarrierSpec, ...] = (
    CarrierSpec(
        "meridian-line", "Meridian Container Line", "sea", "MRDN", 6_000,
        punctuality_bias=0.2, congestion_sensitivity=1.0, noise_scale=1.0, local_time=False,
        cargo=(_C("dry", 0.75, 0.0), _C("reefer", 0.15, -0.3), _C("dangerous-goods", 0.07, 0.5),
               _C("out-of-gauge", 0.03, 0.8)),
        missing_departure_rate=0.01,
    ),
    CarrierSpec(
        "rhine-road", "Rhine Road Freight", "road", "RHRF", 60_000,
        punctuality_bias=-0.1, congestion_sensitivity=1.2, noise_scale=1.0, local_time=True,
        cargo=(_C("general", 0.5, 0.0), _C("palletised", 0.3, -0.1),
               _C("temperature-controlled", 0.15, -0.3), _C("hazardous", 0.05, 0.6)),
        missing_departure_rate=0.06, personal_extras=True,
    ),
    CarrierSpec(
        "silk-corridor-rail", "Silk Corridor Rail", "rail", "SCRL", 4_000,
        punctuality_bias=0.4, congestion_sensitivity=0.9, noise_scale=1.1, local_time=True,
        cargo=(_C("container", 0.7, 0.0), _C("automotive", 0.2, 0.2), _C("bulk", 0.1, 0.5)),
        missing_departure_rate=0.03, missing_weather_rate=0.01,
    ),
    CarrierSpec(
        "aurora-air", "Aurora Air Cargo", "air", "AURA", 1_100,
        punctuality_bias=-0.2, congestion_sensitivity=1.0, noise_scale=0.9, local_time=True,
        cargo=(_C("general", 0.55, 0.0), _C("express", 0.2, -0.4), _C("perishable", 0.12, -0.2),
               _C("pharma", 0.08, -0.3), _C("dangerous-goods", 0.05, 0.6)),
        missing_departure_rate=0.02,
    ),
)  # fmt: skip

_S = SkuGroup
WAREHOUSES: tuple[WarehouseSpec, ...] = (
    WarehouseSpec(
        "duisburg-dc", "Duisburg Distribution Centre", "WH-DEDUI-01", "DEDUI", ("road", "rail"),
        upstream=(("DEDUI", 1.0, 0), ("NLRTM", 0.3, 2), ("CNCKG", 0.15, 16)),
        sku_groups=(_S("electronics", 420.0, 6, 335, 0.35, 4.0),
                    _S("automotive-parts", 300.0, 5, 100, 0.10, 2.0),
                    _S("fmcg", 900.0, 3, 350, 0.15, 6.0),
                    _S("furniture", 120.0, 8, 300, 0.20, 2.0)),
    ),
    WarehouseSpec(
        "rotterdam-dc", "Rotterdam Port Warehouse", "WH-NLRTM-01", "NLRTM", ("sea", "road"),
        upstream=(("NLRTM", 1.0, 0), ("CNSHA", 0.25, 30), ("SGSIN", 0.15, 24)),
        sku_groups=(_S("fmcg", 1200.0, 4, 350, 0.15, 6.0),
                    _S("apparel", 500.0, 7, 280, 0.30, 3.0),
                    _S("chemicals", 250.0, 6, 150, 0.05, 1.0)),
    ),
    WarehouseSpec(
        "warsaw-dc", "Warsaw Fulfilment Centre", "WH-PLWAW-01", "PLWAW", ("road", "rail"),
        upstream=(("PLWAW", 1.0, 0), ("DEDUI", 0.25, 1), ("CNCKG", 0.15, 15)),
        sku_groups=(_S("e-commerce-parcels", 1500.0, 3, 330, 0.45, 6.0),
                    _S("apparel", 350.0, 5, 280, 0.30, 3.0)),
    ),
)  # fmt: skip

MEMBERS: tuple[MemberSpec, ...] = CARRIERS + WAREHOUSES


def check_scale(scale: float) -> float:
    """Return ``scale`` if usable, else raise :class:`ConfigError` naming it."""
    if not 0.0 < scale <= MAX_SCALE:
        raise ConfigError("scale", f"must be in (0, {MAX_SCALE:g}], got {scale!r}")
    return float(scale)


def carrier_rows(spec: CarrierSpec, scale: float) -> int:
    """Return the number of legs of a carrier at ``scale`` (never fewer than a handful)."""
    return max(MIN_CARRIER_ROWS, round(spec.base_rows * check_scale(scale)))


def active_sku_groups(spec: WarehouseSpec, scale: float) -> tuple[SkuGroup, ...]:
    """Return the SKU groups a warehouse reports at ``scale``.

    Warehouses always keep the full two-year daily history; below scale 1 they report fewer
    SKU groups (at least one, at most all of them).
    """
    n = len(spec.sku_groups)
    return spec.sku_groups[: min(n, max(1, round(n * check_scale(scale))))]


def member_rows(spec: MemberSpec, scale: float) -> int:
    """Return the number of rows the member's table will have at ``scale``."""
    if isinstance(spec, CarrierSpec):
        return carrier_rows(spec, scale)
    return len(active_sku_groups(spec, scale)) * N_DAYS


def stream_key(member_id: str) -> int:
    """Return the seed sub-stream of a member, stable whatever other members exist (>= 100)."""
    return 100 + zlib.crc32(member_id.encode()) % 1_000_000


def plan_consortium(*, scale: float = 1.0) -> tuple[MemberPlan, ...]:
    """Return every member's size and kind at ``scale`` without generating data.

    Examples
    --------
    >>> plans = plan_consortium(scale=1.0)
    >>> max(p.rows for p in plans) / min(p.rows for p in plans) >= 50
    True
    """
    check_scale(scale)
    return tuple(
        MemberPlan(
            member_id=spec.member_id,
            display_name=spec.display_name,
            kind=spec.kind,
            modes=spec.modes,
            rows=member_rows(spec, scale),
            contract="legs" if isinstance(spec, CarrierSpec) else "stock",
        )
        for spec in MEMBERS
    )
