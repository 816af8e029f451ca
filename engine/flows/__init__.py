"""Flows: state machines attached to entities — transitions, approvals with tasks and an
inbox, timers, actions and each record's timeline. See docs/flows.md."""
