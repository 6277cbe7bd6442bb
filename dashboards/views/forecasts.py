"""Pooled forecasts: preview a lane forecast, and each model card's per-member metrics and ε."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import streamlit as st

from consortium.errors import ConsortiumError
from consortium.queries.lanes import did_you_mean, lane_catalogue, lane_label, lane_preview
from consortium.queries.models import card_epsilon_frame, member_metrics_frame, model_cards
from consortium.queries.policy import policy_in_force
from consortium.queries.rounds import epsilon_frame, rounds_frame
from consortium.queries.value import value_frame, value_metric_label
from consortium.queries.warehouses import stock_reliability
from consortium.widgets.tables import for_people
from dashboards.cards import show_lane_card
from dashboards.charts import bar_chart, epsilon_chart, reliability_chart, value_chart
from dashboards.context import dashboard_context

MODES = ["sea", "road", "rail", "air"]

ctx = dashboard_context()
st.title("Pooled forecasts")
models_dir = ctx.config.models_dir
if models_dir is None:
    st.info(
        "No models folder configured: pass `-- --models DIR` (e.g. `demo_output`) or set "
        "`models_dir` in the secrets."
    )
    st.stop()
cards = model_cards(models_dir)
eta_dir = ctx.model_dir("eta")

st.subheader("Lane forecast preview")
if eta_dir is None:
    st.warning(f"No federated ETA model with a lane catalog under {models_dir}.")
else:
    st.caption(
        f"From the pooled ETA model in `{eta_dir}`; free and unrecorded (a paid query "
        "returns the same aggregates)."
    )
    with st.form("lane-preview"):
        form_cols = st.columns(5)
        origin = form_cols[0].text_input(
            "Origin", value="", key="preview-origin", placeholder="CNSHA"
        )
        destination = form_cols[1].text_input(
            "Destination", value="", key="preview-destination", placeholder="NLRTM"
        )
        mode = form_cols[2].selectbox("Mode", MODES, key="preview-mode")
        start = form_cols[3].date_input("Departures from", value=date.today(), key="preview-from")
        days = form_cols[4].number_input(
            "Window (days)", min_value=1, max_value=92, value=7, key="preview-days"
        )
        asked = st.form_submit_button("Forecast", key="preview-submit")
    if asked:
        window_start = datetime.combine(start, time(0, 0), tzinfo=UTC)
        try:
            with ctx.session() as s:
                answer = lane_preview(
                    s,
                    model_dir=eta_dir,
                    origin=origin,
                    destination=destination,
                    mode=mode,
                    departure_from=window_start,
                    departure_to=window_start + timedelta(days=int(days)),
                )
        except ConsortiumError as exc:
            st.error(exc.diagnostics())
            if getattr(exc, "code", "") == "unknown-lane":
                with ctx.session() as s:
                    near = did_you_mean(lane_catalogue(s, model_dir=eta_dir), origin=origin,
                                        destination=destination, mode=mode)  # fmt: skip
                if near:
                    st.info("Did you mean " + " or ".join(lane_label(*n) for n in near) + "?")
        else:
            show_lane_card(answer.summary(), key="preview")

st.subheader("Model cards")
if not cards:
    st.info(f"No model directory (with a model_card.json) under {models_dir}.")
    st.stop()
by_path = {str(c.path): c for c in cards}
chosen = st.selectbox(
    "Model",
    options=list(by_path),
    key="cards-model",
    format_func=lambda p: f"{by_path[p].name} ({by_path[p].kind}) - {p}",
)
card = by_path[chosen]
card_cols = st.columns(3)
card_cols[0].metric("Kind", card.kind)
card_cols[1].metric("Members", "–" if card.members is None else card.members)
card_cols[2].metric("Rounds", "–" if card.rounds is None else card.rounds)
st.caption(f"Aggregation: {card.secure_aggregation or 'local (no federation)'}.")

metrics = member_metrics_frame(card.path)
if metrics.empty:
    st.info("This card has no per-member metrics (it was not trained by a federation).")
else:
    st.markdown("**The global model on each member's own test rows**")
    metric = st.selectbox("Metric", sorted(metrics["metric"].unique()), key="cards-metric")
    st.altair_chart(
        bar_chart(metrics[metrics["metric"] == metric], category="member", value="value",
                  title=metric),
        key="cards-metrics-chart",
    )  # fmt: skip

st.markdown("**The value of joining**: each member's models on its own later rows")
value = value_frame(card.path)
if value is None:
    st.info(
        f"No value table yet: `consortium value --model {card.kind} --members DIR --out-dir "
        f"{card.path.parent}` scores each member's timetable, local-only, pooled and own models."
    )
else:
    st.altair_chart(value_chart(value, metric=value_metric_label(card.kind)), key="cards-value")
    gains = value.drop_duplicates("member")[["member", "chosen", "gain_percent"]]
    st.dataframe(
        gains.assign(gain_percent=gains["gain_percent"].map(lambda g: f"{g:+.1f} %")).rename(
            columns={"chosen": "own model is", "gain_percent": "gain over its best local model"}
        ),
        hide_index=True, key="cards-gains",
    )  # fmt: skip

if card.kind == "stock":
    st.markdown("**Reliability of the stock-out probabilities** (pooled over the warehouses)")
    warehouses = ctx.warehouses()
    if warehouses is None:
        st.info("The warehouses score it where their data lives: pass `-- --members DIR`.")
    else:
        with ctx.session() as s:
            curve = stock_reliability(s, answerer=warehouses, model_dir=card.path)
        st.altair_chart(reliability_chart(curve), key="cards-reliability")
        st.caption("On the dashed diagonal, a predicted 30 % means 30 % of SKU-days ran out.")

st.markdown("**ε spent per member after each round** (cumulative; never decreases)")
with ctx.session() as s:
    epsilon = epsilon_frame(s, model=card.kind)
    rounds = rounds_frame(s, model=card.kind)
    cap = policy_in_force(s).policy.max_epsilon_per_round
if epsilon.empty:
    epsilon = card_epsilon_frame(card.path)
if epsilon.empty:
    st.info("No round has been recorded for this model.")
else:
    st.altair_chart(epsilon_chart(epsilon, cap_per_round=cap), key="cards-epsilon")
    st.caption(
        f"The dotted line is the most the board's cap ({cap:g} per round) lets a member have "
        "spent; each member's own total budget stays with the member and bounds it further."
    )
st.dataframe(
    for_people(rounds, tz=ctx.viewer_zone(), times=("time",)), hide_index=True, key="cards-rounds"
)
