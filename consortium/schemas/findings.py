"""Vectorised findings and their conversion into a capped, ordered list of problems.

A :class:`Finding` is one check's verdict over a whole column: the (0-based) table positions where
it failed, plus how to explain one of them.  Only the first ``cap`` problems, in (row, field
order) order, are ever turned into :class:`~consortium.errors.Problem` objects, so a million bad
cells cost a few numpy arrays, not a million objects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from consortium.errors import Problem


@dataclass(frozen=True, eq=False)
class Finding:
    """One check's failures.

    Attributes
    ----------
    code, column
        Problem code and column (``None`` for the whole row or table).
    positions
        Sorted 0-based table positions, or ``None`` for a table-level problem.
    explain
        Builds the reason for one position (``None`` for a table-level problem).
    order
        Tie-breaker among findings on the same row (field index, then check index).
    """

    code: str
    column: str | None
    positions: np.ndarray | None
    explain: Callable[[int | None], str]
    order: tuple[int, int] = (0, 0)

    @property
    def count(self) -> int:
        """How many problems this finding stands for."""
        return 1 if self.positions is None else len(self.positions)


def at(mask: np.ndarray) -> np.ndarray:
    """Positions where ``mask`` holds."""
    return np.flatnonzero(mask)


def to_problems(
    findings: Sequence[Finding],
    *,
    source: str,
    cap: int,
    row_numbers: np.ndarray | None = None,
    prior: Sequence[Problem] = (),
) -> tuple[list[Problem], int]:
    """Merge findings (and already-built problems) into the first ``cap`` problems and a total.

    Parameters
    ----------
    findings
        Checks' results.
    source
        The file name reported in each problem.
    cap
        How many problems to list; the rest are only counted.
    row_numbers
        1-based data row of each table position (when the reader skipped malformed rows);
        position + 1 when ``None``.
    prior
        Problems found before the table was built (header, malformed rows).

    Returns
    -------
    tuple[list[Problem], int]
        The listed problems, ordered by row (table-level first), and the total count.
    """
    candidates: list[tuple[int, tuple[int, int], int, Problem | tuple[Finding, int | None]]] = []
    for seq, problem in enumerate(prior):
        candidates.append((problem.row or 0, (-1, seq), 0, problem))
    for seq, finding in enumerate(findings):
        if finding.positions is None:
            candidates.append((0, finding.order, seq, (finding, None)))
            continue
        for pos in finding.positions[:cap]:
            row = int(row_numbers[pos]) if row_numbers is not None else int(pos) + 1
            candidates.append((row, finding.order, seq, (finding, int(pos))))
    candidates.sort(key=lambda c: (c[0], c[1], c[2]))
    listed: list[Problem] = []
    for row, _, _, item in candidates[:cap]:
        if isinstance(item, Problem):
            listed.append(item)
            continue
        finding, pos = item
        listed.append(
            Problem(
                path=source,
                row=None if pos is None else row,
                column=finding.column,
                code=finding.code,
                reason=finding.explain(pos),
            )
        )
    total = len(prior) + sum(f.count for f in findings)
    return listed, total
