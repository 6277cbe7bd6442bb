"""Governance: proposals with their state and tally, voting power at the snapshot, the policy."""

from __future__ import annotations

import altair as alt
import streamlit as st

from consortium.queries.governance import (
    proposals,
    proposals_frame,
    tally_frame,
    voting_power_frame,
)
from consortium.queries.policy import policy_history_frame, policy_in_force, policy_parameters
from dashboards.context import dashboard_context

ctx = dashboard_context()
now = ctx.now()
with ctx.session() as s:
    views = proposals(s, now=now)
    in_force = policy_in_force(s)
    history = policy_history_frame(s)

st.title("Governance")
st.subheader("Proposals")
if not views:
    st.info("No proposal yet. Members propose and vote with `consortium dao` or a notebook.")
else:
    st.caption(f"States as of {now:%Y-%m-%d %H:%M:%S} UTC.")
    st.dataframe(proposals_frame(views), hide_index=True, key="gov-proposals")
    by_id = {v.proposal_id: v for v in views}
    chosen = st.selectbox(
        "Proposal",
        options=list(by_id),
        key="gov-proposal",
        format_func=lambda pid: f"{pid} - {by_id[pid].title} ({by_id[pid].state})",
    )
    view = by_id[chosen]
    cols = st.columns(4)
    cols[0].metric("State", view.state)
    cols[1].metric("Total power at snapshot", view.total_power)
    cols[2].metric("Quorum (for + abstain)", view.quorum_power)
    cols[3].metric("Snapshot (ledger position)", view.snapshot_seq)
    st.caption(
        f"Voting from {view.vote_start} to {view.deadline}; "
        f"{'quorum reached' if view.quorum_reached else 'quorum not reached'}; "
        f"{view.votes} vote(s)."
    )
    left, right = st.columns(2)
    with left:
        st.markdown("**Tally**")
        bars = (
            alt.Chart(tally_frame(view))
            .mark_bar()
            .encode(x=alt.X("power:Q", title="voting power"), y=alt.Y("support:N", sort=None))
        )
        quorum_rule = alt.Chart().mark_rule(color="red").encode(x=alt.datum(view.quorum_power))
        st.altair_chart(bars + quorum_rule, key="gov-tally")
    with ctx.session() as s:
        powers = voting_power_frame(s, view.proposal_id)
    with right:
        st.markdown("**Voting power at the snapshot** (capped)")
        st.bar_chart(powers, x="member", y="power")
    st.dataframe(powers, hide_index=True, key="gov-powers")

st.subheader("Policy in force")
source = (
    "defaults"
    if in_force.version == 0
    else (
        f"version {in_force.version}, ledger entry {in_force.seq}"
        + (f", proposal {in_force.proposal_id}" if in_force.proposal_id else "")
    )
)
st.caption(f"Policy {source}.")
st.dataframe(policy_parameters(in_force.policy), hide_index=True, key="gov-policy")
st.markdown("**History**")
st.dataframe(history, hide_index=True, key="gov-policy-history")
