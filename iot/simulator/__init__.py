"""Simulated devices that report telemetry and answer commands over HTTP or MQTT, for demos,
tests and load tests (`run.py simulate-devices`). See docs/devices-simulator.md."""
