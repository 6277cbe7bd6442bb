"""Member data: purpose-limited, contract-checked, minimised loading of CSV and Parquet files.

Public API
----------
load_table(path, *, contract, purpose, ...) -> LoadedTable
validate_file(path, *, contract, ...) -> ValidationReport
read_declaration(path) -> SourceDeclaration | None
write_declaration(folder, *, member_id, path, contract, purposes) -> Path
purposes() -> tuple[str, ...]
"""

from consortium.data.declarations import (
    MANIFEST_NAME,
    DeclaredSource,
    PurposeRefused,
    SourceDeclaration,
    purposes,
    read_declaration,
    write_declaration,
)
from consortium.data.loader import LoadedTable, ValidationReport, load_table, validate_file

__all__ = [
    "MANIFEST_NAME",
    "DeclaredSource",
    "LoadedTable",
    "PurposeRefused",
    "SourceDeclaration",
    "ValidationReport",
    "load_table",
    "purposes",
    "read_declaration",
    "validate_file",
    "write_declaration",
]
