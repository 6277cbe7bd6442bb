"""The board member's panels on its own machine: its key, its vote, a new proposal.

Each action signs with the key file the member names on this machine, for that action only,
and sends through the coordinator service (:mod:`dashboards.actions`); the coordinator
countersigns it and the receipt is checked against the pinned key. What was written is shown
after the page reloads with the new state.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from consortium.errors import ConsortiumError
from dashboards.actions import advance, cast_vote, propose, voter
from dashboards.context import DashboardContext

if TYPE_CHECKING:
    from consortium.client.board import ConsortiumPolicy
    from consortium.queries.governance import ProposalView
    from consortium.wire.board import KeyOut
    from consortium.wire.governance import ProposalWritten

DONE = "gov-done"
SUPPORT = ["for", "against", "abstain"]
PROPOSAL_KINDS = {
    "fees": "Query fees",
    "privacy-policy": "Privacy: ε cap and minimum group",
    "on-time-tolerance": "On-time tolerance per mode",
}
TOLERANCE_MODES = ("sea", "rail", "road", "air")


def show_done() -> None:
    """Show what the last action wrote (kept across the reload that follows it)."""
    message = st.session_state.pop(DONE, None)
    if message:
        st.success(message)


def _written(what: str, written: ProposalWritten) -> None:
    """Keep a receipt's summary for after the reload, and reload with the new state."""
    entry = written.receipt.entry
    st.session_state[DONE] = (
        f"{what}: ledger entry {entry.seq} ({entry.kind}), signed on this machine and "
        "countersigned by the coordinator; its inclusion in the coordinator's signed tree head "
        "was checked against the pinned key."
    )
    st.rerun()


def your_key(ctx: DashboardContext) -> tuple[Path, str, KeyOut] | None:
    """Ask for the member's key file on this machine; return it with who it is to the ledger."""
    st.subheader("You")
    cols = st.columns([2, 1, 2])
    path = cols[0].text_input(
        "Your member key file (on this machine)", key="gov-key", placeholder="keys/member.key",
        help="Read here to sign each proposal or vote; never uploaded or stored.",
    )  # fmt: skip
    passphrase = cols[1].text_input("Passphrase", type="password", key="gov-passphrase")
    if not path:
        cols[2].caption("Give your key file to propose and vote.")
        return None
    try:
        who = voter(ctx, key_path=Path(path), passphrase=passphrase)
    except ConsortiumError as exc:
        cols[2].error(exc.diagnostics())
        return None
    if who.member is None or who.revoked:
        cols[2].warning(f"This key is a {who.role} key{' (revoked)' if who.revoked else ''}: "
                        "only a member's active key proposes and votes.")  # fmt: skip
        return None
    cols[2].metric("Signing as member", who.member, help=f"status {who.member_status}")
    return Path(path), passphrase, who


def vote_panel(ctx: DashboardContext, view: ProposalView, me: tuple[Path, str, KeyOut]) -> None:
    """Let the member vote on ``view`` (while voting is open)."""
    if view.state != "active":
        st.caption(f"Voting is not open ({view.state}).")
        return
    with st.form("gov-vote-form"):
        support = st.radio("Your vote", SUPPORT, horizontal=True, key="gov-support")
        comment = st.text_input("Comment (optional)", key="gov-comment")
        sent = st.form_submit_button("Sign and vote", key="gov-vote")
    if sent:
        path, passphrase, who = me
        try:
            written = cast_vote(ctx, key_path=path, passphrase=passphrase,
                                proposal_id=view.proposal_id, support=str(support),
                                comment=comment)  # fmt: skip
        except ConsortiumError as exc:
            st.error(f"Not counted, nothing written. {exc.diagnostics()}")
        else:
            _written(f"{who.member} voted {support} on {view.proposal_id}", written)


def advance_panel(ctx: DashboardContext, view: ProposalView) -> None:
    """Offer the coordinator's next step for a decided proposal (queue, then execute)."""
    step = {"succeeded": "queue", "queued": "execute"}.get(view.state)
    if step is None:
        return
    label = "Queue it into its timelock" if step == "queue" else "Execute it"
    if st.button(label, key=f"gov-{step}", help="The coordinator's clock decides; no key needed."):
        try:
            written = advance(ctx, proposal_id=view.proposal_id, step=step)
        except ConsortiumError as exc:
            st.error(f"Not done, nothing written. {exc.diagnostics()}")
        else:
            _written(f"{view.proposal_id} {step}d", written)


def propose_panel(
    ctx: DashboardContext, policy: ConsortiumPolicy, me: tuple[Path, str, KeyOut]
) -> None:
    """Let the member propose a change of the fees, the privacy policy or the on-time tolerances."""
    with st.expander("Propose a change", expanded=False):
        kind = st.selectbox("What to change", list(PROPOSAL_KINDS), key="gov-new-kind",
                            format_func=PROPOSAL_KINDS.__getitem__)  # fmt: skip
        with st.form("gov-propose-form"):
            title = st.text_input("Title", key="gov-new-title", max_chars=200)
            description = st.text_area("Why (optional)", key="gov-new-description")
            cols = st.columns(2)
            params: dict[str, object]
            if kind == "fees":
                params = {
                    "lane_query_points": int(cols[0].number_input(
                        "Lane query (points)", min_value=1, value=int(policy.fees["lane"]),
                        key="gov-new-lane")),
                    "warehouse_query_points": int(cols[1].number_input(
                        "Warehouse query (points)", min_value=1,
                        value=int(policy.fees["warehouse"]), key="gov-new-warehouse")),
                }  # fmt: skip
            elif kind == "on-time-tolerance":
                boxes = st.columns(len(TOLERANCE_MODES))
                params = {"on_time_tolerance_minutes": {
                    mode: int(box.number_input(
                        f"{mode.title()} (minutes)", min_value=1, max_value=30 * 24 * 60,
                        value=int(policy.on_time_tolerance_minutes[mode]),
                        key=f"gov-new-tolerance-{mode}"))
                    for mode, box in zip(TOLERANCE_MODES, boxes, strict=True)
                }}  # fmt: skip
            else:
                params = {
                    "epsilon_cap": float(cols[0].number_input(
                        "ε cap per round", min_value=0.01,
                        value=float(policy.max_epsilon_per_round), key="gov-new-epsilon")),
                    "min_group_size": int(cols[1].number_input(
                        "Minimum group size", min_value=1, value=int(policy.min_group_size),
                        key="gov-new-group")),
                }  # fmt: skip
            sent = st.form_submit_button("Sign and propose", key="gov-propose")
        if sent:
            path, passphrase, who = me
            try:
                written = propose(ctx, key_path=path, passphrase=passphrase, kind=str(kind),
                                  params=params, title=title, description=description)  # fmt: skip
            except ConsortiumError as exc:
                st.error(f"Not proposed, nothing written. {exc.diagnostics()}")
            else:
                proposal_id = written.proposal["proposal_id"]
                _written(f"{who.member} proposed {proposal_id}", written)
