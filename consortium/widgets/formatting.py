"""Small HTML pieces the panels share: colours, a table, an error line and number formats.

Examples
--------
>>> table(("a", "b"), [["1", "2"]]).count("<td")
2
>>> number(float("inf")), number(1 / 3)
('∞', '0.3333')
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

from consortium.errors import ConsortiumError

Clock = Callable[[], datetime]
"""Returns the time an action happens at (a notebook passes a simulated one)."""

RED, GREEN, AMBER = "#b00020", "#1b7f3b", "#b26a00"
STATUS_COLOURS = {"ok": GREEN, "degraded": AMBER, "failed": RED}
_TABLE = "<table style='border-collapse:collapse'>{}</table>"
_CELL = "<{0} style='padding:2px 10px;text-align:left;border-bottom:1px solid #ddd'>{1}</{0}>"


def now_utc() -> datetime:
    """Return the current time, tz-aware UTC (the panels' default clock)."""
    return datetime.now(UTC)


def table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    """Return an HTML table of already escaped cells."""
    head = "".join(_CELL.format("th", h) for h in header)
    body = "".join("<tr>" + "".join(_CELL.format("td", c) for c in row) + "</tr>" for row in rows)
    return _TABLE.format(f"<tr>{head}</tr>{body}")


def facts_table(facts: Iterable[tuple[str, str]]) -> str:
    """Return a two-column table of bold labels and already escaped values."""
    return table(("", ""), ([f"<b>{k}</b>", v] for k, v in facts))


def error_html(exc: ConsortiumError) -> str:
    """Return the error's diagnostics as a red paragraph."""
    return f"<p style='color:{RED}'>{html.escape(exc.diagnostics())}</p>"


def number(value: float) -> str:
    """Show a figure to four significant digits; infinity as ``∞``."""
    return f"{value:.4g}" if math.isfinite(value) else "∞"


def setting(value: object) -> str:
    """Show a policy value; a mapping (the fee schedule) as ``lane 10, warehouse 25``.

    Examples
    --------
    >>> setting({"lane": 10, "warehouse": 25})
    'lane 10, warehouse 25'
    """
    if isinstance(value, Mapping):
        return html.escape(", ".join(f"{k} {v}" for k, v in value.items()))
    return html.escape(str(value))
