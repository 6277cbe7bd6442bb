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
    wide["what"] = f"{100 * level:.0f} % of departures"
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
        alt.Chart(frame)
        .mark_point(filled=True, size=160)
        .encode(
            x=alt.X("transit:Q"),
            y=alt.value(30),
            color=alt.Color("bound:N", sort=["lower", "median", "upper"], legend=LEGEND,
                            title="bound"),
            tooltip=["bound", alt.Tooltip("transit:Q", format=".1f", title=unit)],
        )
    )  # fmt: skip
    return (span + marks).properties(height=140)


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
