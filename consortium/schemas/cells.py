"""Parse one column into typed values, vectorised with pyarrow, driven by a frictionless Field.

Text columns (CSV, or string columns in Parquet) are matched against the ISO / Table Schema
lexical forms with RE2 regexes and then cast by Arrow in C++.  Typed Parquet columns are taken as
they are when their Arrow type fits the field type; other types go through their text form.
Deliberately stricter than frictionless's row-by-row readers (documented in
``data_schemas/README.md``): numbers may not be ``NaN``/``INF`` or use ``_`` separators, and must
be finite (``1e309`` overflows to infinity in a CSV; ``±inf`` in a Parquet float column are type
errors, never values that a ``minimum`` could miss), dates must
be zero-padded ``YYYY-MM-DD``, and every datetime must carry a UTC offset (the kit's
``timezone-missing`` rule; frictionless accepts naive datetimes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from frictionless import Field

_INTEGER = r"^[+-]?[0-9]{1,18}$"
_NUMBER = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_DATETIME = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$"
)
_OFFSET = r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
_UTC_NS = pa.timestamp("ns", tz="UTC")


@dataclass(frozen=True, eq=False)
class ParsedColumn:
    """Typed values of one column plus boolean masks locating its problems.

    ``values`` is an Arrow array of the field's storage type (``string``, ``int64``, ``double``,
    ``bool``, ``timestamp[ns, UTC]`` or ``date32``) with nulls where a cell is missing or invalid.
    ``text`` keeps the original text where there was one (for messages and patterns).
    ``column_problem`` is ``(code, reason)`` when the whole column is unusable (for example a
    Parquet timestamp column without a time zone).
    """

    field: Field
    values: pa.Array
    text: pa.Array | None
    missing: np.ndarray
    type_error: np.ndarray
    tz_missing: np.ndarray
    column_problem: tuple[str, str] | None = None

    @property
    def ok(self) -> np.ndarray:
        """Cells present, well typed and zoned: the ones constraints apply to."""
        return ~(self.missing | self.type_error | self.tz_missing)


def _mask(array: pa.Array) -> np.ndarray:
    """Turn a boolean Arrow array (nulls as False) into a numpy mask."""
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)


def _where(mask: np.ndarray, array: pa.Array) -> pa.Array:
    """Keep ``array`` where ``mask`` holds, null elsewhere."""
    return pc.if_else(pa.array(mask), array, pa.nulls(len(array), array.type))


def _to_timestamps(text: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Cast ISO 8601 strings (with offsets) to UTC; return values and a mask of bad cells."""
    try:
        values = pc.cast(text, _UTC_NS)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # Arrow stops at the first bad cell (e.g. month 13); pandas finds them all.
        parsed = pd.to_datetime(
            pd.Series(text.to_pandas(), dtype=object), format="ISO8601", utc=True, errors="coerce"
        )
        values = pa.array(parsed.astype("datetime64[ns, UTC]"), type=_UTC_NS)
    bad = _mask(pc.and_(pc.is_valid(text), pc.is_null(values)))
    return values, bad


def _to_dates(text: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Cast ``YYYY-MM-DD`` strings to date32; returns values and a mask of impossible dates."""
    try:
        values = pc.cast(text, pa.date32())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        parsed = pd.to_datetime(
            pd.Series(text.to_pandas(), dtype=object), format="%Y-%m-%d", errors="coerce"
        )
        values = pc.cast(pa.array(parsed.astype("datetime64[ns]")), pa.date32())
    bad = _mask(pc.and_(pc.is_valid(text), pc.is_null(values)))
    return values, bad


def _parse_text(field: Field, text: pa.Array, missing: np.ndarray) -> ParsedColumn:
    """Parse a string column according to the field type."""
    n = len(text)
    no = np.zeros(n, dtype=bool)
    present = _where(~missing, text)
    if field.type == "string":
        return ParsedColumn(field, present, present, missing, no, no)
    trimmed = pc.utf8_trim_whitespace(present)
    if field.type == "boolean":
        true_values: list[str] = getattr(field, "true_values")  # noqa: B009 (BooleanField only)
        false_values: list[str] = getattr(field, "false_values")  # noqa: B009
        true = pc.is_in(trimmed, value_set=pa.array(true_values, pa.string()))
        false = pc.is_in(trimmed, value_set=pa.array(false_values, pa.string()))
        good = _mask(pc.or_(true, false))
        return ParsedColumn(
            field, _where(good, _to_bool(true)), text, missing, ~missing & ~good, no
        )
    if field.type in {"integer", "number"}:
        good = _mask(
            pc.match_substring_regex(trimmed, _INTEGER if field.type == "integer" else _NUMBER)
        )
        clean = _where(good, pc.replace_substring_regex(trimmed, r"^\+", ""))
        if field.type == "integer":
            integers = pc.cast(clean, pa.int64())
            return ParsedColumn(field, integers, text, missing, ~missing & ~good, no)
        # "1e309" matches the lexical form but overflows to infinity: not a number we accept
        values = pc.cast(clean, pa.float64())
        good = good & _mask(pc.is_finite(values))
        return ParsedColumn(field, _where(good, values), text, missing, ~missing & ~good, no)
    if field.type == "date":
        good = _mask(pc.match_substring_regex(trimmed, _DATE))
        values, bad = _to_dates(_where(good, trimmed))
        return ParsedColumn(field, values, text, missing, (~missing & ~good) | bad, no)
    # datetime: parse zone-less cells as if UTC, so an impossible one is still a type error
    good = _mask(pc.match_substring_regex(trimmed, _DATETIME))
    zoned = _mask(pc.match_substring_regex(trimmed, _OFFSET))
    candidate = _where(
        good, pc.if_else(pa.array(zoned), trimmed, pc.binary_join_element_wise(trimmed, "Z", ""))
    )
    values, bad = _to_timestamps(candidate)
    type_error = (~missing & ~good) | bad
    return ParsedColumn(field, values, text, missing, type_error, good & ~zoned & ~bad)


def _to_bool(true: pa.Array) -> pa.Array:
    return pc.fill_null(true, False)


def parse_column(
    array: pa.Array | pa.ChunkedArray, field: Field, missing_values: list[str]
) -> ParsedColumn:
    """Parse ``array`` as ``field`` says.

    Parameters
    ----------
    array
        The column as read (text from CSV, or any Arrow type from Parquet).
    field
        The contract field, whose ``type`` decides the parsing.
    missing_values
        Texts that mean "no value" (Table Schema ``missingValues``).

    Returns
    -------
    ParsedColumn
        Typed values and problem masks; never raises for bad cells.
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    kind = array.type
    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        array = pc.cast(array, pa.string())
        kind = array.type
    if pa.types.is_null(kind):
        array = pa.nulls(len(array), pa.string())
        kind = array.type
    if pa.types.is_string(kind):
        missing = _mask(
            pc.or_(
                pc.is_null(array), pc.is_in(array, value_set=pa.array(missing_values, pa.string()))
            )
        )
        return _parse_text(field, array, missing)
    typed = _parse_typed(field, array)
    if typed is not None:
        return typed
    try:
        as_text = pc.cast(array, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        n = len(array)
        no = np.zeros(n, dtype=bool)
        return ParsedColumn(
            field,
            pa.nulls(n, _STORAGE[field.type]),
            None,
            no,
            no,
            no,
            ("type-error", f"column of type {kind} cannot hold {field.type} values"),
        )
    missing = _mask(pc.is_null(as_text))
    return _parse_text(field, as_text, missing)


_STORAGE = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "datetime": _UTC_NS,
    "date": pa.date32(),
}


def _parse_typed(field: Field, array: pa.Array) -> ParsedColumn | None:
    """Accept a typed (Parquet) column whose Arrow type fits the field; ``None`` otherwise."""
    kind, n = array.type, len(array)
    no = np.zeros(n, dtype=bool)
    missing = _mask(pc.is_null(array))
    if field.type == "integer" and pa.types.is_integer(kind):
        return ParsedColumn(field, pc.cast(array, pa.int64()), None, missing, no, no)
    if field.type == "integer" and pa.types.is_floating(kind):
        missing = missing | _mask(pc.is_nan(array))
        present = _where(~missing, array)
        whole = _mask(pc.equal(pc.floor(present), present)) & _mask(pc.is_finite(present))
        bad = ~missing & ~whole
        return ParsedColumn(
            field,
            pc.cast(_where(~missing & whole, present), pa.int64()),
            _as_text(array, bad),
            missing,
            bad,
            no,
        )
    if field.type == "number" and (
        pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
    ):
        values = pc.cast(array, pa.float64())
        missing = missing | _mask(pc.is_nan(values))
        bad = ~missing & ~_mask(pc.is_finite(values))  # ±inf: numbers must be finite
        return ParsedColumn(
            field, _where(~missing & ~bad, values), _as_text(values, bad), missing, bad, no
        )
    if field.type == "boolean" and pa.types.is_boolean(kind):
        return ParsedColumn(field, array, None, missing, no, no)
    if field.type == "datetime" and pa.types.is_timestamp(kind):
        if kind.tz is None:
            return ParsedColumn(
                field,
                pa.nulls(n, _UTC_NS),
                None,
                missing,
                no,
                no,
                ("timezone-missing", "timestamp column has no time zone"),
            )
        return ParsedColumn(field, pc.cast(array, _UTC_NS), None, missing, no, no)
    if field.type == "date" and (
        pa.types.is_date(kind) or (pa.types.is_timestamp(kind) and kind.tz is None)
    ):
        values = (
            pc.cast(pc.cast(array, pa.timestamp("ns")), pa.date32())
            if pa.types.is_timestamp(kind)
            else pc.cast(array, pa.date32())
        )
        if pa.types.is_timestamp(kind):
            midnight = _mask(
                pc.equal(pc.cast(values, pa.timestamp("ns")), pc.cast(array, pa.timestamp("ns")))
            )
            bad = ~missing & ~midnight
            return ParsedColumn(field, _where(~bad, values), None, missing, bad, no)
        return ParsedColumn(field, values, None, missing, no, no)
    return None


def _as_text(array: pa.Array, bad: np.ndarray) -> pa.Array | None:
    """Return the typed column as text when some cells are bad (for messages), else ``None``."""
    return pc.cast(array, pa.string()) if bad.any() else None


def to_pandas(column: ParsedColumn, *, nullable: bool) -> pd.Series:
    """Convert valid typed values to the frame's dtype.

    Datetimes become ``datetime64[ns, UTC]``, dates ``datetime64[ns]`` at midnight, integers
    ``int64`` (``Int64`` when ``nullable``), numbers ``float64``, booleans ``bool`` (``boolean``
    when nullable) and strings pandas's default string dtype.
    """
    values, kind = column.values, column.field.type
    if kind == "integer":
        return (
            values.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
            if nullable
            else pd.Series(values.to_numpy(zero_copy_only=False), dtype="int64")
        )
    if kind == "boolean":
        return (
            values.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get)
            if nullable
            else pd.Series(values.to_numpy(zero_copy_only=False), dtype=bool)
        )
    if kind == "date":
        return pc.cast(values, pa.timestamp("ns")).to_pandas().astype("datetime64[ns]")
    if kind == "datetime":
        return values.to_pandas().astype("datetime64[ns, UTC]")
    if kind == "number":
        return values.to_pandas().astype("float64")
    return values.to_pandas()
