"""Read a member's CSV or Parquet file into an Arrow table of the contract's columns.

CSV cells are read as text (the contract, not Arrow's type inference, decides types); Parquet
columns keep their stored types.  Columns outside the contract are never loaded: their names are
returned so the caller can report them (data minimisation).  Rows with the wrong number of cells
are skipped and reported as ``missing-cell`` / ``extra-cell`` problems with their data row.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from consortium.errors import ConfigError, Problem
from consortium.schemas import Contract, codes

logger = logging.getLogger(__name__)

CSV_SUFFIXES = (".csv", ".csv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True, eq=False)
class RawTable:
    """A file's contract columns as read, before validation.

    Attributes
    ----------
    table
        The contract columns present in the file.
    header
        Every column name in the file, in file order.
    dropped
        Columns in the file but not in the contract (not loaded).
    row_numbers
        1-based data row of each table row when malformed rows were skipped, else ``None``.
    problems
        Header and row-shape problems found while reading.
    """

    table: pa.Table
    header: tuple[str, ...]
    dropped: tuple[str, ...]
    row_numbers: np.ndarray | None
    problems: tuple[Problem, ...]


def _unreadable(path: Path, reason: str) -> ConfigError:
    return ConfigError("path", f"{path}: {reason}")


def _csv_header(path: Path) -> list[str]:
    """Return the first record of a CSV file (BOM-tolerant, gzip by suffix)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:  # type: ignore[operator]
        return next(csv.reader(io.StringIO(handle.readline())), [])


def _header_problems(path: Path, header: list[str]) -> list[Problem]:
    counts = Counter(header)
    return [
        Problem(
            str(path.name), None, name, codes.DUPLICATE_LABEL, f"column '{name}' appears {n} times"
        )
        for name, n in counts.items()
        if n > 1
    ]


def read_table(path: Path, contract: Contract) -> RawTable:
    """Read ``path`` (CSV or Parquet, by suffix), keeping only the contract's columns.

    Raises
    ------
    ConfigError
        The file is missing, unreadable or of an unsupported format (exit code 2).
    """
    name = path.name.lower()
    if not path.is_file():
        raise _unreadable(path, "no such file")
    try:
        if name.endswith(CSV_SUFFIXES):
            return _read_csv(path, contract)
        if name.endswith(PARQUET_SUFFIXES):
            return _read_parquet(path, contract)
    except (OSError, UnicodeDecodeError, pa.ArrowException) as exc:
        raise _unreadable(path, f"cannot be read ({exc})") from exc
    raise _unreadable(
        path, f"unsupported format (use {', '.join(CSV_SUFFIXES + PARQUET_SUFFIXES)})"
    )


def _split(header: list[str], contract: Contract) -> tuple[list[str], tuple[str, ...]]:
    wanted = set(contract.field_names)
    keep = [c for c in dict.fromkeys(header) if c in wanted]
    dropped = tuple(c for c in dict.fromkeys(header) if c not in wanted)
    return keep, dropped


def _read_csv(path: Path, contract: Contract) -> RawTable:
    header = _csv_header(path)
    if not header:
        raise _unreadable(path, "empty file (no header row)")
    problems = _header_problems(path, header)
    keep, dropped = _split(header, contract)
    if problems:
        return RawTable(pa.table({}), tuple(header), dropped, None, tuple(problems))
    bad_rows: list[tuple[int | None, int]] = []

    def on_invalid(row: pcsv.InvalidRow) -> str:
        bad_rows.append((row.number, row.actual_columns))
        return "skip"

    def read(threads: bool) -> pa.Table:
        return pcsv.read_csv(
            path,
            read_options=pcsv.ReadOptions(use_threads=threads, column_names=header, skip_rows=1),
            parse_options=pcsv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pcsv.ConvertOptions(
                column_types={c: pa.string() for c in header},
                include_columns=keep,
                strings_can_be_null=False,
                null_values=[],
                quoted_strings_can_be_null=False,
            ),
        )

    table = read(threads=True)
    if not bad_rows:
        return RawTable(table, tuple(header), dropped, None, ())
    # Threaded reading does not know row numbers; re-read once, serially, to locate them.
    bad_rows.clear()
    table = read(threads=False)
    n_total = table.num_rows + len(bad_rows)
    skipped = np.array([number - 1 for number, _ in bad_rows if number is not None], dtype=np.int64)
    row_numbers = np.setdiff1d(np.arange(1, n_total + 1), skipped)
    for number, cells in bad_rows:
        row = None if number is None else number - 1
        if cells < len(header):
            problems.append(
                Problem(
                    path.name,
                    row,
                    header[cells],
                    codes.MISSING_CELL,
                    f"row has {cells} cells, the header has {len(header)}",
                )
            )
        else:
            problems.append(
                Problem(
                    path.name,
                    row,
                    None,
                    codes.EXTRA_CELL,
                    f"row has {cells} cells, the header has {len(header)}",
                )
            )
    logger.info("%s: %d malformed rows skipped and reported", path, len(bad_rows))
    return RawTable(table, tuple(header), dropped, row_numbers, tuple(problems))


def _read_parquet(path: Path, contract: Contract) -> RawTable:
    header = list(pq.read_schema(path).names)
    problems = _header_problems(path, header)
    keep, dropped = _split(header, contract)
    if problems:
        return RawTable(pa.table({}), tuple(header), dropped, None, tuple(problems))
    table = pq.read_table(path, columns=keep)
    return RawTable(table, tuple(header), dropped, None, ())
