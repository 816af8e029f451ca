"""Device commands: the request, the lifecycle with retries and expiry, delivery over MQTT or
HTTP polls, replies, the sweep, and the approval of high-risk commands. See
docs/devices-commands.md."""
