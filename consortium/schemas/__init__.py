"""Data contracts: versioned Table Schemas for tables, JSON Schemas for messages.

Public API
----------
load_contract(name) -> Contract
    Load ``data_schemas/<name>.v<N>.json``.
check_table(table, contract, *, source, ...) -> CheckedTable
validate_table(table, contract, *, source, ...) -> pandas.DataFrame
    Vectorised, contract-driven validation of an Arrow table.
validate_message(kind, payload) -> None
    JSON Schema validation of a query, proposal, vote or source declaration.
"""

from consortium.schemas import codes
from consortium.schemas.contract import (
    Contract,
    Rule,
    UnknownContract,
    available_contracts,
    load_contract,
)
from consortium.schemas.messages import message_kinds, message_schema, validate_message
from consortium.schemas.table import CheckedTable, check_table, validate_table

__all__ = [
    "CheckedTable",
    "Contract",
    "Rule",
    "UnknownContract",
    "available_contracts",
    "check_table",
    "codes",
    "load_contract",
    "message_kinds",
    "message_schema",
    "validate_message",
    "validate_table",
]
