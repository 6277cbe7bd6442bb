"""A deterministic, realistic synthetic consortium: the kit's embedded default data.

One shared world (weather per region, congestion per hub, lane effects) drives four carriers
(sea, road, rail, air) and three warehouses, so the structure that pooled models should find is
really there: lane and season effects, weather and congestion shocks shared across members,
member-specific punctuality, heavy-tailed delays, and stock-outs caused by late inbound legs.
See ``docs/synthetic.md`` for the generative story.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> with tempfile.TemporaryDirectory() as tmp:
...     summary = generate_consortium(Path(tmp), seed=7, scale=0.01)
>>> [m.kind for m in summary.members].count("warehouse")
3
"""

from consortium.synth.legs import LEGS_COLUMNS, PERSONAL_EXTRAS, generate_legs
from consortium.synth.members import MEMBERS, MemberPlan, plan_consortium
from consortium.synth.stock import STOCK_COLUMNS, generate_stock
from consortium.synth.world import END, START, World, build_world
from consortium.synth.writer import (
    GENERATOR_VERSION,
    PURPOSES,
    ConsortiumSummary,
    MemberSummary,
    generate_consortium,
)

__all__ = [
    "END",
    "GENERATOR_VERSION",
    "LEGS_COLUMNS",
    "MEMBERS",
    "PERSONAL_EXTRAS",
    "PURPOSES",
    "START",
    "STOCK_COLUMNS",
    "ConsortiumSummary",
    "MemberPlan",
    "MemberSummary",
    "World",
    "build_world",
    "generate_consortium",
    "generate_legs",
    "generate_stock",
    "plan_consortium",
]
