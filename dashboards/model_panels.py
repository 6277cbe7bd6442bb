"""The model card panels of the Pooled forecasts page, whichever way the card was read.

The coordinator's own view reads cards from its models folder; a member's or cargo owner's
dashboard gets them from the coordinator service (``GET /v1/models/{kind}/card``). Both show a
card with these panels: its headline, the global model on each member's rows, and ε spent per
member after each round against the board's cap.
"""

from __future__ import annotations

from datetime import tzinfo

import pandas as pd
import streamlit as st

from consortium.queries.models import ModelCardView
from consortium.widgets.tables import for_people
from dashboards.charts import bar_chart, epsilon_chart


def show_headline(card: ModelCardView) -> None:
    """Show what the model is: its kind, members, rounds and how updates were aggregated."""
    cols = st.columns(3)
    cols[0].metric("Kind", card.kind)
    cols[1].metric("Members", "–" if card.members is None else card.members)
    cols[2].metric("Rounds", "–" if card.rounds is None else card.rounds)
    st.caption(f"Aggregation: {card.secure_aggregation or 'local (no federation)'}.")


def show_member_metrics(metrics: pd.DataFrame) -> None:
    """Show the global model's metrics on each member's own test rows (one metric at a time)."""
    if metrics.empty:
        st.info("This card has no per-member metrics (it was not trained by a federation).")
        return
    st.markdown("**The global model on each member's own test rows**")
    metric = st.selectbox("Metric", sorted(metrics["metric"].unique()), key="cards-metric")
    st.altair_chart(
        bar_chart(metrics[metrics["metric"] == metric], category="member", value="value",
                  title=metric),
        key="cards-metrics-chart",
    )  # fmt: skip


def show_epsilon(
    epsilon: pd.DataFrame, *, cap: float, rounds: pd.DataFrame, tz: tzinfo
) -> None:
    """Show ε spent per member after each round against the board's cap, and the rounds."""
    st.markdown("**ε spent per member after each round** (cumulative; never decreases)")
    if epsilon.empty:
        st.info("No round has been recorded for this model.")
    else:
        st.altair_chart(epsilon_chart(epsilon, cap_per_round=cap), key="cards-epsilon")
        st.caption(
            f"The dotted line is the most the board's cap ({cap:g} per round) lets a member "
            "have spent; each member's own total budget stays with the member and bounds it "
            "further."
        )
    st.dataframe(for_people(rounds, tz=tz, times=("time",)), hide_index=True, key="cards-rounds")
