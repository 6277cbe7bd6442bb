"""Schema migrations of the coordinator database (Alembic), and the schema version check.

A new database is created whole by ``create_all()`` and stamped with the newest revision; an
existing one is changed only by ``consortium database upgrade``, which runs the revisions in
``versions/`` (a database from before versioning is stamped with the baseline first). The kit
refuses to work on a database whose schema is older than it needs
(:class:`~consortium.errors.SchemaOutdated`) instead of silently leaving old tables in place.
"""

from consortium.migrations.versioning import (
    HEAD,
    current_revision,
    schema_number,
    stamp_head,
    upgrade,
)

__all__ = ["HEAD", "current_revision", "schema_number", "stamp_head", "upgrade"]
