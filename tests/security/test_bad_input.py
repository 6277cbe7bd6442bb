"""Bad input against the real contract loader: infinities, a forged Parquet footer, huge strings.

Each test writes the hostile file a member (or whoever hands a member a file) could produce and
loads it through :func:`consortium.data.load_table`, the path every training and evaluation run
takes. The loader must refuse each with a :class:`ContractViolation` naming the file, the row
and column where there is one, and the reason, and must refuse the forged footer before it reads
or allocates what the footer claims.
"""

from __future__ import annotations

import shutil
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from consortium.config import REPO_ROOT
from consortium.data import load_table, validate_file, write_declaration
from consortium.errors import ContractViolation
from consortium.schemas import load_contract

EXAMPLES = REPO_ROOT / "data_schemas" / "examples"
GIB = 1 << 30


# --- a minimal Thrift compact-protocol codec (the Parquet footer's encoding) --------------------
# Enough to decode a footer into nested [field id, type, value] lists, change a field, and encode
# it again; the forged file then says exactly what an attacker's hex editor would make it say.

_STOP, _TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(
    13
)
Struct = list[list[Any]]


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def byte(self) -> int:
        self.pos += 1
        return self.data[self.pos - 1]

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return result

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def value(self, kind: int) -> Any:
        if kind in (_TRUE, _FALSE):
            return kind == _TRUE
        if kind == _BYTE:
            return self.byte()
        if kind in (_I16, _I32, _I64):
            return self.zigzag()
        if kind == _DOUBLE:
            self.pos += 8
            return self.data[self.pos - 8 : self.pos]
        if kind == _BINARY:
            n = self.varint()
            self.pos += n
            return self.data[self.pos - n : self.pos]
        if kind in (_LIST, _SET):
            head = self.byte()
            size, elem = head >> 4, head & 0x0F
            if size == 15:
                size = self.varint()
            items = [
                (self.byte() == 1) if elem in (_TRUE, _FALSE) else self.value(elem)
                for _ in range(size)
            ]
            return (elem, items)
        if kind == _STRUCT:
            return self.struct()
        raise ValueError(f"thrift type {kind} not handled (maps do not occur in these footers)")

    def struct(self) -> Struct:
        fields: Struct = []
        last = 0
        while True:
            head = self.byte()
            if head == _STOP:
                return fields
            delta, kind = head >> 4, head & 0x0F
            fid = last + delta if delta else self.zigzag()
            fields.append([fid, kind, self.value(kind)])
            last = fid


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _zigzag(n: int) -> bytes:
    return _varint((n << 1) ^ (n >> 63))


def _encode_value(kind: int, value: Any) -> bytes:
    if kind in (_TRUE, _FALSE):
        return b""
    if kind == _BYTE:
        return bytes([value])
    if kind in (_I16, _I32, _I64):
        return _zigzag(value)
    if kind == _DOUBLE:
        return bytes(value)
    if kind == _BINARY:
        return _varint(len(value)) + bytes(value)
    if kind in (_LIST, _SET):
        elem, items = value
        head = bytes([(len(items) << 4) | elem]) if len(items) < 15 else bytes([0xF0 | elem])
        size = b"" if len(items) < 15 else _varint(len(items))
        body = b"".join(
            bytes([1 if item else 2]) if elem in (_TRUE, _FALSE) else _encode_value(elem, item)
            for item in items
        )
        return head + size + body
    return _encode_struct(value)


def _encode_struct(fields: Struct) -> bytes:
    out, last = bytearray(), 0
    for fid, kind, value in fields:
        wire = _TRUE if kind in (_TRUE, _FALSE) and value else kind
        wire = _FALSE if kind in (_TRUE, _FALSE) and not value else wire
        delta = fid - last
        out += bytes([(delta << 4) | wire]) if 0 < delta <= 15 else bytes([wire]) + _zigzag(fid)
        out += _encode_value(kind, value)
        last = fid
    out.append(_STOP)
    return bytes(out)


def _field(fields: Struct, fid: int) -> list[Any]:
    return next(f for f in fields if f[0] == fid)


def forge_footer(path: Path, edit: Callable[[Struct], None]) -> None:
    """Decode ``path``'s footer, let ``edit`` change it, and write it back (length fixed up)."""
    data = path.read_bytes()
    assert data[-4:] == b"PAR1"
    (length,) = struct.unpack("<i", data[-8:-4])
    start = len(data) - 8 - length
    meta = _Reader(data[start : len(data) - 8]).struct()
    edit(meta)
    forged = _encode_struct(meta)
    path.write_bytes(data[:start] + forged + struct.pack("<i", len(forged)) + b"PAR1")


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def member_dir(tmp_path: Path) -> Path:
    """A member folder whose ``legs`` file is declared for training (CSV and Parquet names)."""
    for name in ("legs.csv", "legs.parquet"):
        write_declaration(
            tmp_path, member_id="m1", path=name, contract="legs", purposes=["eta-training"]
        )
    return tmp_path


def _valid_legs() -> pa.Table:
    names = (EXAMPLES / "legs.valid.csv").read_text().splitlines()[0].split(",")
    return pcsv.read_csv(
        EXAMPLES / "legs.valid.csv",
        convert_options=pcsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
        ),
    )


def _with_column(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, values)


# --- non-finite numbers --------------------------------------------------------------------------


def test_csv_number_that_overflows_to_infinity_is_refused_with_its_row_and_column(
    member_dir: Path,
) -> None:
    # Prepare: row 2's distance is 1e309 (a float64 overflow), row 3's temperature -1e400
    lines = (EXAMPLES / "legs.valid.csv").read_text().splitlines()
    header = lines[0].split(",")
    for row, column, text in ((2, "distance_km", "1e309"), (3, "temperature", "-1e400")):
        cells = lines[row].split(",")
        cells[header.index(column)] = text
        lines[row] = ",".join(cells)
    (member_dir / "legs.csv").write_text("\n".join(lines) + "\n")
    # Execute
    with pytest.raises(ContractViolation) as caught:
        load_table(member_dir / "legs.csv", contract="legs", purpose="eta-training")
    # Assert: both cells, each located, as type errors; no frame reached the caller
    found = {(p.path, p.row, p.column, p.code) for p in caught.value.problems}
    assert found == {
        ("legs.csv", 2, "distance_km", "type-error"),
        ("legs.csv", 3, "temperature", "type-error"),
    }
    assert all("finite" in p.reason for p in caught.value.problems)


@pytest.mark.parametrize("value", [float("inf"), float("-inf")])
def test_parquet_infinity_is_refused_even_where_a_minimum_would_let_it_through(
    member_dir: Path, value: float
) -> None:
    # Prepare: a typed Parquet file whose distance_km (minimum 0) and wind_speed hold ±inf
    table = _valid_legs()
    distance = [480.5, value, 12.0, 7.5]
    wind = [value, 3.1, 2.0, 1.0]
    table = _with_column(table, "distance_km", pa.array(distance, pa.float64()))
    table = _with_column(table, "wind_speed", pa.array(wind, pa.float64()))
    pq.write_table(table, member_dir / "legs.parquet")
    # Execute
    with pytest.raises(ContractViolation) as caught:
        load_table(member_dir / "legs.parquet", contract="legs", purpose="eta-training")
    # Assert
    found = {(p.path, p.row, p.column, p.code) for p in caught.value.problems}
    assert found == {
        ("legs.parquet", 2, "distance_km", "type-error"),
        ("legs.parquet", 1, "wind_speed", "type-error"),
    }


# --- a forged Parquet footer ---------------------------------------------------------------------


def _claim_gigabytes(meta: Struct, *, compressed_too: bool) -> None:
    """Make every row group and column chunk claim 2**31 rows and several GiB."""
    _field(meta, 3)[2] = 2**31  # FileMetaData.num_rows
    for group in _field(meta, 4)[2][1]:  # FileMetaData.row_groups
        _field(group, 2)[2] = 4 * GIB  # RowGroup.total_byte_size
        _field(group, 3)[2] = 2**31  # RowGroup.num_rows
        for chunk in _field(group, 1)[2][1]:  # RowGroup.columns
            column = _field(chunk, 3)[2]  # ColumnChunk.meta_data
            _field(column, 5)[2] = 2**31  # num_values
            _field(column, 6)[2] = 4 * GIB  # total_uncompressed_size
            if compressed_too:
                _field(column, 7)[2] = 4 * GIB  # total_compressed_size


@pytest.mark.parametrize("compressed_too", [True, False], ids=["every-size", "uncompressed"])
def test_forged_parquet_footer_is_refused_fast_before_reading_what_it_claims(
    member_dir: Path, compressed_too: bool
) -> None:
    # Prepare: a real 4-row file whose footer now claims 2**31 rows and 4 GiB per chunk
    path = member_dir / "legs.parquet"
    pq.write_table(_valid_legs(), path)
    forge_footer(path, lambda meta: _claim_gigabytes(meta, compressed_too=compressed_too))
    assert pq.ParquetFile(path).metadata.num_rows == 2**31  # the forgery parses as a footer
    # Execute
    started = time.perf_counter()
    with pytest.raises(ContractViolation) as caught:
        load_table(path, contract="legs", purpose="eta-training")
    seconds = time.perf_counter() - started
    # Assert: refused from the footer alone, naming the file and why
    assert seconds < 3.0
    problem = caught.value.problems[0]
    assert (problem.path, problem.row, problem.code) == ("legs.parquet", None, "parquet-footer")
    assert f"({path.stat().st_size} bytes)" in problem.reason


def test_parquet_whose_footer_promises_a_decompression_bomb_is_refused(member_dir: Path) -> None:
    # Prepare: an honest footer, but two million repeated cells packed into a few kilobytes
    rows = 2_000_000
    table = pa.table({"leg_id": pa.repeat(pa.scalar("L-1"), rows)})
    path = member_dir / "legs.parquet"
    pq.write_table(table, path, compression="zstd")
    assert path.stat().st_size < 1 << 20
    # Execute
    started = time.perf_counter()
    with pytest.raises(ContractViolation) as caught:
        validate_file(path, contract="legs")
    # Assert
    assert time.perf_counter() - started < 3.0
    assert caught.value.code == "parquet-footer"


# --- overlong strings ----------------------------------------------------------------------------


def test_overlong_string_is_refused_with_its_row_and_column(member_dir: Path) -> None:
    # Prepare: one carrier name of a million characters
    shutil.copy(EXAMPLES / "legs.valid.csv", member_dir / "legs.csv")
    lines = (member_dir / "legs.csv").read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("carrier")] = "X" * 1_000_000
    lines[1] = ",".join(cells)
    (member_dir / "legs.csv").write_text("\n".join(lines) + "\n")
    # Execute
    with pytest.raises(ContractViolation) as caught:
        load_table(member_dir / "legs.csv", contract="legs", purpose="eta-training")
    # Assert
    found = [(p.path, p.row, p.column, p.code) for p in caught.value.problems]
    assert found == [("legs.csv", 1, "carrier", "constraint-error")]
    assert "at most" in caught.value.problems[0].reason
    assert len(str(caught.value)) < 400  # the message shows the cell cut short, not a megabyte


@pytest.mark.parametrize("contract", ["legs", "stock"])
def test_every_string_field_of_a_contract_has_a_maximum_length(contract: str) -> None:
    # Execute
    fields = load_contract(contract).schema.fields
    # Assert
    unbounded = [
        f.name
        for f in fields
        if f.type == "string"
        and not (isinstance(f.constraints.get("maxLength"), int) or f.constraints.get("enum"))
    ]
    assert unbounded == []
