"""Pooled forecasts: preview a lane forecast, and each model card's per-member metrics and ε.

Through the coordinator service (``--coordinator URL``) the cards come from
``GET /v1/models/{kind}/card`` and ε per round from the ledger's rounds; the free lane preview
and the value of joining need the models folder, so they are on the coordinator's own view
(a cargo owner buys a forecast on the Paid queries page).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import streamlit as st

from consortium.client.board_remote import policy_state
from consortium.client.public_remote import epsilon_frame_of, model_cards_of, rounds_frame_of
from consortium.errors import ConsortiumError
from consortium.queries.lanes import did_you_mean, lane_catalogue, lane_label, lane_preview
from consortium.queries.models import (
    ModelCardView,
    card_epsilon_frame,
    card_epsilon_of,
    member_metrics_frame,
    member_metrics_of,
    model_cards,
)
from consortium.queries.policy import policy_in_force
from consortium.queries.rounds import epsilon_frame, rounds_frame
from consortium.queries.value import value_frame, value_metric_label
from consortium.queries.warehouses import stock_reliability
from dashboards.cards import show_lane_card
from dashboards.charts import reliability_chart, value_chart
from dashboards.context import dashboard_context
from dashboards.model_panels import show_epsilon, show_headline, show_member_metrics

MODES = ["sea", "road", "rail", "air"]

ctx = dashboard_context()
st.title("Pooled forecasts")
if ctx.remote is not None:
    remote = ctx.remote
    st.info(
        "Lane forecasts are bought on the Paid queries page, signed with your own key. The free "
        "preview and each member's value of joining are on the coordinator's own view."
    )
    served = model_cards_of(remote)
    st.subheader("Model cards")
    if not served:
        st.info(f"The coordinator service at {remote.url} offers no pooled model yet.")
        st.stop()
    kind = st.selectbox(
        "Model", options=list(served), key="cards-model",
        format_func=lambda k: f"{served[k].get('name', k)} ({k}), served by {remote.url}",
    )  # fmt: skip
    show_headline(ModelCardView.of(Path(kind), served[kind]))
    show_member_metrics(member_metrics_of(served[kind]))
    epsilon = epsilon_frame_of(remote, model=kind)
    show_epsilon(epsilon if not epsilon.empty else card_epsilon_of(served[kind]),
                 cap=policy_state(remote)[0].policy.max_epsilon_per_round,
                 rounds=rounds_frame_of(remote, model=kind), tz=ctx.viewer_zone())  # fmt: skip
    st.stop()
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
            with ctx.session() as s:
                tolerances = policy_in_force(s).policy.on_time_tolerance_minutes
            show_lane_card(answer.summary(), key="preview", tolerances=tolerances)

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
show_headline(card)
show_member_metrics(member_metrics_frame(card.path))

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

with ctx.session() as s:
    epsilon = epsilon_frame(s, model=card.kind)
    rounds = rounds_frame(s, model=card.kind)
    cap = policy_in_force(s).policy.max_epsilon_per_round
show_epsilon(epsilon if not epsilon.empty else card_epsilon_frame(card.path), cap=cap,
             rounds=rounds, tz=ctx.viewer_zone())  # fmt: skip
