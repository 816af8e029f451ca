"""The audit trail: an append-only, hash-chained record of who did what, when and from where."""

from engine.audit.trail import AuditEvent, AuditHead, append, read_head

__all__ = ["AuditEvent", "AuditHead", "append", "read_head"]
