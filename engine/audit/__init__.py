"""The audit trail: an append-only, hash-chained record of who did what, when and from where."""

from engine.audit.trail import AuditEvent, append

__all__ = ["AuditEvent", "append"]
