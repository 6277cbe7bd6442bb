"""Paid queries: a cargo owner sees its balance, finds a lane or warehouse, and buys an answer.

On the owner's own machine (``--coordinator URL``) the query is signed here and bought through
the coordinator service; the history is the owner's own account. Warehouse offers need the
warehouses' data and are listed on the coordinator's own view.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from consortium.client.board_remote import account_history_frame, lane_catalogue_frame
from consortium.client.cargo import lane_params, warehouse_params
from consortium.errors import ConsortiumError
from consortium.queries.lanes import did_you_mean, lane_catalogue, lane_label, search_lanes
from consortium.queries.paid import (
    paid_queries_frame,
    query_splits_frame,
    revenue_by_account,
    split_checks,
)
from consortium.queries.policy import policy_in_force
from consortium.queries.warehouses import stock_horizon_days, warehouse_offers
from consortium.widgets.tables import for_people
from dashboards.actions import actor_key, owner_balance, submit_paid_query
from dashboards.cards import show_lane_card
from dashboards.charts import bar_chart
from dashboards.context import dashboard_context

MODES = ["sea", "road", "rail", "air"]
HISTORY_ROWS = 50

ctx = dashboard_context()
tz = ctx.viewer_zone()
catalogue: pd.DataFrame | None = None
horizon: int | None = None
offers: pd.DataFrame | None = None
tolerances: dict[str, object] = {}
if ctx.remote is not None:
    in_force = ctx.remote.policy()
    fees = dict(in_force["fees"])
    tolerances = dict(in_force.get("on_time_tolerance_minutes") or {})
    try:
        catalogue = lane_catalogue_frame(ctx.remote)
    except ConsortiumError as exc:
        st.caption(f"No lane catalogue from the coordinator: {exc.diagnostics()}")
else:
    eta_dir, stock_dir, warehouses = ctx.model_dir("eta"), ctx.model_dir("stock"), ctx.warehouses()
    with ctx.session() as s:
        board_policy = policy_in_force(s).policy
        fees = dict(board_policy.fees)
        tolerances = dict(board_policy.on_time_tolerance_minutes)
        catalogue = lane_catalogue(s, model_dir=eta_dir) if eta_dir else None
        horizon = stock_horizon_days(stock_dir) if stock_dir else None
        offers = (
            warehouse_offers(s, answerer=warehouses, model_dir=stock_dir, horizon_days=horizon)
            if warehouses is not None and stock_dir is not None and horizon is not None
            else None
        )

st.title("Paid queries")
fee_cols = st.columns(2)
fee_cols[0].metric("Lane query fee", f"{fees['lane']} points")
fee_cols[1].metric("Warehouse query fee", f"{fees['warehouse']} points")

st.subheader("Your account")
key_cols = st.columns([2, 1, 1])
key_path = key_cols[0].text_input(
    "Cargo owner's key file (on this machine)",
    key="paid-key",
    placeholder="keys/cargo-owner.key",
    help="Read here to sign, for each action; never uploaded or stored.",
)
passphrase = key_cols[1].text_input("Passphrase", type="password", key="paid-passphrase")
balance_before: int | None = None
if key_path:
    try:
        balance_before = owner_balance(ctx, key_path=Path(key_path), passphrase=passphrase)
    except ConsortiumError as exc:
        key_cols[2].caption(f"Balance unknown: {exc.diagnostics()}")
    else:
        key_cols[2].metric("Your balance", f"{balance_before:,} points")

st.subheader("Ask a forecast")
st.caption(
    "The query is signed with your key; the fee is charged only if it is answered, and split "
    "among the members whose data trained the answering model."
)
kind = st.radio(
    "Query",
    ["lane", "warehouse"],
    horizontal=True,
    key="paid-kind",
    format_func=lambda k: {"lane": "Lane ETA", "warehouse": "Warehouse stock risk"}[k],
)
params: dict[str, object] = {}
blocked: str | None = None
why_not = ""
if kind == "lane":
    if catalogue is None:
        st.warning("No pooled ETA model with a lane catalogue is configured: no lane to ask.")
    else:
        with st.expander(f"Lane catalogue: {len(catalogue)} lanes you can ask about", True):
            found = search_lanes(
                catalogue,
                st.text_input("Search lanes", key="paid-lane-search", placeholder="NLRTM rail"),
            )
            st.dataframe(
                found.rename(columns={"legs_pooled": "legs pooled (at least)"}),
                hide_index=True, key="paid-catalogue", height=220,
            )  # fmt: skip
    with st.form("paid-query-lane"):
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
        max_price = st.number_input("Most I agree to pay (points)", min_value=1,
                                    value=int(fees["lane"]), key="paid-max-price-lane")  # fmt: skip
        submitted = st.form_submit_button("Sign and buy", key="paid-submit")
    params = lane_params(
        origin=origin, destination=destination, mode=mode, departure=start, days=int(days)
    )
    near = (
        did_you_mean(catalogue, origin=origin, destination=destination, mode=mode)
        if catalogue is not None and submitted
        else None
    )
    if near is not None:
        asked = lane_label(str(params["origin"]), str(params["destination"]), mode)
        hint = (
            "Did you mean " + " or ".join(f"**{lane_label(*lane)}**" for lane in near) + "?"
            if near
            else "Search the catalogue above for the lanes the pool holds."
        )
        blocked = f"The pool holds no lane {asked}. {hint} Nothing was charged."
else:
    if offers is None and ctx.remote is not None:
        st.info("Warehouse offers (and why a warehouse would decline) are listed on the "
                "coordinator's own view, where the warehouses' data is reached.")  # fmt: skip
        warehouse = None
    elif offers is None:
        st.warning("No warehouse answers queries here (no members folder or no stock model).")
        warehouse = None
    else:
        st.dataframe(
            offers.assign(can_answer=offers["can_answer"].map({True: "yes", False: "no"}),
                          why_not=offers["why_not"].replace("", "–")),
            hide_index=True, key="paid-offers",
        )  # fmt: skip
        warehouse = st.selectbox("Warehouse", offers["warehouse"].tolist(), key="paid-warehouse")
        why_not = offers.set_index("warehouse")["why_not"].get(warehouse, "")
        if why_not:
            st.warning(f"{warehouse} would decline this query: {why_not}. Not offered for sale.")
    with st.form("paid-query-warehouse"):
        st.caption(f"Stock-out risk within {horizon or '–'} days (the pooled model's horizon).")
        max_price = st.number_input("Most I agree to pay (points)", min_value=1,
                                    value=int(fees["warehouse"]),
                                    key="paid-max-price-warehouse")  # fmt: skip
        can_buy = offers is not None and warehouse is not None and not why_not
        submitted = st.form_submit_button("Sign and buy", key="paid-submit", disabled=not can_buy)
    if warehouse is not None and horizon is not None:
        params = warehouse_params(warehouse_id=str(warehouse), horizon_days=horizon)

if submitted and blocked:
    st.warning(blocked)
elif submitted:
    try:
        bought = submit_paid_query(
            ctx, key_path=Path(key_path), passphrase=passphrase, kind=kind, params=params,
            max_price_points=int(max_price), now=datetime.now(UTC),
        )  # fmt: skip
    except ConsortiumError as exc:
        st.error(f"Not answered, nothing charged. {exc.diagnostics()}")
    else:
        before = bought.balance_left + bought.fee
        entries = " and ".join(str(seq) for seq in bought.entries)
        st.success(
            f"Answered for {bought.fee} points: your balance went from {before:,} to "
            f"{bought.balance_left:,} points (query {bought.query_id}, ledger entry "
            f"{entries})."
        )
        money = [("Price paid", f"{bought.fee} points"),
                 ("Balance left", f"{bought.balance_left:,} points")]  # fmt: skip
        if kind == "lane":
            show_lane_card(bought.answer, key="paid-answer", extra=money, tolerances=tolerances)
        else:
            answer = bought.answer
            cols = st.columns(4)
            cols[0].metric("Stock-out risk, average SKU series",
                           f"{100 * float(str(answer['p_stockout_mean'])):.1f} %")  # fmt: skip
            cols[1].metric("SKU series covered", f"{answer['sku_series']}+")
            cols[2].metric(*money[0])
            cols[3].metric(*money[1])
        parts = pd.DataFrame(sorted(bought.parts.items()), columns=["account", "points"])
        st.markdown("**Where your fee went**")
        st.dataframe(parts, hide_index=True, key="paid-parts")

st.subheader("History")
if ctx.remote is not None:
    if balance_before is None:
        st.info("Give your key file above to see your account's movements.")
    else:
        owner = actor_key(Path(key_path), passphrase)
        moves = account_history_frame(ctx.remote, owner, limit=HISTORY_ROWS)
        st.dataframe(for_people(moves, tz=tz, times=("time",)), hide_index=True,
                     key="paid-own-history")  # fmt: skip
    st.stop()
with ctx.session() as s:
    history = paid_queries_frame(s, limit=HISTORY_ROWS)
    splits = query_splits_frame(s, query_ids=history["query_id"])
    checks = split_checks(s, query_ids=history["query_id"])
if history.empty:
    st.info("No paid query has been answered yet.")
else:
    shown = history.merge(checks[["query_id", "matches"]], on="query_id", how="left")
    shown = for_people(
        shown, tz=tz, times=("time",), bps=("treasury_share_bps",),
        rename={"matches": "split_verified", "treasury_share_bps": "treasury share"},
    )  # fmt: skip
    st.dataframe(shown, hide_index=True, key="paid-history")
    left, right = st.columns(2)
    with left:
        st.markdown("**Where the fees went** (the shown queries)")
        st.altair_chart(
            bar_chart(revenue_by_account(splits), category="account", value="points",
                      title="points earned"),
            key="paid-revenue",
        )  # fmt: skip
    with right:
        st.markdown("**Splits**")
        st.dataframe(splits, hide_index=True, key="paid-splits")
