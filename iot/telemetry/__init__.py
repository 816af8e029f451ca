"""Telemetry: validation of device messages, the time series and its rollups, the latest state
per device, online/offline, retention, and the HTTP endpoints. See
docs/devices-telemetry.md."""
