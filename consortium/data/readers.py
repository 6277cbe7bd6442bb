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
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from consortium.errors import ConfigError, ContractViolation, Problem
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


def require_file(path: Path) -> Path:
    """Return ``path`` if it is a file; else raise ``ConfigError`` saying "no such file: PATH".

    Checked before anything else about the file (its declaration, its contract), so a typo in
    a path is reported as such.
    """
    if not path.is_file():
        what = "a folder, not a file" if path.is_dir() else "no such file"
        raise ConfigError("path", f"{what}: {path}")
    return path


def _csv_header(path: Path) -> list[str]:
    """Return the first record of a CSV file (BOM-tolerant, gzip by suffix)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:  # type: ignore[operator]
        return next(csv.reader(io.StringIO(handle.readline())), [])


_DELIMITERS = {";": "semicolon", "\t": "tab"}


def _check_delimiter(path: Path, header: list[str]) -> None:
    """Refuse a CSV whose header is one column holding another delimiter (a spreadsheet's export).

    Raises
    ------
    ContractViolation
        ``wrong-delimiter``, naming the file, its header row and the delimiter it looks like.
    """
    if len(header) != 1:
        return
    for delimiter, name in _DELIMITERS.items():
        if delimiter in header[0]:
            shown = header[0] if len(header[0]) <= 80 else header[0][:77] + "..."
            reason = (
                f"line 1 (the header) is a single column {shown!r}: the file looks "
                f"{name}-separated; save it as comma-separated (CSV, UTF-8) and check it again"
            )
            raise ContractViolation([Problem(path.name, None, None, codes.WRONG_DELIMITER, reason)])


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
    ContractViolation
        ``parquet-footer``: a Parquet footer claims more than the file can hold
        (:func:`check_parquet_footer`); ``wrong-delimiter``: a CSV separated by semicolons or
        tabs (its header reads as one column).
    """
    name = path.name.lower()
    require_file(path)
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
    _check_delimiter(path, header)
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


MAX_EXPANSION = 1000
"""How many times its own size in bytes a Parquet file may claim to hold uncompressed.

Honest member files compress 3-20 times; a footer claiming more (a forged one) is refused before
a single page is read."""
MAX_ROWS_PER_BYTE = 50
"""How many rows per byte of file a Parquet footer may claim. A contract row carries a unique key
and several measurements (bytes each, even compressed); a file with more rows per byte is a
decompression bomb of repeated cells (it would take gigabytes once decoded)."""


def check_parquet_footer(path: Path) -> pq.FileMetaData:
    """Return ``path``'s footer once its claims fit the file's size; read nothing else.

    Every column chunk must lie inside the file, the chunks' compressed sizes must add up to at
    most the file's size, the uncompressed bytes to at most :data:`MAX_EXPANSION` times it, and
    the rows to at most :data:`MAX_ROWS_PER_BYTE` per byte of it. A forged footer is refused
    here, in milliseconds, instead of after the reader has allocated what it claims.

    Raises
    ------
    ContractViolation
        ``parquet-footer``: which claim does not fit, naming the file and its size.
    """
    size = os.path.getsize(path)
    meta = pq.read_metadata(path)
    compressed = uncompressed = 0
    reason = None
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        uncompressed += max(group.total_byte_size, 0)
        for c in range(group.num_columns):
            chunk = group.column(c)
            start = min(
                o for o in (chunk.dictionary_page_offset, chunk.data_page_offset) if o is not None
            )
            compressed += chunk.total_compressed_size
            if (
                start < 0
                or chunk.total_compressed_size < 0
                or (start + chunk.total_compressed_size > size)
            ):
                reason = (
                    f"row group {g} column {chunk.path_in_schema!r} claims bytes "
                    f"{start}..{start + chunk.total_compressed_size}, past the end of the file"
                )
                break
        if reason:
            break
    if reason is None and compressed > size:
        reason = f"column chunks claim {compressed} compressed bytes"
    elif reason is None and uncompressed > MAX_EXPANSION * size:
        reason = f"row groups claim {uncompressed} uncompressed bytes (at most {MAX_EXPANSION}x)"
    elif reason is None and meta.num_rows > MAX_ROWS_PER_BYTE * size:
        reason = f"footer claims {meta.num_rows} rows (at most {MAX_ROWS_PER_BYTE} per byte)"
    if reason is not None:
        raise ContractViolation(
            [
                Problem(
                    path.name,
                    None,
                    None,
                    codes.PARQUET_FOOTER,
                    f"footer does not fit the file ({size} bytes): {reason}",
                )
            ]
        )
    return meta


def _read_parquet(path: Path, contract: Contract) -> RawTable:
    header = list(check_parquet_footer(path).schema.to_arrow_schema().names)
    problems = _header_problems(path, header)
    keep, dropped = _split(header, contract)
    if problems:
        return RawTable(pa.table({}), tuple(header), dropped, None, tuple(problems))
    table = pq.read_table(path, columns=keep)
    return RawTable(table, tuple(header), dropped, None, ())
