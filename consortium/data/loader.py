"""Contract-checked loading: purpose check, read, validate, minimise, all or nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from consortium.config import Settings, load_settings
from consortium.data.declarations import (
    PurposeRefused,
    SourceDeclaration,
    how_to_declare,
    purposes,
    read_declaration,
)
from consortium.data.readers import read_table, require_file
from consortium.errors import ConfigError, ContractViolation, Problem
from consortium.schemas import Contract, check_table, codes, load_contract

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class LoadedTable:
    """A validated, typed, minimised table.

    Attributes
    ----------
    frame
        Contract columns only, in contract order, personal fields removed.  Datetimes are
        ``datetime64[ns, UTC]``, dates ``datetime64[ns]`` at midnight, integers ``int64``
        (``Int64`` when optional), numbers ``float64``, strings pandas's string dtype.
    contract
        The contract applied.
    source
        The file read.
    purpose
        The declared purpose this load serves.
    dropped_columns
        Columns in the file but not in the contract, never loaded (data minimisation).
    personal_columns_removed
        Personal (``x-personal``) columns present in the file and removed from ``frame``.
    n_rows
        Data rows loaded.
    """

    frame: pd.DataFrame
    contract: Contract
    source: Path
    purpose: str
    dropped_columns: tuple[str, ...]
    personal_columns_removed: tuple[str, ...]
    n_rows: int


@dataclass(frozen=True)
class ValidationReport:
    """What :func:`validate_file` found; ``valid`` when there are no problems.

    Attributes
    ----------
    source, contract, version
        The file, and the contract name and version it was checked against.
    n_rows
        Data rows checked (rows the reader could not split into cells included).
    dropped_columns
        Columns outside the contract, which a load would drop.
    personal_columns
        Personal columns present, which a load would remove.
    problems, total
        The first ``Settings.max_reported_problems`` problems and how many there are.
    """

    source: Path
    contract: str
    version: int
    n_rows: int
    dropped_columns: tuple[str, ...]
    personal_columns: tuple[str, ...]
    problems: tuple[Problem, ...]
    total: int

    @property
    def valid(self) -> bool:
        """Whether the file meets its contract."""
        return self.total == 0


def _check(
    path: Path, contract: Contract, *, labelled: bool, settings: Settings
) -> tuple[ValidationReport, pd.DataFrame | None]:
    raw = read_table(path, contract)
    checked = check_table(
        raw.table,
        contract,
        source=path.name,
        labelled=labelled,
        max_problems=settings.max_reported_problems,
        row_numbers=raw.row_numbers,
        prior=raw.problems,
    )
    personal = tuple(c for c in contract.personal_fields if c in raw.header)
    report = ValidationReport(
        source=path,
        contract=contract.name,
        version=contract.version,
        n_rows=checked.n_rows
        + sum(p.code in {codes.MISSING_CELL, codes.EXTRA_CELL} for p in raw.problems),
        dropped_columns=raw.dropped,
        personal_columns=personal,
        problems=checked.problems,
        total=checked.total,
    )
    return report, checked.frame


def validate_file(
    path: Path | str,
    *,
    contract: str,
    labelled: bool = True,
    settings: Settings | None = None,
) -> ValidationReport:
    """Check a file against a contract without loading it for any purpose.

    A member uses this on its own file before declaring it; no ``sources.json`` is needed.

    Raises
    ------
    UnknownContract
        ``contract`` names no contract (exit code 2).
    ConfigError
        The file is missing, unreadable or of an unsupported format (exit code 2).

    Examples
    --------
    >>> from consortium.config import REPO_ROOT
    >>> report = validate_file(REPO_ROOT / "data_schemas/examples/stock.invalid.constraints.csv",
    ...                        contract="stock")
    >>> report.valid, [(p.row, p.column, p.code) for p in report.problems][0]
    (False, (1, 'on_hand_units', 'constraint-error'))
    """
    settings = settings or load_settings()
    report, _ = _check(
        Path(path), load_contract(contract, settings=settings), labelled=labelled, settings=settings
    )
    return report


def load_table(
    path: Path | str,
    *,
    contract: str,
    purpose: str,
    declaration: SourceDeclaration | None = None,
    labelled: bool = True,
    settings: Settings | None = None,
) -> LoadedTable:
    """Load a member's file for a declared purpose, validated against its contract.

    The purpose is checked before the file is opened.  Every problem is collected (the first
    ``Settings.max_reported_problems`` listed, the rest counted); the frame is returned only when
    there are none.  Row numbers in problems are 1-based data rows (data row 1 is line 2 of a CSV).

    Parameters
    ----------
    path
        A ``.csv``, ``.csv.gz``, ``.parquet`` or ``.pq`` file.
    contract
        The contract name (``legs``, ``stock``).
    purpose
        What the rows will be used for; must be declared for this file.
    declaration
        The member's declaration; read from ``sources.json`` next to the file when ``None``.
    labelled
        ``False`` for prediction input, where the label fields may be empty.
    settings
        Schemas folder and problem cap.

    Returns
    -------
    LoadedTable
        The typed frame without personal or non-contract columns.

    Raises
    ------
    ConfigError
        ``path``: no such file (checked first, before the purpose).
    PurposeNotDeclared
        No manifest, the file is not listed, or ``purpose`` is not declared for it.
    ContractViolation
        The file breaks its contract, or the manifest declares it under another contract.
    UnknownContract, ConfigError
        Unknown contract or purpose; unreadable file.

    Examples
    --------
    >>> import shutil, tempfile
    >>> from consortium.config import REPO_ROOT
    >>> from consortium.data import write_declaration
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = shutil.copy(REPO_ROOT / "data_schemas/examples/legs.valid.csv", folder / "legs.csv")
    >>> _ = write_declaration(folder, member_id="m1", path="legs.csv", contract="legs",
    ...                       purposes=["eta-training"])
    >>> table = load_table(folder / "legs.csv", contract="legs", purpose="eta-training")
    >>> table.n_rows, table.personal_columns_removed, str(table.frame["actual_arrival"].dtype)
    (4, ('driver_name', 'contact_email'), 'datetime64[ns, UTC]')
    """
    settings = settings or load_settings()
    path = Path(path)
    chosen = load_contract(contract, settings=settings)
    require_file(path)
    _authorise(path, contract=contract, purpose=purpose, declaration=declaration, settings=settings)
    report, frame = _check(path, chosen, labelled=labelled, settings=settings)
    if frame is None:
        raise ContractViolation(report.problems, total=report.total)
    frame = frame.drop(columns=list(chosen.personal_fields))
    logger.info(
        "loaded %s for %s: %d rows; dropped %s; personal removed %s",
        path,
        purpose,
        len(frame),
        report.dropped_columns,
        report.personal_columns,
    )
    return LoadedTable(
        frame=frame,
        contract=chosen,
        source=path,
        purpose=purpose,
        dropped_columns=report.dropped_columns,
        personal_columns_removed=report.personal_columns,
        n_rows=len(frame),
    )


def _authorise(
    path: Path,
    *,
    contract: str,
    purpose: str,
    declaration: SourceDeclaration | None,
    settings: Settings,
) -> None:
    """Refuse unless the manifest lists ``path`` under ``contract`` for ``purpose``."""
    vocabulary = purposes(settings=settings)
    if purpose not in vocabulary:
        raise ConfigError(
            "purpose", f"unknown purpose '{purpose}' (known: {', '.join(vocabulary)})"
        )
    hint = how_to_declare(path, contract=contract, purpose=purpose)
    declaration = (
        declaration if declaration is not None else read_declaration(path, settings=settings)
    )
    if declaration is None:
        raise PurposeRefused(str(path), purpose, (), hint=f"no sources.json declares it; {hint}")
    entry = declaration.source_for(path)
    if entry is None:
        raise PurposeRefused(
            str(path), purpose, (), hint=f"{declaration.manifest} does not list it; {hint}"
        )
    if entry.contract != contract:
        reason = (
            f"declared under contract '{entry.contract}' in {declaration.manifest}, "
            f"loaded as '{contract}'"
        )
        raise ContractViolation([Problem(str(path), None, None, codes.CONTRACT_MISMATCH, reason)])
    if purpose not in entry.purposes:
        raise PurposeRefused(str(path), purpose, entry.purposes, hint=hint)
