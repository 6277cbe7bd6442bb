"""Member sizes: planned without generating, honoured by the generator, scale validated."""

from __future__ import annotations

import pytest

from consortium.errors import ConfigError
from consortium.synth import ConsortiumSummary, generate_consortium, plan_consortium


def test_members_span_fifty_fold_in_size_at_scale_one() -> None:
    # Execute
    plans = plan_consortium(scale=1.0)

    # Assert
    rows = {p.member_id: p.rows for p in plans}
    assert max(rows.values()) / min(rows.values()) >= 50
    assert rows["rhine-road"] == 60_000
    assert sorted({p.modes[0] for p in plans if p.kind == "carrier"}) == [
        "air",
        "rail",
        "road",
        "sea",
    ]
    assert sum(p.kind == "warehouse" for p in plans) == 3


def test_generated_rows_match_the_plan(consortium: ConsortiumSummary) -> None:
    # Execute
    plans = plan_consortium(scale=consortium.scale)

    # Assert
    assert [(p.member_id, p.rows) for p in plans] == [
        (m.member_id, m.rows) for m in consortium.members
    ]


def test_scale_multiplies_legs_but_warehouses_keep_two_years_of_days() -> None:
    # Execute
    small = {p.member_id: p.rows for p in plan_consortium(scale=0.05)}
    full = {p.member_id: p.rows for p in plan_consortium(scale=1.0)}

    # Assert
    assert small["rhine-road"] == 3_000
    assert small["aurora-air"] == 55
    assert small["duisburg-dc"] == 731
    assert full["duisburg-dc"] == 4 * 731


@pytest.mark.parametrize("scale", [0.0, -1.0, 1000.0])
def test_unusable_scale_is_refused_naming_the_argument(scale: float) -> None:
    # Execute / Assert
    with pytest.raises(ConfigError) as caught:
        plan_consortium(scale=scale)
    assert caught.value.name == "scale"


@pytest.mark.parametrize(
    ("kwargs", "name"), [({"seed": -1}, "seed"), ({"file_format": "xlsx"}, "file_format")]
)
def test_bad_seed_or_format_is_refused_before_writing(tmp_path, kwargs: dict, name: str) -> None:  # type: ignore[no-untyped-def]
    # Execute
    with pytest.raises(ConfigError) as caught:
        generate_consortium(tmp_path / "out", scale=0.02, **kwargs)

    # Assert
    assert caught.value.name == name
    assert not (tmp_path / "out").exists()
