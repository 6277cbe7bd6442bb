"""A federated model's card in a few lines: what was trained, by how many, ε spent, metrics.

Examples
--------
>>> shown = model_card_html({"kind": "eta", "name": "federated-dp-eta",
...                          "federation": {"members": 2, "rounds": 3, "local_epochs": 1}})
>>> "3 × 1 local epoch(s)" in shown
True
"""

from __future__ import annotations

import html
from collections.abc import Mapping

from consortium.widgets.federation import metrics_html
from consortium.widgets.formatting import facts_table, number, table


def model_card_html(card: Mapping[str, object]) -> str:
    """Summarise a federated model's card: what was trained, by how many, ε spent, metrics."""
    fed: Mapping[str, object] = card.get("federation", {})  # type: ignore[assignment]
    privacy: Mapping[str, object] = card.get("privacy", {})  # type: ignore[assignment]
    facts = [
        ("model", f"{card.get('name')} ({card.get('kind')})"),
        ("version", f"<code>{str(card.get('model_version', ''))[:16]}…</code>"),
        ("members", str(fed.get("members", "–"))),
        ("rounds", f"{fed.get('rounds', '–')} × {fed.get('local_epochs', '–')} local epoch(s)"),
        ("secure aggregation", html.escape(str(fed.get("secure_aggregation", "–")))),
        ("privacy", html.escape(str(privacy.get("mechanism", "–")))),
        ("not covered by ε", html.escape(str(privacy.get("not_covered_by_epsilon", "–")))),
    ]
    parts = [facts_table(facts)]
    spent: Mapping[str, float] = privacy.get("epsilon_spent", {})  # type: ignore[assignment]
    if spent:
        parts.append("<h4>ε spent per member</h4>")
        parts.append(table(("member", "ε"), ([html.escape(m), number(e)]
                                             for m, e in sorted(spent.items()))))  # fmt: skip
    metrics: Mapping[str, Mapping[str, float]] = card.get("metrics_per_member", {})  # type: ignore[assignment]
    if metrics:
        parts.append(f"<h4>Test metrics ({html.escape(str(card.get('evaluated_on', '')))})</h4>")
        parts.append(metrics_html(metrics))
    return "".join(parts)
