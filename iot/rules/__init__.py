"""Device rules and scenes: conditions over readings with sustain and cooldown, absence of
data, scheduled scenes, alerts and commands, and a test mode. See docs/devices-rules.md."""
