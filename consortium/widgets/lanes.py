"""A cargo owner buys a lane forecast, and sees the fee it paid and how the fee was split.

The purchase goes through :func:`consortium.client.cargo.buy_forecast`: the query is signed with
the owner's key, then answered, paid and recorded in one transaction; a refusal writes nothing
and costs nothing.
"""

from __future__ import annotations

import html
from datetime import date, timedelta
from typing import TYPE_CHECKING

import ipywidgets as widgets

from consortium.client.cargo import buy_forecast, lane_params
from consortium.client.connection import Coordinator
from consortium.client.keys import Signer
from consortium.errors import ConsortiumError
from consortium.widgets.answer_card import lane_card_html
from consortium.widgets.formatting import Clock, error_html, facts_table, now_utc, number, table

if TYPE_CHECKING:
    from consortium.client.cargo import PaidAnswer


def paid_answer_html(paid: PaidAnswer, *, balance_left: int | None = None) -> str:
    """Render the answer a cargo owner bought, the fee it paid and how the fee was split.

    A lane answer is shown as its answer card (units that fit the mode, the on-time share at
    the tolerance it was answered with: the board's for that mode).
    """
    summary = paid.answer.summary()
    money = [("Price paid", f"{paid.fee} points")]
    if balance_left is not None:
        money.append(("Balance left", f"{balance_left:,} points"))
    money.append(("Model version", f"{paid.model_version[:16]}…"))
    if "on_time_rate" in summary:
        tolerances = {str(summary["mode"]): summary["tolerance_minutes"]}
        shown = lane_card_html(summary, tolerances=tolerances, extra=money)
    else:
        facts = [
            (k.replace("_", " "), html.escape(number(v) if isinstance(v, float) else str(v)))
            for k, v in summary.items()
            if k != "model_version"
        ]
        shown = facts_table(facts + [(k, html.escape(v)) for k, v in money])
    split = ([html.escape(k), str(v)] for k, v in sorted(paid.parts.items()))
    return (
        shown
        + f"<h4>Split of the fee (ledger entries {paid.settled_seq} and {paid.answered_seq})</h4>"
        + table(("account", "points"), split)
    )


class LaneQueryPanel:
    """A cargo owner buys a lane forecast: lane, departure window and price cap, then Buy.

    Parameters
    ----------
    coordinator
        The coordinator handle; it must answer paid queries
        (:func:`~consortium.client.connection.with_query_service`).
    owner
        The cargo owner's registered key.
    origin, destination, mode, departure, days
        The lane and the departure window (``departure`` defaults to a week after ``clock()``).
    max_price_points
        The most the owner agrees to pay.
    clock
        Returns the time the query is issued and answered (default: now, UTC).

    Examples
    --------
    >>> # panel = LaneQueryPanel(coordinator, owner=owner_key)
    >>> # display(panel.widget); panel.ask().fee  # -> the board's current lane fee
    """

    def __init__(  # noqa: PLR0913
        self,
        coordinator: Coordinator,
        *,
        owner: Signer,
        origin: str = "ITMIL",
        destination: str = "FRPAR",
        mode: str = "road",
        departure: date | None = None,
        days: int = 7,
        max_price_points: int = 20,
        clock: Clock = now_utc,
    ) -> None:
        self.coordinator, self.owner, self.clock = coordinator, owner, clock
        start = departure or (clock() + timedelta(days=7)).date()
        self.origin = widgets.Text(value=origin, description="From")
        self.destination = widgets.Text(value=destination, description="To")
        self.mode = widgets.Dropdown(options=["sea", "road", "rail", "air"], value=mode,
                                     description="Mode")  # fmt: skip
        self.departure = widgets.DatePicker(value=start, description="Departing")
        self.days = widgets.BoundedIntText(value=days, min=1, max=92, description="Days")
        self.max_price = widgets.BoundedIntText(
            value=max_price_points, min=0, max=10**9, description="Max points"
        )
        self.button = widgets.Button(description="Buy forecast", button_style="primary")
        self.result = widgets.HTML()
        self.button.on_click(lambda _: self.ask())
        self.widget = widgets.VBox([
            widgets.HBox([self.origin, self.destination, self.mode]),
            widgets.HBox([self.departure, self.days, self.max_price]), self.button, self.result,
        ])  # fmt: skip

    def params(self) -> dict[str, object]:
        """Return the ``lane`` query parameters the widgets describe (times in UTC)."""
        return lane_params(origin=self.origin.value, destination=self.destination.value,
                           mode=self.mode.value, departure=self.departure.value,
                           days=int(self.days.value))  # fmt: skip

    def ask(self) -> PaidAnswer | None:
        """Sign, send and pay for the query; show the answer and split (or the refusal)."""
        try:
            bought = buy_forecast(self.coordinator, owner=self.owner, kind="lane",
                                  params=self.params(), now=self.clock(),
                                  max_price_points=int(self.max_price.value))  # fmt: skip
        except ConsortiumError as exc:
            self.result.value = error_html(exc)
            return None
        self.result.value = paid_answer_html(bought.paid, balance_left=bought.balance_left)
        return bought.paid
