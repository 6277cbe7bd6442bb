"""The consortium's dashboard: an ``st.navigation`` router over the pages in ``views/``.

On a cargo owner's or board member's own machine, against the coordinator service (the actor
chooses its own key file on the page; it never leaves this machine; every page reads through the
service, and the Ledger page verifies what it sends against the pinned key)::

    streamlit run dashboards/app.py -- --coordinator https://coordinator.example:8443
        --pin KEYID --ca consortium-ca.pem

On the coordinator's machine (its read-only public view, reading its database)::

    streamlit run dashboards/app.py -- --db sqlite:///demo_output/coordinator/coordinator.db
        --models demo_output/federation --members demo_output/consortium
        --coordinator-key demo_output/coordinator/keys/coordinator.key

See :mod:`dashboards.context` for every setting and where it can come from.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# `streamlit run dashboards/app.py` puts only this folder on sys.path; the pages import
# `dashboards.*`, so make the repository root importable too.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

st.set_page_config(page_title="Logistics Consortium", page_icon=":material/hub:", layout="wide")

PAGES = {
    "Consortium": [
        st.Page("views/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("views/forecasts.py", title="Pooled forecasts", icon=":material/timeline:"),
        st.Page("views/paid_queries.py", title="Paid queries", icon=":material/paid:"),
    ],
    "Trust": [
        st.Page("views/governance.py", title="Governance", icon=":material/how_to_vote:"),
        st.Page("views/ledger.py", title="Ledger", icon=":material/receipt_long:"),
        st.Page("views/points.py", title="Points", icon=":material/toll:"),
    ],
}

st.navigation(PAGES).run()
