"""Baseline: the layout ``create_all()`` made before the schema was versioned.

A database the kit created before it kept an ``alembic_version`` table is stamped with this
revision by ``consortium database upgrade`` and then upgraded; nothing changes here.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to do: the baseline is the layout the database already has."""


def downgrade() -> None:
    """Nothing to undo."""
