"""Paid queries: a cargo owner signs and submits a lane or warehouse query; history and splits."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from consortium.client.cargo import lane_params, warehouse_params
from consortium.errors import ConsortiumError
from consortium.queries.paid import (
    paid_queries_frame,
    query_splits_frame,
    revenue_by_account,
    split_checks,
)
from consortium.queries.policy import policy_in_force
from dashboards.actions import submit_paid_query
from dashboards.context import dashboard_context

MODES = ["sea", "road", "rail", "air"]
HISTORY_ROWS = 50

ctx = dashboard_context()
with ctx.session() as s:
    fees = dict(policy_in_force(s).policy.fees)

st.title("Paid queries")
fee_cols = st.columns(2)
fee_cols[0].metric("Lane query fee", f"{fees['lane']} points")
fee_cols[1].metric("Warehouse query fee", f"{fees['warehouse']} points")

st.subheader("Ask a forecast")
st.caption(
    "The query is signed with the cargo owner's key; the fee is charged only if it is "
    "answered, and split among the contributors of the answering model."
)
kind = st.radio(
    "Query",
    ["lane", "warehouse"],
    horizontal=True,
    key="paid-kind",
    format_func=lambda k: {"lane": "Lane ETA", "warehouse": "Warehouse stock risk"}[k],
)
with st.form("paid-query"):
    key_cols = st.columns(2)
    key_path = key_cols[0].text_input(
        "Cargo owner's key file", key="paid-key", placeholder="keys/cargo-owner.key"
    )
    passphrase = key_cols[1].text_input("Passphrase", type="password", key="paid-passphrase")
    params: dict[str, object] = {}
    if kind == "lane":
        lane_cols = st.columns(5)
        origin = lane_cols[0].text_input("Origin", key="paid-origin", placeholder="CNSHA")
        destination = lane_cols[1].text_input(
            "Destination", key="paid-destination", placeholder="NLRTM"
        )
        mode = lane_cols[2].selectbox("Mode", MODES, key="paid-mode")
        start = lane_cols[3].date_input("Departures from", value=date.today(), key="paid-from")
        days = lane_cols[4].number_input(
            "Window (days)", min_value=1, max_value=92, value=7, key="paid-days"
        )
        params = lane_params(
            origin=origin, destination=destination, mode=mode, departure=start, days=int(days)
        )
    else:
        known = ctx.warehouse_ids()
        warehouse_cols = st.columns(2)
        if known:
            warehouse = warehouse_cols[0].selectbox("Warehouse", known, key="paid-warehouse")
        else:
            warehouse = warehouse_cols[0].text_input(
                "Warehouse id", key="paid-warehouse", placeholder="WH-NLRTM-01"
            )
        horizon = warehouse_cols[1].number_input(
            "Horizon (days)", min_value=1, max_value=90, value=7, key="paid-horizon"
        )
        params = warehouse_params(warehouse_id=str(warehouse), horizon_days=int(horizon))
    max_price = st.number_input(
        "Most I agree to pay (points)",
        min_value=1,
        value=int(fees[kind]),
        key=f"paid-max-price-{kind}",
    )
    submitted = st.form_submit_button("Sign and submit", key="paid-submit")

if submitted:
    try:
        paid = submit_paid_query(
            ctx,
            key_path=Path(key_path),
            passphrase=passphrase,
            kind=kind,
            params=params,
            max_price_points=int(max_price),
            now=datetime.now(UTC),
        )
    except ConsortiumError as exc:
        st.error(f"Not answered, nothing charged. {exc.diagnostics()}")
    else:
        st.success(
            f"Query {paid.query_id} answered for {paid.fee} points "
            f"(ledger entries {paid.settled_seq} and {paid.answered_seq})."
        )
        st.json(paid.answer.summary(), expanded=True)
        parts = pd.DataFrame(sorted(paid.parts.items()), columns=["account", "points"])
        st.dataframe(parts, hide_index=True, key="paid-parts")

st.subheader("History")
with ctx.session() as s:
    history = paid_queries_frame(s, limit=HISTORY_ROWS)
    splits = query_splits_frame(s, query_ids=history["query_id"])
    checks = split_checks(s, query_ids=history["query_id"])
if history.empty:
    st.info("No paid query has been answered yet.")
else:
    shown = history.merge(checks[["query_id", "matches"]], on="query_id", how="left")
    shown = shown.rename(columns={"matches": "split_verified"})
    st.dataframe(shown, hide_index=True, key="paid-history")
    left, right = st.columns(2)
    with left:
        st.markdown("**Where the fees went** (the shown queries)")
        st.bar_chart(revenue_by_account(splits), x="account", y="points", horizontal=True)
    with right:
        st.markdown("**Splits**")
        st.dataframe(splits, hide_index=True, key="paid-splits")
