"""Validate a whole Arrow table against a contract and build the typed frame, all or nothing.

Why not ``frictionless.validate()`` itself: it reads and checks row by row in Python. Measured on
this project's 2-core machine (``benchmarks/results_load.md``) it takes about 4 s per 100,000 leg
rows, so 40 s or more for a million rows, and it returns no typed frame.  This module applies the
same Table Schema rules column by column with pyarrow/pandas (about 100 times faster), reading
every type and constraint from the frictionless ``Schema`` so nothing is restated in code.
frictionless remains the reference: ``tests/schemas/test_reference.py`` runs its ``validate()`` on
every invalid example and requires the same (row, column, code) for the Table-Schema-level codes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from consortium.errors import ContractViolation, Problem
from consortium.schemas import codes
from consortium.schemas.cells import ParsedColumn, parse_column, to_pandas
from consortium.schemas.checks import check_column, check_primary_key, check_rule
from consortium.schemas.contract import Contract
from consortium.schemas.findings import Finding, to_problems

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class CheckedTable:
    """The outcome of :func:`check_table`: a typed frame, or the problems (never both).

    Attributes
    ----------
    frame
        Every contract column, typed, in contract order; ``None`` when there are problems.
    problems
        The first ``max_problems`` problems in row order.
    total
        How many problems there are in all.
    n_rows
        Data rows checked.
    """

    frame: pd.DataFrame | None
    problems: tuple[Problem, ...]
    total: int
    n_rows: int

    @property
    def valid(self) -> bool:
        """Whether the table meets its contract."""
        return self.total == 0


def check_table(
    table: pa.Table,
    contract: Contract,
    *,
    source: str,
    labelled: bool = True,
    max_problems: int = 50,
    row_numbers: np.ndarray | None = None,
    prior: Sequence[Problem] = (),
) -> CheckedTable:
    """Check every cell, key and rule of ``table``; build the frame only if all pass.

    Parameters
    ----------
    table
        Columns as read; names not in the contract are ignored (the caller drops them).
        Missing optional columns count as empty.
    contract
        The contract to apply.
    source
        File name used in problems.
    labelled
        ``False`` for prediction input: label fields (``x-label``) may be empty or absent.
    max_problems
        How many problems to list; the rest are counted.
    row_numbers
        1-based data row of each table row when the reader skipped malformed rows.
    prior
        Problems the reader already found (they also prevent the frame).

    Returns
    -------
    CheckedTable
        The frame or the problems.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from consortium.schemas import load_contract
    >>> t = pa.table({"warehouse_id": ["W1"], "date": ["2024-05-01"], "on_hand_units": ["-1"],
    ...               "capacity_units": ["10"], "inbound_units": ["0"], "outbound_units": ["0"]})
    >>> result = check_table(t, load_contract("stock"), source="stock.csv")
    >>> [(p.row, p.column, p.code) for p in result.problems]
    [(1, 'on_hand_units', 'constraint-error')]
    """
    schema = contract.schema
    n_rows = table.num_rows
    relaxed = set() if labelled else set(contract.label_fields)
    present = set(table.column_names)
    findings: list[Finding] = []
    parsed: dict[str, ParsedColumn] = {}
    for index, field in enumerate(schema.fields):
        required = field.required and field.name not in relaxed
        if field.name not in present:
            if required:
                findings.append(
                    Finding(
                        codes.MISSING_COLUMN, field.name, None, _missing(field.name), (index, 0)
                    )
                )
            array: pa.Array | pa.ChunkedArray = pa.nulls(n_rows, pa.string())
        else:
            array = table.column(field.name)
        missing_values = (
            field.missing_values if field.has_defined("missing_values") else schema.missing_values
        )
        column = parse_column(array, field, list(missing_values))
        parsed[field.name] = column
        if field.name in present:
            findings.extend(check_column(column, index=index, required=required))
    n_fields = len(schema.fields)
    findings.extend(check_primary_key([parsed[k] for k in contract.primary_key], order=n_fields))
    for offset, rule in enumerate(contract.rules, start=1):
        findings.extend(
            check_rule(rule, parsed[rule.field], parsed[rule.after], order=n_fields + offset)
        )
    problems, total = to_problems(
        findings, source=source, cap=max_problems, row_numbers=row_numbers, prior=prior
    )
    if total:
        logger.info("%s: %d contract problems in %d rows", source, total, n_rows)
        return CheckedTable(None, tuple(problems), total, n_rows)
    frame = pd.DataFrame(
        {
            name: to_pandas(column, nullable=not column.field.required or name in relaxed)
            for name, column in parsed.items()
        }
    )
    return CheckedTable(frame, (), 0, n_rows)


def _missing(name: str) -> Callable[[int | None], str]:
    """Return the explanation of a missing required column."""

    def explain(_position: int | None) -> str:
        return f"required column '{name}' is missing"

    return explain


def validate_table(
    table: pa.Table,
    contract: Contract,
    *,
    source: str,
    labelled: bool = True,
    max_problems: int = 50,
) -> pd.DataFrame:
    """Return the typed frame of ``table`` or raise :class:`ContractViolation` with every problem.

    Raises
    ------
    ContractViolation
        Listing up to ``max_problems`` problems, with the total count.
    """
    result = check_table(
        table, contract, source=source, labelled=labelled, max_problems=max_problems
    )
    if result.frame is None:
        raise ContractViolation(result.problems, total=result.total)
    return result.frame
