"""Streamlit renderings of the answer cards of :mod:`consortium.widgets.answer_card`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import streamlit as st

from consortium.widgets.answer_card import interval_frame, lane_card
from dashboards.charts import interval_chart


def show_lane_card(
    answer: Mapping[str, object],
    *,
    key: str,
    extra: Sequence[tuple[str, str]] = (),
    tolerances: Mapping[str, object] | None = None,
) -> None:
    """Show a lane answer as a card: figures in the mode's unit, the interval as a chart.

    ``extra`` adds ``(label, value)`` figures (the price paid, the balance left);
    ``tolerances`` is the board's on-time tolerance per mode (default: the kit's defaults).
    """
    card = lane_card(answer, tolerances=tolerances)
    with st.container(border=True, key=f"{key}-card"):
        st.markdown(f"#### {card.title}")
        st.caption(f"{card.departures}; {card.legs} of this lane in the pool.")
        figures = [
            ("Typical transit", card.transit),
            (card.interval_label, card.interval),
            ("Typical delay", card.delay),
            (card.on_time_label, card.on_time),
            *extra,
        ]
        for row in range(0, len(figures), 3):
            cols = st.columns(3)
            for col, (label, value) in zip(cols, figures[row : row + 3], strict=False):
                col.metric(label, value)
        level = float(answer.get("interval_level", 0.8))  # type: ignore[arg-type]
        st.altair_chart(
            interval_chart(interval_frame(answer), unit=card.unit, level=level),
            key=f"{key}-interval",
        )
        st.caption(
            "Delays are against the schedule (negative: early). On time means at most the "
            "board's tolerance for this mode late; model version "
            f"{str(answer.get('model_version', ''))[:12]}."
        )
