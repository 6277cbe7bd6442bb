"""Governance: proposals with their state and tally, what each would change, voting power, policy.

On a board member's own machine (``--coordinator URL --pin KEYID``) the member also proposes
and votes here, signed with its own key file and sent through the coordinator service, and
sees its own power at each proposal's snapshot. The coordinator's own view only reads.
"""

from __future__ import annotations

import altair as alt
import streamlit as st

from consortium.client.board_remote import changes_frame, policy_state, power_frame, proposal_views
from consortium.queries.governance import (
    proposals,
    proposals_frame,
    tally_frame,
    voting_power_frame,
)
from consortium.queries.policy import (
    flatten_policy,
    policy_history_frame,
    policy_in_force,
    proposal_changes,
)
from consortium.widgets.tables import (
    changes_table,
    for_people,
    policy_table,
    power_table,
    proposals_table,
)
from consortium.widgets.units import local_time
from dashboards.board_panels import advance_panel, propose_panel, show_done, vote_panel, your_key
from dashboards.charts import bar_chart
from dashboards.context import dashboard_context

ctx = dashboard_context()
now, tz = ctx.now(), ctx.viewer_zone()
remote = ctx.remote
if remote is not None:
    views = proposal_views(remote)
    in_force, history = policy_state(remote)
else:
    with ctx.session() as s:
        views = proposals(s, now=now)
        in_force = policy_in_force(s)
        history = policy_history_frame(s)

st.title("Governance")
show_done()
me = your_key(ctx) if remote is not None else None
if remote is None:
    st.caption(
        "The coordinator's read-only view. A board member proposes and votes from the dashboard "
        "on its own machine, signed with its own key through the coordinator service: "
        "`streamlit run dashboards/app.py -- --coordinator URL --pin KEYID --ca FILE`."
    )
elif me is not None:
    propose_panel(ctx, in_force.policy, me)
st.subheader("Proposals")
if not views:
    st.info(
        "No proposal yet. A board member proposes from this page on its own machine (or with "
        "`consortium propose --coordinator URL`), signed with its own key."
    )
else:
    st.caption(f"States as of {local_time(now, tz=tz)}.")
    st.dataframe(proposals_table(proposals_frame(views), tz=tz), hide_index=True,
                 key="gov-proposals")  # fmt: skip
    by_id = {v.proposal_id: v for v in views}
    chosen = st.selectbox(
        "Proposal",
        options=list(by_id),
        key="gov-proposal",
        format_func=lambda pid: f"{by_id[pid].title} ({by_id[pid].state}): {pid}",
    )
    view = by_id[chosen]
    if remote is not None:
        changes = changes_frame(remote, view.proposal_id)
        powers = power_frame(remote, view.proposal_id)
    else:
        with ctx.session() as s:
            changes = proposal_changes(s, kind=view.kind, params=view.params)
            powers = voting_power_frame(s, view.proposal_id)
    cols = st.columns(4)
    cols[0].metric("State", view.state)
    cols[1].metric("Total power at snapshot", f"{view.total_power:,}")
    cols[2].metric("Quorum (for + abstain)", f"{view.quorum_power:,}")
    cols[3].metric("Snapshot (ledger entry)", view.snapshot_seq)
    st.caption(
        f"Proposed by {view.proposer}. Voting opens {local_time(view.vote_start, tz=tz)} and "
        f"closes {local_time(view.deadline, tz=tz)}; "
        f"{'quorum reached' if view.quorum_reached else 'quorum not reached'}; "
        f"{view.votes} vote(s)."
    )
    if me is not None:
        mine = powers[powers["member"] == me[2].member]
        power = int(mine["power"].iloc[0]) if not mine.empty else 0
        voted = str(mine["support"].iloc[0]) if not mine.empty else ""
        st.metric(f"Your power at the snapshot ({me[2].member})", f"{power:,}",
                  help="Capped points held at the snapshot's ledger entry."
                  + (f" You voted {voted}." if voted else ""))  # fmt: skip
    st.markdown(f"**What it changes** ({view.kind})")
    st.dataframe(changes_table(changes), hide_index=True, key="gov-changes")
    left, right = st.columns(2)
    with left:
        st.markdown("**Tally**")
        bars = (
            alt.Chart(tally_frame(view))
            .mark_bar()
            .encode(
                x=alt.X("power:Q", title="voting power (capped points)"),
                y=alt.Y("support:N", sort=None, title=None),
            )
        )
        quorum_rule = alt.Chart().mark_rule(color="red").encode(x=alt.datum(view.quorum_power))
        st.altair_chart((bars + quorum_rule).properties(height=160), key="gov-tally")
    with right:
        st.markdown("**Voting power at the snapshot** (capped)")
        st.altair_chart(
            bar_chart(powers, category="member", value="power", title="voting power"),
            key="gov-power-chart",
        )
    st.dataframe(power_table(powers), hide_index=True, key="gov-powers")
    if me is not None:
        vote_panel(ctx, view, me)
    if remote is not None:
        advance_panel(ctx, view)

st.subheader("Policy in force")
source = (
    "the defaults"
    if in_force.version == 0
    else (
        f"version {in_force.version}, set {local_time(in_force.time, tz=tz)} by ledger entry "
        f"{in_force.seq}" + (f" (proposal {in_force.proposal_id})" if in_force.proposal_id else "")
    )
)
st.caption(f"Policy: {source}.")
st.dataframe(policy_table(flatten_policy(in_force.policy)), hide_index=True, key="gov-policy")
st.markdown("**History**")
st.dataframe(
    for_people(history, tz=tz, times=("time",), rename={"seq": "ledger entry"}),
    hide_index=True, key="gov-policy-history",
)  # fmt: skip
