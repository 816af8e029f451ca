"""Placeholder: replaced by the part that owns it."""
