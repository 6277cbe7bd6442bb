"""Overview: the consortium at a glance (ledger, members, points, proposals, rounds, queries).

From the coordinator's database, or through its service (``--coordinator URL``): the same
figures from its read routes, under a signed tree head checked against the pinned key.
"""

from __future__ import annotations

import streamlit as st

from consortium.client.board_remote import proposal_views
from consortium.client.public_remote import (
    entry_kinds_of,
    members_frame_of,
    points_overview_of,
    rounds_frame_of,
)
from consortium.queries.governance import proposals
from consortium.queries.ledger import LedgerOverview, TreeHead, entry_kinds, ledger_overview
from consortium.queries.members import members_frame
from consortium.queries.paid import paid_queries_frame
from consortium.queries.points import points_overview
from consortium.queries.rounds import rounds_frame
from consortium.widgets.tables import for_people
from dashboards.charts import bar_chart
from dashboards.context import dashboard_context

ctx = dashboard_context()
tz = ctx.viewer_zone()
remote = ctx.remote
if remote is not None:
    head = remote.head()  # signed by the pinned key, consistent with the last head seen
    size, kinds = entry_kinds_of(remote)
    ledger = LedgerOverview(size, TreeHead.of(head), heads=0, uncovered=size - head.size,
                            first_time=None, last_time=None)  # fmt: skip
    points = points_overview_of(remote)
    members = members_frame_of(remote)
    views = proposal_views(remote)
    rounds = rounds_frame_of(remote)
    paid_count = int(kinds.loc[kinds["kind"] == "query-answered", "entries"].sum())
else:
    with ctx.session() as s:
        ledger = ledger_overview(s)
        kinds = entry_kinds(s)
        points = points_overview(s)
        members = members_frame(s)
        views = proposals(s, now=ctx.now())
        rounds = rounds_frame(s)
        paid_count = len(paid_queries_frame(s, limit=None))
open_proposals = [p for p in views if p.state in ("pending", "active")]

st.title("Logistics Consortium")
if remote is None:
    st.caption(
        "The coordinator's view of the consortium: who takes part, what was trained, "
        "what was paid, and the ledger that records it all."
    )
else:
    st.caption(
        f"The consortium as the coordinator service at {remote.url} reports it: who takes "
        "part, what was trained, what was paid. Its signed tree head was checked against the "
        "pinned coordinator key; the Ledger page verifies every entry on this machine."
    )
cols = st.columns(6)
cols[0].metric("Ledger entries", ledger.size)
cols[1].metric("Active members", int((members["status"] == "active").sum()))
cols[2].metric("Points in circulation", points.circulating)
cols[3].metric("Open proposals", len(open_proposals))
cols[4].metric("Federated rounds", int((rounds["status"] != "failed").sum()))
cols[5].metric("Paid queries", paid_count)
if ledger.latest_head is None:
    st.info("No signed tree head has been published yet.")
else:
    st.caption(
        f"Latest signed tree head covers {ledger.latest_head.size} of {ledger.size} "
        f"entries (root {ledger.latest_head.root[:16]}, in full on the Ledger page)."
    )

left, right = st.columns(2)
with left:
    st.subheader("Ledger entries by kind")
    st.altair_chart(bar_chart(kinds, category="kind", value="entries", title="entries"),
                    key="overview-kinds")  # fmt: skip
with right:
    st.subheader("Points held by members")
    active = members[members["status"] == "active"]
    st.altair_chart(bar_chart(active, category="member", value="points", title="points held"),
                    key="overview-points")  # fmt: skip

st.subheader("Members")
st.dataframe(for_people(members, tz=tz), hide_index=True, key="overview-members")
