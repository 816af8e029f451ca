"""MQTT: the connection settings, the process-wide publisher, and the bridge that takes
devices' telemetry and replies from the broker. See docs/devices-telemetry.md."""
