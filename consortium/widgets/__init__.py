"""ipywidgets panels for the member, board and cargo-owner notebooks (an edge: thin over the API).

Each panel is a small class holding its widgets and one action method, so a notebook can both
show it (``display(panel.widget)``) and drive it non-interactively when executed headless by
papermill or nbmake:

* :class:`ValidationPanel` checks a file against a data contract (``panel.validate()``);
* :class:`FederationPanel` follows a federated run live: pass ``on_event=panel.on_event`` to
  :func:`consortium.federation.runner.federate`;
* :class:`BallotPanel` shows each voter's power at a proposal's snapshot and casts their votes,
  each signed with the voter's own key (``panel.cast()``);
* :class:`LaneQueryPanel` buys a lane forecast for a cargo owner (``panel.ask()``).

The panels read and act only through :mod:`consortium.client` (a coordinator handle and the
actor's key) and the member-side data API; each module holds one room: ``validation``,
``federation``, ``cards``, ``board``, ``lanes``, and the shared ``formatting``.
"""

from consortium.widgets.board import BallotPanel, policy_html, proposal_html
from consortium.widgets.cards import model_card_html
from consortium.widgets.federation import (
    FederationPanel,
    epsilon_by_round,
    metrics_html,
    rounds_html,
)
from consortium.widgets.formatting import Clock
from consortium.widgets.lanes import LaneQueryPanel, paid_answer_html
from consortium.widgets.validation import ValidationPanel, report_html

__all__ = [
    "BallotPanel",
    "Clock",
    "FederationPanel",
    "LaneQueryPanel",
    "ValidationPanel",
    "epsilon_by_round",
    "metrics_html",
    "model_card_html",
    "paid_answer_html",
    "policy_html",
    "proposal_html",
    "report_html",
    "rounds_html",
]
