"""Tables for people: projections from :mod:`consortium.queries` turned into readable columns.

Times to the minute in the viewer's zone, durations in days and hours, basis points as
percentages, ledger payloads as ``key: value`` fields, and a dash where a value is missing
(never ``None``, ``NaN`` or ``<NA>``). Pure: DataFrames in, DataFrames out.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"time": ["2026-06-01T12:05:59.5Z", None], "share_bps": [1000, None]})
>>> for_people(frame, tz=zone("UTC"), times=("time",), bps=("share_bps",)).values.tolist()
[['2026-06-01 12:05 UTC', '10 %'], ['–', '–']]
>>> payload_fields('{"model": "eta", "round": 2, "members": ["a", "b"], "fees": {"lane": 12}}')
'model: eta · round: 2 · members: a, b · fees.lane: 12'
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import tzinfo

import pandas as pd

from consortium.widgets.units import DASH, bps_percent, local_time, seconds_text, zone

__all__ = [
    "changes_table",
    "for_people",
    "payload_fields",
    "policy_table",
    "power_table",
    "proposals_table",
    "zone",
]

_HEX = re.compile(r"^[0-9a-f]{32,}$")
HASH_CHARS = 16
"""Hex digests (keys, hashes, roots) are shown by their first this many characters."""


def _missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return False


def _scalar(value: object) -> str:
    if _missing(value):
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text[:HASH_CHARS] if _HEX.match(text) else text


def _flatten(prefix: str, value: object) -> Iterable[tuple[str, str]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _flatten(f"{prefix}.{key}" if prefix else str(key), item)
    elif isinstance(value, list):
        if all(not isinstance(v, Mapping | list) for v in value):
            yield prefix, ", ".join(_scalar(v) for v in value) or DASH
        else:
            parts = (" ".join(f"{k} {_scalar(v)}" for k, v in item.items())
                     if isinstance(item, Mapping) else _scalar(item) for item in value)  # fmt: skip
            yield prefix, "; ".join(parts)
    else:
        yield prefix, _scalar(value)


def payload_fields(payload: str | Mapping[str, object]) -> str:
    """Show a ledger payload as ``key: value`` fields (nested keys dotted, hashes shortened)."""
    data = json.loads(payload) if isinstance(payload, str) else payload
    if not isinstance(data, Mapping):
        return _scalar(data)
    return " · ".join(f"{key}: {value}" for key, value in _flatten("", data)) or DASH


def for_people(
    frame: pd.DataFrame,
    *,
    tz: tzinfo,
    times: Iterable[str] = (),
    bps: Iterable[str] = (),
    seconds: Iterable[str] = (),
    rename: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Return a copy of ``frame`` with readable columns and a dash for every missing value.

    ``times`` are shown to the minute in ``tz``, ``bps`` as percentages, ``seconds`` as
    durations; other columns keep their type unless they hold missing values (then text).
    """
    shown = frame.copy()
    for column in times:
        shown[column] = [local_time(None if _missing(v) else v, tz=tz) for v in shown[column]]
    for column in bps:
        shown[column] = [DASH if _missing(v) else bps_percent(int(v)) for v in shown[column]]
    for column in seconds:
        shown[column] = [DASH if _missing(v) else seconds_text(int(v)) for v in shown[column]]
    for column in shown.columns:
        if shown[column].isna().any():
            shown[column] = [_scalar(v) if not isinstance(v, str) else v for v in shown[column]]
    return shown.rename(columns=dict(rename or {}))


PROPOSAL_COLUMNS = {
    "proposal_id": "proposal", "title": "title", "kind": "kind", "proposer": "proposed by",
    "state": "state", "for_power": "for", "against_power": "against",
    "abstain_power": "abstain", "quorum_power": "quorum needed", "votes": "votes",
    "vote_start": "voting opens", "deadline": "voting closes", "eta": "executable from",
}  # fmt: skip


def proposals_table(frame: pd.DataFrame, *, tz: tzinfo) -> pd.DataFrame:
    """Return the proposals (``proposals_frame``): whole names, local times, no empty cell."""
    shown = for_people(frame, tz=tz, times=("vote_start", "deadline", "eta"))
    return shown[list(PROPOSAL_COLUMNS)].rename(columns=PROPOSAL_COLUMNS)


def policy_value(key: str, value: object) -> str:
    """Show one policy parameter's value in its unit (durations, percentages, points).

    Examples
    --------
    >>> policy_value("voting_period_s", 259200), policy_value("quorum_bps", 2000)
    ('3 days', '20 %')
    >>> policy_value("fees.lane", 10), policy_value("max_delta", 1e-05)
    ('10 points', '1e-05')
    """
    if key.endswith("_s") and isinstance(value, int):
        return seconds_text(value)
    if key.endswith("_bps") and isinstance(value, int):
        return bps_percent(value)
    if key.startswith("fees.") or key in ("points_per_example", "contribution_cap_per_round"):
        return f"{value:,} points" if isinstance(value, int) else _scalar(value)
    return _scalar(value)


def policy_name(key: str) -> str:
    """Return a parameter's name for people: ``voting_period_s`` -> ``voting period``.

    Examples
    --------
    >>> policy_name("treasury_share_bps"), policy_name("fees.lane")
    ('treasury share', 'fee: lane query')
    """
    if key.startswith("fees."):
        return f"fee: {key.split('.', 1)[1]} query"
    for suffix in ("_bps", "_s"):
        if key.endswith(suffix):
            key = key[: -len(suffix)]
    return key.replace("_", " ")


def policy_table(flat: Mapping[str, object]) -> pd.DataFrame:
    """Return the flattened policy (``flatten_policy``) as parameter, value and key rows."""
    rows = [(policy_name(k), policy_value(k, v), k) for k, v in flat.items()]
    return pd.DataFrame(rows, columns=["parameter", "value", "key"])


def changes_table(changes: pd.DataFrame) -> pd.DataFrame:
    """Return what a proposal changes (``proposal_changes``): parameter, now, after.

    Examples
    --------
    >>> changes = pd.DataFrame({"key": ["fees.lane"], "now": [10], "after": [12]})
    >>> changes_table(changes).values.tolist()
    [['fee: lane query', '10 points', '12 points']]
    """
    rows = [
        (policy_name(key), DASH if _missing(now) else policy_value(key, now),
         after if isinstance(after, str) else policy_value(key, after))
        for key, now, after in zip(changes["key"], changes["now"], changes["after"], strict=True)
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["parameter", "now", "after"])


def power_table(powers: pd.DataFrame) -> pd.DataFrame:
    """Return voting power at a snapshot (``voting_power_frame``) with shares in percent."""
    total = int(powers["power"].sum()) if not powers.empty else 0
    shown = powers.assign(
        share=[f"{100 * p / total:.1f} %" if total else DASH for p in powers["power"]],
        support=[s or "not voted" for s in powers["support"]],
    )
    return shown[["member", "balance_at_snapshot", "power", "share", "support", "vote_power"]]
