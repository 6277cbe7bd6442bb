"""Errors raised by the federation adapter.

They follow the kit's rules (``ConsortiumError`` plus the builtin they refine, location as
attributes, a stable ``code``) but live here until ``consortium/errors.py`` adopts them.
"""

from __future__ import annotations

from consortium.errors import ConsortiumError


class UpdateRejected(ConsortiumError, ValueError):
    """A model update (or model) is malformed: wrong key, shape, dtype, range or values.

    Parameters
    ----------
    member : str
        Who sent the update (member id, or ``"node <id>"`` when only the node is known).
    key : str | None
        The offending ``state_dict`` key or array position; ``None`` for the whole update.
    code : str
        Stable machine-readable reason: ``missing-key``, ``unexpected-key``,
        ``count-mismatch``, ``shape-mismatch``, ``dtype-mismatch``, ``non-finite``,
        ``out-of-range`` or ``weight-out-of-range``.
    reason : str
        Human-readable detail.
    """

    def __init__(self, member: str, key: str | None, *, code: str, reason: str) -> None:
        self.member = member
        self.key = key
        self.code = code
        self.reason = reason
        where = f"member {member}" + (f", array '{key}'" if key is not None else "")
        super().__init__(f"{where}: {reason} [{code}]")


class RoundFailed(ConsortiumError, RuntimeError):
    """A federated round produced no new global model; the previous model stays in force.

    Parameters
    ----------
    server_round : int
        The round that failed.
    code : str
        ``too-few-members`` (not enough members to start), ``secagg-halted`` (too many
        dropped for the reconstruction threshold) or ``no-results`` (every update failed).
    reason : str
        Human-readable detail.
    failures : tuple of str
        The member failures collected before the round stopped.
    """

    def __init__(
        self, server_round: int, *, code: str, reason: str, failures: tuple[str, ...] = ()
    ) -> None:
        self.server_round = server_round
        self.code = code
        self.reason = reason
        self.failures = failures
        super().__init__(f"round {server_round}: {reason} [{code}]")

    def diagnostics(self) -> str:
        """Return the reason followed by every member failure."""
        return "\n".join([str(self), *(f"  {f}" for f in self.failures)])
