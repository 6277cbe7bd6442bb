"""Ledger: verification status, the latest signed tree head, and recent entries.

On the coordinator's machine it verifies its database (entries, heads, and the balances,
tallies and policy replayed from them). Through the coordinator service (``--coordinator
URL``) this machine fetches the newest signed tree head and every entry and verifies them
itself against the pinned coordinator key (:mod:`consortium.client.ledger_remote`): it trusts
nothing the service says without checking; the tables show the entries it verified.
"""

from __future__ import annotations

import streamlit as st

from consortium.client.ledger_remote import (
    ServiceLedger,
    entry_kinds_of_entries,
    recent_entries_of,
    verify_service_ledger,
)
from consortium.queries.ledger import (
    VerificationStatus,
    entry_kinds,
    ledger_overview,
    recent_entries,
    verification_status,
)
from consortium.widgets.tables import for_people, payload_fields
from consortium.widgets.units import local_time
from dashboards.charts import bar_chart
from dashboards.context import coordinator_handle, dashboard_context, service_handle

ctx = dashboard_context()
tz = ctx.viewer_zone()


@st.cache_data(ttl=60, show_spinner="Verifying every entry, signature and tree head ...")
def _verify(database_url: str, size: int, heads: int) -> VerificationStatus:
    # Keyed on the ledger's size and tree heads: a new entry or head re-runs the verification.
    return coordinator_handle(database_url).read(verification_status)


@st.cache_data(ttl=60, show_spinner="Fetching the ledger and verifying it on this machine ...")
def _verify_served(url: str, pin: str, ca: str | None, size: int, root: str) -> ServiceLedger:
    # Keyed on the newest signed head: a new head re-runs the fetch and the verification.
    return verify_service_ledger(service_handle(url, pin, ca))


st.title("Ledger")
if st.button(
    "Verify again",
    key="ledger-verify",
    help="Verification is otherwise reused for a minute unless the ledger grows.",
):
    _verify.clear()
    _verify_served.clear()
served: ServiceLedger | None = None
if ctx.remote is not None:
    newest = ctx.remote.head()  # signed by the pinned key, consistent with the last one seen
    ca = None if ctx.config.coordinator_ca is None else str(ctx.config.coordinator_ca)
    served = _verify_served(ctx.remote.url, ctx.remote.pin, ca, newest.size, newest.root.hex())
    status, head = served.status, served.head
    kinds = entry_kinds_of_entries(served.entries)
    st.caption(
        f"Fetched from the coordinator service at {ctx.remote.url} and verified on this "
        f"machine against the coordinator key you pinned ({ctx.remote.pin[:16]}...)."
    )
else:
    with ctx.session() as s:
        overview = ledger_overview(s)
        kinds = entry_kinds(s)
    status = _verify(ctx.config.database_url, overview.size, overview.heads)
    head = overview.latest_head
if status.ok:
    st.success(
        f"Verified: {status.size} entries, every signature and hash, {status.heads_checked} "
        f"signed tree head(s); root {status.root}."
    )
else:
    where = "" if status.index is None else f" (first failing entry: {status.index})"
    st.error(f"Verification failed{where}: {status.error}")

st.subheader("Latest signed tree head")
if head is None:
    st.info("No tree head has been published yet.")
else:
    cols = st.columns(3)
    cols[0].metric("Entries covered", head.size)
    if served is None:
        cols[1].metric("Entries after it", overview.uncovered)
        cols[2].metric("Tree heads published", overview.heads)
    else:
        cols[1].metric("Entries after it", len(served.entries) - head.size)
        cols[2].metric("Entries fetched and checked", len(served.entries))
    st.code(
        f"size {head.size}\nroot {head.root}\ntime {local_time(head.time, tz=tz)}\n"
        f"key  {head.key_id}",
        language=None,
    )

st.subheader("Entries by kind")
st.altair_chart(bar_chart(kinds, category="kind", value="entries", title="entries"),
                key="ledger-kinds-chart")  # fmt: skip

st.subheader("Recent entries")
left, right = st.columns([3, 1])
chosen = left.multiselect(
    "Kinds", options=kinds["kind"].tolist(), key="ledger-kinds", placeholder="All kinds"
)
limit = right.number_input(
    "Show", min_value=5, max_value=1000, value=50, step=5, key="ledger-limit"
)
if served is not None:
    entries = recent_entries_of(served.entries, limit=int(limit), kinds=chosen or None)
else:
    with ctx.session() as s:
        entries = recent_entries(s, limit=int(limit), kinds=chosen or None, preview=False)
entries = for_people(entries.assign(payload=entries["payload"].map(payload_fields)),
                     tz=tz, times=("time",), rename={"payload": "what it records"})  # fmt: skip
wide = {"what it records": st.column_config.TextColumn(width="large")}
st.dataframe(entries, hide_index=True, key="ledger-entries", column_config=wide)
