"""The member roster: admission, exit (right to be forgotten) and removal, all on the ledger.

See :mod:`consortium.membership.store` for the flows; ``docs/services.md`` for the interface.
"""

from consortium.membership import joins as _joins  # noqa: F401  (registers its table)
from consortium.membership.models import MemberRecord, MemberStatus
from consortium.membership.store import (
    active_members,
    admit_member,
    check_member_id,
    get_member,
    list_members,
    member_of_key,
    remove_member,
    request_exit,
    require_active,
)

__all__ = [
    "MemberRecord",
    "MemberStatus",
    "active_members",
    "admit_member",
    "check_member_id",
    "get_member",
    "list_members",
    "member_of_key",
    "remove_member",
    "request_exit",
    "require_active",
]
