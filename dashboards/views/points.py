"""Points: supply, the books check, every account's balance, and what each round paid for.

From the coordinator's database, or through its service (``--coordinator URL``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from consortium.client.public_remote import (
    balances_frame_of,
    contributions_frame_of,
    points_history_frame_of,
    points_overview_of,
)
from consortium.queries.points import balances_frame, points_history_frame, points_overview
from consortium.queries.rounds import contributions_frame
from consortium.widgets.tables import for_people
from dashboards.charts import bar_chart, points_over_time_chart
from dashboards.context import dashboard_context

ctx = dashboard_context()
tz = ctx.viewer_zone()
if ctx.remote is not None:
    overview = points_overview_of(ctx.remote)
    balances = balances_frame_of(ctx.remote)
    contributions = contributions_frame_of(ctx.remote)
    history = points_history_frame_of(ctx.remote)
else:
    with ctx.session() as s:
        overview = points_overview(s)
        balances = balances_frame(s)
        contributions = contributions_frame(s)
        history = points_history_frame(s)

st.title("Points")
cols = st.columns(3)
cols[0].metric("Minted", overview.minted)
cols[1].metric("Redeemed (burned)", overview.burned)
cols[2].metric("In circulation", overview.circulating)
cols = st.columns(3)
cols[0].metric("Held by members (voting)", overview.member_points)
cols[1].metric("Held by cargo owners", overview.cargo_points)
cols[2].metric("Treasury", overview.treasury_points)
by = "" if ctx.remote is None else " (the coordinator service's check of its books)"
if overview.books_ok:
    st.success(
        f"The books balance{by}: {overview.accounts} accounts sum to minted - burned, and "
        "every account's journal sums to its balance."
    )
else:
    st.error(f"The books do not balance: {overview.books_problem}")

st.subheader("Points over time")
if history.empty:
    st.info("No member has earned or spent points yet.")
else:
    st.altair_chart(
        points_over_time_chart(history.assign(time=history["time"].map(
            lambda t: pd.Timestamp(t).tz_convert(tz).tz_localize(None))),
            time_title=f"time ({tz})"),
        key="points-history",
    )  # fmt: skip
    st.caption("Each member's points after every ledger entry that moved them.")

st.subheader("Balances")
kinds = st.multiselect(
    "Account kinds",
    options=["member", "cargo", "treasury"],
    default=["member", "cargo", "treasury"],
    key="points-kinds",
)
shown = balances[balances["kind"].isin(kinds)]
st.altair_chart(bar_chart(shown, category="account", value="balance", title="points",
                          colour="kind"), key="points-balances-chart")  # fmt: skip
st.dataframe(shown, hide_index=True, key="points-balances")

st.subheader("Contributions")
st.caption(
    "Points minted for each member in each federated round, under the board's rule in force: "
    "`examples` pays the examples trained (capped); `leave-one-out` splits the same pot by each "
    "member's measured value to the consortium's validation loss (quality, parts per million). "
    "A round whose scores were refused pays nobody."
)
st.dataframe(for_people(contributions, tz=tz), hide_index=True, key="points-contributions")
