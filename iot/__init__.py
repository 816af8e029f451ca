"""Devices: the registry and credentials, telemetry ingest over HTTP and MQTT, the time
series with its rollups, commands with their lifecycle, device rules and scenes, the linkage
with the housing apps, and simulated devices. Wired in by `plugins/builtin/devices.py`
through the plugin hooks; see docs/devices.md."""
