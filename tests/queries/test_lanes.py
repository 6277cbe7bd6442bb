import pytest

from consortium.errors import QueryRejected
from consortium.forecasts.lane import LaneAnswer
from consortium.forecasts.pooled import model_version
from consortium.ledger.canonical import parse_time
from consortium.queries.lanes import interval_frame, lane_preview
from tests.queries.world import LANE, MIN_GROUP_SIZE, World


def _paid_lane(world: World) -> LaneAnswer:
    answer = world.paid.answer
    assert isinstance(answer, LaneAnswer)
    return answer


def _preview(world: World, origin: str, destination: str, mode: str) -> LaneAnswer:
    answer = _paid_lane(world)
    with world.factory.begin() as s:
        return lane_preview(
            s, model_dir=world.models.eta_dir, origin=origin, destination=destination, mode=mode,
            departure_from=parse_time(answer.departure_from),
            departure_to=parse_time(answer.departure_to),
        )  # fmt: skip


def test_preview_gives_what_the_paid_query_answered(world: World) -> None:
    # Execute: the same lane and window as the world's paid query
    origin, destination, mode = LANE
    preview = _preview(world, origin.lower(), f" {destination}", mode)
    # Assert
    assert preview == world.paid.answer
    assert 0.0 <= preview.on_time_rate <= 1.0
    assert preview.delay_minutes_lower <= preview.delay_minutes_median
    assert preview.delay_minutes_median <= preview.delay_minutes_upper
    assert preview.model_version == model_version(world.models.eta_dir)
    assert preview.legs_in_pool >= MIN_GROUP_SIZE


def test_interval_frame_orders_lower_median_upper(world: World) -> None:
    frame = interval_frame(_paid_lane(world))
    assert frame["bound"].tolist() == ["lower", "median", "upper"]
    assert frame["transit_hours"].is_monotonic_increasing


@pytest.mark.parametrize(
    ("lane", "code"),
    [(("ITMIL", "ITMIL", "road"), "same-place"), (("ITMIL", "FRPAR", "air"), "unknown-lane")],
)
def test_preview_refuses_lanes_it_cannot_answer(
    world: World, lane: tuple[str, str, str], code: str
) -> None:
    with pytest.raises(QueryRejected) as caught:
        _preview(world, *lane)
    assert caught.value.code == code


def test_preview_refuses_a_lane_with_too_few_legs(world: World) -> None:
    # Prepare: the pooled lane with the fewest legs (fewer than the minimum group size)
    import pandas as pd

    from consortium.data import load_table
    from tests.queries.world import MEMBERS

    legs = pd.concat(
        load_table(world.models.synth_dir / "members" / carrier / "legs.csv", contract="legs",
                   purpose="eta-training").frame
        for carrier in MEMBERS.values()
    )  # fmt: skip
    counts = legs.groupby(["origin", "destination", "mode"]).size()
    rare = counts[counts < MIN_GROUP_SIZE].index[0]
    # Execute / Assert
    with pytest.raises(QueryRejected) as caught:
        _preview(world, *rare)
    assert caught.value.code == "too-few-data"
