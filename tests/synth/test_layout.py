"""Generated files follow the layout and the legs/stock data contracts."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from consortium.config import load_settings
from consortium.synth import (
    LEGS_COLUMNS,
    PERSONAL_EXTRAS,
    PURPOSES,
    STOCK_COLUMNS,
    ConsortiumSummary,
)

ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
TIMESTAMPS = ("scheduled_departure", "scheduled_arrival", "actual_departure", "actual_arrival")


def _contract_fields(name: str) -> dict[str, dict]:  # type: ignore[type-arg]
    schema = json.loads((load_settings().schemas_dir / f"{name}.v1.json").read_text())
    return {field["name"]: field for field in schema["fields"]}


def test_each_member_has_its_table_declaration_and_card(consortium: ConsortiumSummary) -> None:
    # Execute
    written = json.loads((consortium.out_dir / "consortium.json").read_text())

    # Assert
    assert written["date_range"] == {"start": "2024-01-01", "end": "2025-12-31"}
    assert written["total_rows"] == consortium.total_rows
    for m in consortium.members:
        folder = consortium.out_dir / "members" / m.member_id
        card = json.loads((folder / "member.json").read_text())
        sources = json.loads((folder / "sources.json").read_text())
        assert (card["member_id"], card["kind"], card["rows"]) == (m.member_id, m.kind, m.rows)
        assert sources["member_id"] == m.member_id
        assert sources["sources"] == [
            {"path": card["file"], "contract": m.contract, "purposes": list(PURPOSES[m.contract])}
        ]


def test_legs_have_the_contract_columns_and_only_the_trucker_adds_extras(
    raw_tables: dict[str, pd.DataFrame], consortium: ConsortiumSummary
) -> None:
    # Prepare
    contract = _contract_fields("legs")

    # Execute
    headers = {
        m.member_id: list(raw_tables[m.member_id].columns)
        for m in consortium.members
        if m.kind == "carrier"
    }

    # Assert
    assert set(LEGS_COLUMNS) <= set(contract)
    assert contract["driver_name"].get("x-personal") is True
    assert "internal_note" not in contract
    for member_id, header in headers.items():
        extras = list(PERSONAL_EXTRAS) if member_id == "rhine-road" else []
        assert header == list(LEGS_COLUMNS) + extras
    assert raw_tables["rhine-road"]["driver_name"].str.fullmatch(r"Driver \d{4}").all()


def test_stock_has_exactly_the_contract_columns(
    raw_tables: dict[str, pd.DataFrame], consortium: ConsortiumSummary
) -> None:
    # Prepare
    contract = _contract_fields("stock")

    # Execute
    headers = [
        list(raw_tables[m.member_id].columns) for m in consortium.members if m.kind == "warehouse"
    ]

    # Assert
    assert headers == [list(STOCK_COLUMNS)] * 3
    assert set(STOCK_COLUMNS) <= set(contract)


def test_every_timestamp_carries_an_offset_and_some_are_local(
    legs: dict[str, pd.DataFrame], raw_tables: dict[str, pd.DataFrame]
) -> None:
    # Execute
    offsets: set[str] = set()
    for member_id in legs:
        table = raw_tables[member_id]
        for column in TIMESTAMPS:
            present = table[column][table[column] != ""]
            assert present.str.fullmatch(ISO_WITH_OFFSET).all(), (member_id, column)
            offsets |= set(present.str[-6:])

    # Assert
    assert {"+00:00", "+01:00", "+02:00", "+08:00"} <= offsets
    assert any(o.startswith("-") for o in offsets)


def test_legs_arrive_after_they_depart(legs: dict[str, pd.DataFrame]) -> None:
    for member_id, frame in legs.items():
        # Execute
        departed = frame.dropna(subset=["actual_departure"])

        # Assert
        assert (frame["scheduled_arrival"] > frame["scheduled_departure"]).all(), member_id
        assert (departed["actual_arrival"] > departed["actual_departure"]).all(), member_id
        assert frame["leg_id"].is_unique
        assert 0.9 < frame["actual_departure"].notna().mean() < 1.0


def test_locations_are_real_codes_of_their_mode(legs: dict[str, pd.DataFrame]) -> None:
    for frame in legs.values():
        # Execute
        codes = pd.concat([frame["origin"], frame["destination"]])
        expected = r"[A-Z]{3}" if (frame["mode"] == "air").all() else r"[A-Z]{2}[A-Z0-9]{3}"

        # Assert
        assert codes.str.fullmatch(expected).all()
    assert {"CNSHA", "NLRTM"} <= set(legs["meridian-line"]["origin"]) | set(
        legs["meridian-line"]["destination"]
    )


def test_stock_rows_keep_the_stock_constraints(stock: dict[str, pd.DataFrame]) -> None:
    for frame in stock.values():
        # Execute
        key = frame[["warehouse_id", "sku_group", "date"]]
        dates = pd.to_datetime(frame["date"], format="%Y-%m-%d")
        counts = frame[["on_hand_units", "inbound_units", "outbound_units", "open_orders"]]

        # Assert
        assert not key.duplicated().any()
        assert (counts >= 0).all().all()
        assert (frame["capacity_units"] > 0).all()
        assert (frame["lead_time_days"] >= 0).all()
        assert dates.min() == pd.Timestamp("2024-01-01")
        assert dates.max() == pd.Timestamp("2025-12-31")
        for _, group in frame.groupby("sku_group"):
            # stock is conserved: today's on hand = yesterday's + inbound - outbound
            flow = (
                group["on_hand_units"].shift(1) + group["inbound_units"] - group["outbound_units"]
            )
            assert np.array_equal(
                flow.iloc[1:].to_numpy(), group["on_hand_units"].iloc[1:].to_numpy()
            )


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_every_generated_file_loads_for_each_declared_purpose(tmp_path, file_format: str) -> None:  # type: ignore[no-untyped-def]
    # Prepare
    data = pytest.importorskip(
        "consortium.data", reason="consortium.data (the contract loader) is not built yet"
    )
    from consortium.synth import generate_consortium

    summary = generate_consortium(tmp_path, seed=7, scale=0.02, file_format=file_format)  # type: ignore[arg-type]

    # Execute
    loaded = {
        (m.member_id, purpose): data.load_table(
            summary.out_dir / m.file, contract=m.contract, purpose=purpose
        )
        for m in summary.members
        for purpose in PURPOSES[m.contract]
    }

    # Assert
    for (member_id, _), table in loaded.items():
        assert table.n_rows == summary.member(member_id).rows
    trucker = loaded[("rhine-road", "eta-training")]
    assert trucker.dropped_columns == ("internal_note",)
    assert trucker.personal_columns_removed == ("driver_name",)
    assert "driver_name" not in trucker.frame.columns
