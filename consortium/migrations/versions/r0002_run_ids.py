"""Run ids: contributions and the round index are keyed by model, run and round.

Adds ``run_id`` (``""`` for every existing row: minted or recorded before run ids) to
``points_contributions`` and ``points_rounds``, widens the once-per-round unique index of
contributions to include the run, and indexes rounds by run. Idempotent: a table that already
has the column (or does not exist yet, and will be created whole) is left alone.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

RUN_ID_LENGTH = 64
_ONCE = "ux_points_contributions_once"
_BY_RUN = "ix_points_rounds_run"


def _needs_run_id(table: str) -> bool:
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table(table):
        return False
    return "run_id" not in {column["name"] for column in inspector.get_columns(table)}


def _run_id() -> sa.Column[str]:
    return sa.Column(
        "run_id", sa.String(RUN_ID_LENGTH), nullable=False, server_default=sa.text("''")
    )


def upgrade() -> None:
    """Add the run id columns and indexes."""
    if _needs_run_id("points_contributions"):
        op.add_column("points_contributions", _run_id())
        op.drop_index(_ONCE, table_name="points_contributions")
        op.create_index(
            _ONCE, "points_contributions", ["model", "run_id", "round", "account"], unique=True
        )
    if _needs_run_id("points_rounds"):
        op.add_column("points_rounds", _run_id())
        op.create_index(_BY_RUN, "points_rounds", ["model", "run_id", "round"])


def downgrade() -> None:
    """Drop the run id columns (refused by the unique index if two runs minted one round)."""
    op.drop_index(_BY_RUN, table_name="points_rounds")
    with op.batch_alter_table("points_rounds") as batch:
        batch.drop_column("run_id")
    op.drop_index(_ONCE, table_name="points_contributions")
    with op.batch_alter_table("points_contributions") as batch:
        batch.drop_column("run_id")
    op.create_index(_ONCE, "points_contributions", ["model", "round", "account"], unique=True)
