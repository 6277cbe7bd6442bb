"""The dashboard's charts (Altair): units on every axis, labels whole, legends below the plot.

Each function takes a tidy DataFrame from :mod:`consortium.queries` or :mod:`consortium.widgets`
and returns a chart for ``st.altair_chart``; none reads a store or draws by itself.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

LEGEND = alt.Legend(orient="bottom", labelLimit=0, titleLimit=0, columns=4)
"""Legends go under the plot, never cut."""


def _axis(title: str, *, label_angle: int | None = None) -> alt.Axis:
    if label_angle is None:
        return alt.Axis(title=title, labelLimit=0, titleLimit=0)
    return alt.Axis(title=title, labelLimit=0, titleLimit=0, labelAngle=label_angle)


def interval_chart(frame: pd.DataFrame, *, unit: str, level: float) -> alt.LayerChart:
    """Draw the transit interval: a bar from the lower to the upper bound, the median marked.

    ``frame`` is :func:`consortium.widgets.answer_card.interval_frame`.
    """
    wide = frame.pivot_table(index="unit", columns="bound", values="transit").reset_index()
    what = f"{100 * level:.0f} % of departures"
    wide["what"] = what
    span = (
        alt.Chart(wide)
        .mark_bar(height=26, opacity=0.35, cornerRadius=4)
        .encode(
            x=alt.X("lower:Q", axis=_axis(f"transit time ({unit})"),
                    scale=alt.Scale(zero=False, nice=True)),
            x2="upper:Q",
            y=alt.Y("what:N", axis=_axis("")),
        )
    )  # fmt: skip
    marks = (
        alt.Chart(frame.assign(what=what))
        .mark_point(filled=True, size=160, opacity=1)
        .encode(
            x=alt.X("transit:Q"),
            y=alt.Y("what:N"),
            color=alt.Color("bound:N", sort=["lower", "median", "upper"], legend=LEGEND,
                            title="bound"),
            tooltip=["bound", alt.Tooltip("transit:Q", format=".1f", title=unit)],
        )
    )  # fmt: skip
    return (span + marks).properties(height=150)


def bar_chart(
    frame: pd.DataFrame, *, category: str, value: str, title: str, colour: str | None = None
) -> alt.Chart:
    """Draw horizontal bars, one per ``category`` with its whole label, ``value`` as ``title``."""
    encoding: dict[str, object] = {
        "y": alt.Y(f"{category}:N", sort="-x", axis=_axis("")),
        "x": alt.X(f"{value}:Q", axis=_axis(title)),
        "tooltip": [category, value],
    }
    if colour:
        encoding["color"] = alt.Color(f"{colour}:N", legend=LEGEND)
    return alt.Chart(frame).mark_bar().encode(**encoding).properties(height=alt.Step(24))


def epsilon_chart(
    frame: pd.DataFrame, *, cap_per_round: float | None
) -> alt.LayerChart | alt.FacetChart:
    """Draw ε spent per member after each round: a line per member (dashes, points), and the cap.

    ``frame`` has ``round``, ``member`` and ``epsilon_spent``; the cap line is the most the
    board's per-round maximum lets a member have spent after each round.
    """
    lines = (
        alt.Chart(frame)
        .mark_line(point=alt.OverlayMarkDef(size=70), strokeWidth=2.5)
        .encode(
            x=alt.X("round:O", axis=_axis("round", label_angle=0)),
            y=alt.Y("epsilon_spent:Q", axis=_axis("ε spent so far")),
            color=alt.Color("member:N", legend=LEGEND),
            strokeDash=alt.StrokeDash("member:N", legend=LEGEND),
            tooltip=["member", "round", alt.Tooltip("epsilon_spent:Q", format=".3f")],
        )
    )
    if cap_per_round is None or frame.empty:
        return alt.layer(lines).properties(height=300)
    rounds = sorted(frame["round"].unique())
    cap = pd.DataFrame({"round": rounds, "cap": [cap_per_round * int(r) for r in rounds],
                        "line": "board's cap (per-round maximum × rounds)"})  # fmt: skip
    cap_line = (
        alt.Chart(cap)
        .mark_line(color="#b00020", strokeDash=[2, 2], strokeWidth=2)
        .encode(x="round:O", y="cap:Q", opacity=alt.Opacity("line:N", legend=LEGEND,
                                                           title="budget"))
    )  # fmt: skip
    return alt.layer(lines, cap_line).properties(height=300)


def points_over_time_chart(frame: pd.DataFrame, *, time_title: str) -> alt.Chart:
    """Draw each member's points after every ledger entry that moved them (a step per member)."""
    return (
        alt.Chart(frame)
        .mark_line(interpolate="step-after", point=True, strokeWidth=2)
        .encode(
            x=alt.X("time:T", axis=_axis(time_title)),
            y=alt.Y("points:Q", axis=_axis("points held")),
            color=alt.Color("member:N", legend=LEGEND),
            strokeDash=alt.StrokeDash("member:N", legend=LEGEND),
            tooltip=["member", "points", "time:T"],
        )
        .properties(height=300)
    )


def value_chart(frame: pd.DataFrame, *, metric: str) -> alt.Chart:
    """Draw each member's score per model side by side (lower is better): the value of joining.

    ``frame`` is :func:`consortium.queries.value.value_frame`.
    """
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("model:N", axis=_axis(""), sort=["own", "pooled"]),
            x=alt.X("score:Q", axis=_axis(f"{metric}, on the member's later rows")),
            color=alt.Color("model:N", legend=LEGEND),
            row=alt.Row("member:N", header=alt.Header(labelAngle=0, labelAlign="left",
                                                      labelLimit=0, title=None)),
            tooltip=["member", "model", alt.Tooltip("score:Q", format=".4g")],
        )
        .properties(height=alt.Step(16))
    )  # fmt: skip


def reliability_chart(frame: pd.DataFrame) -> alt.LayerChart | alt.FacetChart:
    """Draw observed stock-out rates against the predicted probability, with the diagonal.

    ``frame`` is :func:`consortium.queries.warehouses.stock_reliability` (shares in [0, 1]).
    """
    percent = frame.assign(predicted=100 * frame["mean_predicted"],
                           observed=100 * frame["observed_rate"])  # fmt: skip
    diagonal = (
        alt.Chart(pd.DataFrame({"predicted": [0, 100], "observed": [0, 100]}))
        .mark_line(color="#888", strokeDash=[4, 4])
        .encode(x="predicted:Q", y="observed:Q")
    )
    curve = (
        alt.Chart(percent)
        .mark_line(point=True, strokeWidth=2)
        .encode(
            x=alt.X("predicted:Q", axis=_axis("predicted stock-out probability (%)"),
                    scale=alt.Scale(domain=[0, 100])),
            y=alt.Y("observed:Q", axis=_axis("observed stock-out rate (%)"),
                    scale=alt.Scale(domain=[0, 100])),
            size=alt.Size("count:Q", legend=alt.Legend(orient="bottom", title="SKU-days")),
            tooltip=[alt.Tooltip("predicted:Q", format=".1f"),
                     alt.Tooltip("observed:Q", format=".1f"), "count"],
        )
    )  # fmt: skip
    return alt.layer(diagonal, curve).properties(height=320)
