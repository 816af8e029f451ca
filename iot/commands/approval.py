"""Placeholder: replaced by the part that owns it."""

from engine.extensions import FlowAction

FLOW_ACTIONS: list[FlowAction] = []
