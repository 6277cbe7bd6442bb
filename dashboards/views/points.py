"""Points: supply, the books check, and every account's balance."""

from __future__ import annotations

import streamlit as st

from consortium.queries.points import balances_frame, points_overview
from dashboards.context import dashboard_context

ctx = dashboard_context()
with ctx.session() as s:
    overview = points_overview(s)
    balances = balances_frame(s)

st.title("Points")
cols = st.columns(3)
cols[0].metric("Minted", overview.minted)
cols[1].metric("Redeemed (burned)", overview.burned)
cols[2].metric("In circulation", overview.circulating)
cols = st.columns(3)
cols[0].metric("Held by members (voting)", overview.member_points)
cols[1].metric("Held by cargo owners", overview.cargo_points)
cols[2].metric("Treasury", overview.treasury_points)
if overview.books_ok:
    st.success(
        f"The books balance: {overview.accounts} accounts sum to minted - burned, and "
        "every account's journal sums to its balance."
    )
else:
    st.error(f"The books do not balance: {overview.books_problem}")

st.subheader("Balances")
kinds = st.multiselect(
    "Account kinds",
    options=["member", "cargo", "treasury"],
    default=["member", "cargo", "treasury"],
    key="points-kinds",
)
shown = balances[balances["kind"].isin(kinds)]
st.bar_chart(shown, x="account", y="balance", color="kind", horizontal=True)
st.dataframe(shown, hide_index=True, key="points-balances")
