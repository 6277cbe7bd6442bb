"""Alembic environment of the kit: migrations run on the connection the caller opened.

:func:`consortium.migrations.versioning.upgrade` passes that connection (inside the caller's
transaction) in ``config.attributes["connection"]``; there is no offline (SQL script) mode and
no URL in a config file, so the database URL never lands on disk.
"""

from __future__ import annotations

from alembic import context


def run_migrations() -> None:
    """Run the pending revisions on the caller's connection."""
    connection = context.config.attributes.get("connection")
    if connection is None or context.is_offline_mode():
        raise RuntimeError("run migrations with `consortium database upgrade --db URL`")
    context.configure(connection=connection, target_metadata=None, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if hasattr(context, "config"):  # run by Alembic (not imported by a test collector)
    run_migrations()
