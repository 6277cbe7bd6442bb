"""Follow a federated run live, and ε spent per member round by round.

Pass ``on_event=panel.on_event`` to :func:`consortium.federation.runner.federate`; the panel
reads only the run's plain values (:mod:`consortium.rounds`).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import ipywidgets as widgets
import pandas as pd

from consortium.widgets.formatting import RED, STATUS_COLOURS, number, table
from consortium.widgets.metric_labels import metrics_frame

if TYPE_CHECKING:
    from consortium.rounds import FederationEvent, RoundReport

logger = logging.getLogger(__name__)


def _get(report: RoundReport | Mapping[str, object], name: str) -> object:
    return report[name] if isinstance(report, Mapping) else getattr(report, name)


def rounds_html(reports: Iterable[RoundReport]) -> str:
    """Render one row per round: status, members reporting, loss, ε spent, who sat out."""
    rows = []
    for r in reports:
        colour = STATUS_COLOURS.get(r.status, RED)
        status = f"<b style='color:{colour}'>{html.escape(r.status)}</b>"
        if r.code:
            status += f" <code>{html.escape(r.code)}</code>"
        if r.failures:
            status += f" ({len(r.failures)} dropped)"
        spent = "<br>".join(
            f"{html.escape(m)} {number(e)}" for m, e in sorted(r.epsilon_spent.items())
        )
        rows.append([
            str(r.server_round), status, f"{r.members_aggregated}/{r.members_total}",
            "–" if r.loss is None else f"{r.loss:.4f}", spent or "–",
            html.escape(", ".join(r.sat_out)) or "–", f"{r.seconds:.1f} s",
        ])  # fmt: skip
    header = ("round", "status", "members reporting", "loss", "ε spent (total so far)",
              "sat out", "time")  # fmt: skip
    return table(header, rows)


def metrics_html(metrics: Mapping[str, Mapping[str, float]]) -> str:
    """Render per-member test metrics: test rows first, then every metric with its unit.

    Columns are named and scaled as :func:`~consortium.widgets.metric_labels.metrics_frame`
    names them (``MAE (min)``, ``interval coverage (%)``, ``on-time AUC (0.5 = coin toss)``).

    Examples
    --------
    >>> text = metrics_html({"a": {"mae": 76.3, "coverage": 0.776, "test_rows": 750.0}})
    >>> "MAE (min)" in text and "interval coverage (%)" in text and ">77.6<" in text
    True
    """
    frame = metrics_frame(metrics)
    shown = [c for c in frame.columns if c != "test rows"]
    rows = [
        [html.escape(str(member)), f"{int(metrics[member].get('test_rows', 0)):,}"]
        + ["–" if pd.isna(row[c]) else number(float(row[c])) for c in shown]
        for member, row in sorted(frame.iterrows(), key=lambda item: str(item[0]))
    ]
    return table(["member", "test rows", *map(html.escape, shown)], rows)


def epsilon_by_round(reports: Iterable[RoundReport | Mapping[str, object]]) -> pd.DataFrame:
    """Return ε spent so far by each member after each round (rows: rounds, columns: members).

    Accepts :class:`~consortium.rounds.RoundReport` objects or the ``round_reports`` of a model
    card. A member missing from a round (a failed round, a dropout) is ``NaN`` there.

    Examples
    --------
    >>> epsilon_by_round([{"server_round": 1, "epsilon_spent": {"a": 1.5}},
    ...                   {"server_round": 2, "epsilon_spent": {"a": 2.5}}])["a"].tolist()
    [1.5, 2.5]
    """
    data = {
        int(_get(r, "server_round")): dict(_get(r, "epsilon_spent"))  # type: ignore[call-overload, arg-type]
        for r in reports
    }
    frame = pd.DataFrame.from_dict(data, orient="index", dtype=float).sort_index()
    frame.index.name = "round"
    frame.columns.name = "member"
    return frame.reindex(columns=sorted(frame.columns))


class FederationPanel:
    """Live progress of a federated run: a bar over the stages, a row per round, then metrics.

    The stages are the secure sum of statistics, rounds 1..R, calibration and evaluation. After
    each round the table shows its status (``ok``, ``degraded``, ``failed``), how many members
    reported, the mean loss, the ε each member has spent so far and who sat out; after the
    evaluation, each member's test metrics.

    Parameters
    ----------
    rounds
        Rounds expected (the bar's length); the first event corrects it.

    Examples
    --------
    >>> from consortium.rounds import FederationEvent
    >>> panel = FederationPanel(rounds=2)
    >>> panel.on_event(FederationEvent("statistics", 0, 2, detail={"members": 3}))
    >>> panel.progress.value, panel.progress.max
    (1, 5)
    """

    def __init__(self, *, rounds: int = 1) -> None:
        self.progress = widgets.IntProgress(
            value=0, min=0, max=rounds + 3, description="Federation", bar_style="info"
        )
        self.stage = widgets.HTML("waiting for the coordinator…")
        self.table = widgets.HTML(rounds_html(()))
        self.metrics = widgets.HTML()
        self.widget = widgets.VBox(
            [widgets.HBox([self.progress, self.stage]), self.table, self.metrics]
        )
        self.reports: list[RoundReport] = []
        self.member_metrics: dict[str, dict[str, float]] = {}

    def on_event(self, event: FederationEvent) -> None:
        """Show one :class:`~consortium.rounds.FederationEvent`."""
        self.progress.max = event.rounds + 3
        members = event.detail.get("members", "?")
        if event.stage == "statistics":
            step, text = 1, f"statistics: secure sum over {members} members"
        elif event.stage == "round" and event.report is not None:
            report = event.report
            self.reports = [r for r in self.reports if r.server_round != report.server_round]
            self.reports.append(report)
            self.reports.sort(key=lambda r: r.server_round)
            self.table.value = rounds_html(self.reports)
            step = 1 + event.server_round
            text = f"round {event.server_round}/{event.rounds}: {report.status}"
        elif event.stage == "calibration":
            step, text = event.rounds + 2, f"calibration: secure sum over {members} members"
        elif event.stage == "evaluation":
            self.member_metrics = {
                m: dict(v) for m, v in dict(event.detail.get("metrics", {})).items()
            }
            self.metrics.value = "<h4>Test metrics per member</h4>" + metrics_html(
                self.member_metrics
            )
            step, text = event.rounds + 3, "done: evaluated on every member's test rows"
        else:
            logger.debug("ignoring federation event %s", event.stage)
            return
        self.progress.value = min(step, self.progress.max)
        troubled = any(r.status != "ok" for r in self.reports)
        done = self.progress.value == self.progress.max
        self.progress.bar_style = "warning" if troubled else ("success" if done else "info")
        self.stage.value = html.escape(text)
