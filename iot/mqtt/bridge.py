"""Placeholder: replaced by the part that owns it."""

from typing import Any


class MqttBridge:
    name = "mqtt"

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    def start(self, runtime: Any) -> None:
        pass

    def stop(self) -> None:
        pass
