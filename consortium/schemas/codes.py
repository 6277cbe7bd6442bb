"""Stable problem codes reported in :class:`~consortium.errors.Problem` ``.code``.

The Table Schema codes are frictionless's own (``frictionless/errors/data/*.py``), so a report
from the fast validator and one from ``frictionless.validate()`` use the same vocabulary.  The
kit's own codes cover rules Table Schema cannot express.  Tests assert these codes, never the
human-readable reason.
"""

from __future__ import annotations

# frictionless codes (cell, row and label errors)
TYPE_ERROR = "type-error"
CONSTRAINT_ERROR = "constraint-error"
UNIQUE_ERROR = "unique-error"
PRIMARY_KEY = "primary-key"
MISSING_CELL = "missing-cell"
EXTRA_CELL = "extra-cell"
DUPLICATE_LABEL = "duplicate-label"

# the kit's codes
MISSING_COLUMN = "missing-column"
TIMEZONE_MISSING = "timezone-missing"
ARRIVAL_BEFORE_DEPARTURE = "arrival-before-departure"
UNKNOWN_CONTRACT = "unknown-contract"
CONTRACT_MISMATCH = "contract-mismatch"
PARQUET_FOOTER = "parquet-footer"
WRONG_DELIMITER = "wrong-delimiter"

# message (JSON Schema) codes
MISSING_FIELD = "missing-field"
EXTRA_FIELD = "extra-field"

TABLE_SCHEMA_CODES = frozenset({TYPE_ERROR, CONSTRAINT_ERROR, UNIQUE_ERROR, PRIMARY_KEY})
"""Codes that frictionless's own ``validate()`` also reports for the same cells."""
