"""Read the charts a page drew (AppTest exposes them as ``vega_lite_chart`` elements)."""

from __future__ import annotations

import json
from typing import Any

from streamlit.testing.v1 import AppTest


def chart_specs(at: AppTest) -> list[dict[str, Any]]:
    """The Vega-Lite spec of every chart on the page, in page order."""
    return [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]


def fields(spec: dict[str, Any]) -> set[str]:
    """Every field a chart's encodings (or its layers' encodings) use."""
    found: set[str] = set()
    for part in [spec, *spec.get("layer", [])]:
        for channel in part.get("encoding", {}).values():
            if isinstance(channel, dict) and "field" in channel:
                found.add(channel["field"])
    return found
