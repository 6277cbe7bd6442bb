"""The audit room: verify the ledger, then replay the state derived from it.

Balances, tallies and policy are recomputed from the entries and compared with the
coordinator's stored tables, naming the first entry where they disagree. The room sits above
points, governance and policy (the ledger room below cannot import them).
"""

from consortium.audit.database import AuditReport, audit_database
from consortium.audit.state import check_derived_state
from consortium.audit.supply import audited_supply

__all__ = ["AuditReport", "audit_database", "audited_supply", "check_derived_state"]
