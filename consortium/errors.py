"""The exception hierarchy: every error says where it happened.

Each class refines :class:`ConsortiumError` and, where one fits, the builtin it specialises
(Opacus-style), so ``except ValueError`` still works for callers that do not know the kit.
Attributes carry the location (file, row, column, account, entry index ...); only the CLI turns
them into text and an exit code, through :meth:`ConsortiumError.diagnostics`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class ConsortiumError(Exception):
    """Base class of every error the kit raises on purpose."""

    exit_code: int = 1

    def diagnostics(self) -> str:
        """Return a human-readable, multi-line explanation for the command line."""
        return str(self)


class ConfigError(ConsortiumError, ValueError):
    """A setting or argument is invalid; ``name`` is the offending parameter."""

    exit_code = 2

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"invalid {name}: {reason}")


@dataclass(frozen=True)
class Problem:
    """One contract problem at a precise location.

    ``row`` is the 1-based data row (the header is row 0 in the file's own numbering, so data
    row 1 is file line 2 in a CSV); ``None`` when the problem concerns the whole table.
    """

    path: str
    row: int | None
    column: str | None
    code: str
    reason: str

    def __str__(self) -> str:
        where = self.path
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        return f"{where}: {self.reason} [{self.code}]"


class ContractViolation(ConsortiumError, ValueError):
    """A table breaks its data contract; holds every problem found (up to a cap) and the total.

    The first problem's location is exposed as ``path``, ``row``, ``column`` and ``code`` so that
    callers handling a single problem need not look into ``problems``.
    """

    def __init__(self, problems: Sequence[Problem], *, total: int | None = None) -> None:
        if not problems:
            raise ValueError("ContractViolation needs at least one problem")
        self.problems = list(problems)
        self.total = total if total is not None else len(self.problems)
        first = self.problems[0]
        self.path, self.row, self.column = first.path, first.row, first.column
        self.code = first.code
        more = self.total - 1
        suffix = f" (and {more} more problem{'s' if more != 1 else ''})" if more > 0 else ""
        super().__init__(f"{first}{suffix}")

    def diagnostics(self) -> str:
        """List every collected problem, then how many were not shown."""
        lines = [str(p) for p in self.problems]
        hidden = self.total - len(self.problems)
        if hidden > 0:
            lines.append(f"... and {hidden} more problems not shown")
        return "\n".join(lines)


class PurposeNotDeclared(ConsortiumError, PermissionError):
    """A data source was used for a purpose its owner did not declare (GDPR purpose limitation)."""

    def __init__(self, source: str, purpose: str, declared: Sequence[str]) -> None:
        self.source = source
        self.purpose = purpose
        self.declared = tuple(declared)
        allowed = ", ".join(self.declared) or "none"
        super().__init__(
            f"{source}: purpose '{purpose}' was not declared for this source (declared: {allowed})"
        )


class BudgetExceeded(ConsortiumError, RuntimeError):
    """Training would spend more privacy budget than the member allowed."""

    def __init__(self, spent: float, limit: float, *, member: str | None = None) -> None:
        self.spent = spent
        self.limit = limit
        self.member = member
        who = f"member {member}: " if member else ""
        super().__init__(f"{who}privacy budget exhausted: ε spent {spent:.3f} of {limit:.3f}")


class LedgerError(ConsortiumError):
    """Base class of ledger verification and storage errors."""


class VerificationError(LedgerError, ValueError):
    """A hash, signature, proof or tree head does not verify; ``index`` names the entry if any."""

    def __init__(self, reason: str, *, index: int | None = None) -> None:
        self.reason = reason
        self.index = index
        where = f"entry {index}: " if index is not None else ""
        super().__init__(f"{where}{reason}")


class ChainBroken(VerificationError):
    """A recomputed hash differs from the stored or expected one."""

    def __init__(
        self, index: int | None, expected: str, actual: str, *, what: str = "hash"
    ) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(f"{what} mismatch: expected {expected}, computed {actual}", index=index)
        self.index = index


class StateDrift(VerificationError):
    """A stored derived table (balances, journal, tallies, policy) disagrees with the ledger.

    ``index`` is the first entry (seq) at which the stored state and the replay of the entries
    disagree (``None`` if no entry accounts for the stored row); ``what`` names the state.
    """

    def __init__(self, index: int | None, *, what: str, stored: str, replayed: str) -> None:
        self.what = what
        self.stored = stored
        self.replayed = replayed
        super().__init__(
            f"{what}: stored {stored}, the ledger's entries give {replayed}", index=index
        )


class EntryOutOfOrder(LedgerError, ValueError):
    """An entry's time is older than the time of the entry before it (times are monotonic)."""

    def __init__(self, seq: int, time: str, previous: str) -> None:
        self.seq = seq
        self.time = time
        self.previous = previous
        super().__init__(f"entry {seq}: time {time} is before the previous entry's {previous}")


class InsufficientPoints(ConsortiumError, ValueError):
    """A debit would make a balance negative."""

    def __init__(self, account: str, balance: int, requested: int) -> None:
        self.account = account
        self.balance = balance
        self.requested = requested
        super().__init__(f"account {account}: balance {balance} is less than {requested}")


class ModelError(ConsortiumError, ValueError):
    """A model directory or model card is missing, malformed or incompatible."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")

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
        ``out-of-range``, ``weight-out-of-range`` or ``plain-refused`` (a member asked to send
        its update unmasked without allowing it).
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


class OperationRefused(ConsortiumError, ValueError):
    """A points, governance, membership or query operation was refused; nothing was written.

    Parameters
    ----------
    subject : str
        What the operation was about: an account, ``proposal <id>``, ``query <id>``, a member.
    code : str
        Stable machine-readable reason (``unknown-account``, ``not-a-holder``,
        ``double-vote``, ``voting-closed``, ``unknown-lane``, ``over-max-price``, ...).
    reason : str
        Human-readable detail.
    """

    def __init__(self, subject: str, *, code: str, reason: str) -> None:
        self.subject = subject
        self.code = code
        self.reason = reason
        super().__init__(f"{subject}: {reason} [{code}]")


class PointsError(OperationRefused):
    """A points operation breaks a rule (unknown account, non-positive amount, wrong role)."""


class GovernanceError(OperationRefused):
    """A proposal or vote is refused (wrong state, double vote, no voting power, bad params)."""


class MembershipError(OperationRefused):
    """A member is unknown, not admitted, or removed (its node and keys are refused)."""


class QueryRejected(OperationRefused):
    """A paid forecast query is refused before anything is charged."""


class DeploymentError(ConsortiumError, RuntimeError):
    """A deployment process or ``flwr`` command failed; nothing is left running.

    Parameters
    ----------
    subject : str
        What failed: ``superlink``, ``supernode <member>``, ``flwr run``, ``run <id>``, ...
    code : str
        ``start-failed``, ``not-ready``, ``cli-failed``, ``timeout`` or ``unknown-member``.
    reason : str
        Human-readable detail (the tail of the process log where there is one).
    """

    def __init__(self, subject: str, *, code: str, reason: str) -> None:
        self.subject = subject
        self.code = code
        self.reason = reason
        super().__init__(f"{subject}: {reason} [{code}]")


class StoreUnavailable(ConsortiumError, RuntimeError):
    """The coordinator's stores cannot be reached or read; ``cause`` names the driver's error."""

    def __init__(self, cause: str) -> None:
        self.cause = cause
        super().__init__(f"cannot open the coordinator database: {cause}")


class SchemaOutdated(ConsortiumError, RuntimeError):
    """The database's schema is older (or newer) than this kit's; nothing was changed.

    ``found`` and ``needed`` are schema numbers; ``detail`` names what is missing, if known.
    """

    def __init__(self, found: int, needed: int, *, detail: str = "") -> None:
        self.found = found
        self.needed = needed
        self.detail = detail
        action = (
            "run `consortium database upgrade --db URL`" if found < needed else "use a newer kit"
        )
        extra = f" ({detail})" if detail else ""
        super().__init__(f"database schema {found}, this kit needs {needed}{extra}: {action}")
