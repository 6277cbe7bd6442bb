"""The wire: pydantic request and response models the coordinator service and its client share.

Pure pydantic and stdlib (no database, no framework), so both sides import the same shapes.
"""
