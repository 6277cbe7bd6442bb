"""Column, key and cross-field checks over parsed columns, each returning :class:`Finding` s.

Every constraint is read from the frictionless field (``field.constraints``), in the order of
``field.supported_constraints``, so the contract JSON stays the only place rules are written.
A cell with a type error is not checked against constraints, as in frictionless.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from consortium.schemas import codes
from consortium.schemas.cells import ParsedColumn, parse_column
from consortium.schemas.contract import Rule
from consortium.schemas.findings import Finding, at

_COMPARE: dict[str, tuple[Callable[..., pa.Array], str]] = {
    "minimum": (pc.less, "at least"),
    "maximum": (pc.greater, "at most"),
    "exclusiveMinimum": (pc.less_equal, "more than"),
    "exclusiveMaximum": (pc.greater_equal, "less than"),
}
_SHOWN_CHARS = 40


def _mask(array: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)


def _shown(column: ParsedColumn, pos: int | None) -> str:
    """Return the offending cell as text, withheld for personal fields."""
    if pos is None:
        return ""
    if column.field.custom.get("x-personal") is True:
        return "value (withheld: personal field)"
    source = column.text if column.text is not None else column.values
    value = source[pos].as_py()
    text = str(value)
    if len(text) > _SHOWN_CHARS:
        text = text[: _SHOWN_CHARS - 3] + "..."
    return repr(text)


def _constant(column: ParsedColumn, raw: object) -> pa.Array:
    """Parse a constraint value (``"0"``, ``0`` or ``"2024-01-01T00:00:00Z"``) like a cell."""
    text = pa.array([str(raw).lower() if isinstance(raw, bool) else str(raw)], pa.string())
    parsed = parse_column(text, column.field, [])
    if not parsed.ok.all():
        raise ValueError(
            f"field {column.field.name}: constraint value {raw!r} is not a {column.field.type}"
        )
    return parsed.values


_HINT = {
    "datetime": " (ISO 8601 with offset, e.g. 2024-03-01T08:30:00+01:00)",
    "date": " (YYYY-MM-DD)",
    "integer": " (whole number)",
    "number": " (finite decimal number, '.' separator)",
}


def check_column(column: ParsedColumn, *, index: int, required: bool) -> list[Finding]:
    """Type, time-zone and single-field constraint checks for one column.

    Parameters
    ----------
    column
        The parsed column.
    index
        The field's position in the contract (orders problems within a row).
    required
        Whether empty cells are errors (``False`` relaxes a label field for prediction input).

    Returns
    -------
    list[Finding]
        One finding per failing check (empty ones are left out).
    """
    field, name = column.field, column.field.name
    found: list[Finding] = []

    def add(code: str, mask: np.ndarray, explain: Callable[[int | None], str], step: int) -> None:
        if mask.any():
            found.append(Finding(code, name, at(mask), explain, (index, step)))

    if column.column_problem is not None:
        code, reason = column.column_problem
        found.append(Finding(code, name, None, lambda _p: reason, (index, 0)))
        return found
    add(
        codes.TYPE_ERROR,
        column.type_error,
        lambda p: f"{_shown(column, p)} is not a valid {field.type}{_HINT.get(field.type, '')}",
        0,
    )
    add(
        codes.TIMEZONE_MISSING,
        column.tz_missing & ~column.type_error,
        lambda p: f"{_shown(column, p)} has no UTC offset (add Z or +hh:mm)",
        1,
    )
    ok = column.ok
    for step, name_c in enumerate(field.supported_constraints, start=2):
        value = field.constraints.get(name_c)
        if value is None or value is False:
            continue
        if name_c == "required":
            if required:
                add(codes.CONSTRAINT_ERROR, column.missing, lambda _p: "a value is required", step)
            continue
        mask = _constraint_mask(column, name_c, value, ok)
        add(codes.CONSTRAINT_ERROR, mask, _explain_constraint(column, name_c, value), step)
    if field.constraints.get("unique"):
        dup = _duplicated(pd.DataFrame({name: column.values.to_pandas()}), ok)
        add(codes.UNIQUE_ERROR, dup, lambda p: f"{_shown(column, p)} appears in an earlier row", 99)
    return found


def _constraint_mask(column: ParsedColumn, name: str, value: object, ok: np.ndarray) -> np.ndarray:
    """Cells (among ``ok``) that break constraint ``name``."""
    values = column.values
    if name == "enum":
        allowed = pa.concat_arrays([_constant(column, v) for v in value])  # type: ignore[attr-defined]
        return ok & ~_mask(pc.is_in(values, value_set=allowed))
    if name == "pattern":
        return ok & ~_mask(pc.match_substring_regex(values, f"^(?:{value})$"))
    if name in {"minLength", "maxLength"}:
        lengths = pc.utf8_length(values)
        op = pc.less if name == "minLength" else pc.greater
        return ok & _mask(op(lengths, int(value)))  # type: ignore[call-overload]
    op, _ = _COMPARE[name]
    return ok & _mask(op(values, _constant(column, value)[0]))


def _explain_constraint(
    column: ParsedColumn, name: str, value: object
) -> Callable[[int | None], str]:
    if name == "enum":
        return lambda p: f"{_shown(column, p)} is not one of {', '.join(map(str, value))}"  # type: ignore[call-overload]
    if name == "pattern":
        return lambda p: f"{_shown(column, p)} does not match the pattern {value}"
    if name in {"minLength", "maxLength"}:
        word = "at least" if name == "minLength" else "at most"
        return lambda p: f"{_shown(column, p)} must have {word} {value} characters"
    word = _COMPARE[name][1]
    return lambda p: f"{_shown(column, p)} must be {word} {value}"


def _duplicated(frame: pd.DataFrame, eligible: np.ndarray) -> np.ndarray:
    """Rows (among ``eligible``) equal to an earlier eligible row; nulls compare equal."""
    result = np.zeros(len(frame), dtype=bool)
    if eligible.any():
        result[eligible] = frame[eligible].duplicated(keep="first").to_numpy()
    return result


def check_primary_key(columns: Sequence[ParsedColumn], *, order: int) -> list[Finding]:
    """Rows whose key repeats an earlier row's, or whose key cells are all empty.

    Rows where a key cell has a type error are skipped (their key is unknown).  The problem's
    column is the key's field names joined by commas.
    """
    if not columns:
        return []
    label = ",".join(c.field.name for c in columns)
    eligible = np.logical_and.reduce([~(c.type_error | c.tz_missing) for c in columns])
    all_empty = eligible & np.logical_and.reduce([c.missing for c in columns])
    frame = pd.DataFrame({c.field.name: c.values.to_pandas() for c in columns})
    dup = _duplicated(frame, eligible & ~all_empty)
    found = []
    if all_empty.any():
        found.append(
            Finding(
                codes.PRIMARY_KEY,
                label,
                at(all_empty),
                lambda _p: "every key cell is empty",
                (order, 0),
            )
        )
    if dup.any():

        def explain(p: int | None) -> str:
            key = (
                ", ".join(_key_text(c.values[p].as_py()) for c in columns) if p is not None else ""
            )
            return f"key ({key}) appears in an earlier row"

        found.append(Finding(codes.PRIMARY_KEY, label, at(dup), explain, (order, 1)))
    return found


def check_rule(
    rule: Rule, later: ParsedColumn, earlier: ParsedColumn, *, order: int
) -> list[Finding]:
    """Rows where ``rule.field`` is not strictly after ``rule.after`` (both present and valid)."""
    both = later.ok & earlier.ok
    bad = both & _mask(pc.less_equal(later.values, earlier.values))
    if not bad.any():
        return []

    def explain(p: int | None) -> str:
        return (
            f"{later.field.name} {_shown(later, p)} is not after "
            f"{earlier.field.name} {_shown(earlier, p)}"
        )

    return [Finding(rule.code, rule.field, at(bad), explain, (order, 0))]


def _key_text(value: object) -> str:
    return "(empty)" if value is None else str(value)
