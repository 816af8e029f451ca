"""Who may do what to which records and fields: grants from the definitions, applied to a
principal, compiled into SQL conditions that every read and write path adds to its query."""

from engine.permissions.access import FieldLevel, RecordAccess, access_for

__all__ = ["FieldLevel", "RecordAccess", "access_for"]
