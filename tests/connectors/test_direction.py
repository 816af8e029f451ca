"""Connectors depend on the engine's public API only, and the engine never imports them: it
reaches them through the `anju_connectors` hook (DESIGN.md, "Top-level layout")."""

from __future__ import annotations

from pathlib import Path

from engine.settings import Settings
from plugins.manager import build_extensions
from tests.test_layout import ROOT, imported_packages


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_connectors_import_neither_renderers_nor_plugins() -> None:
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules("connectors")
        for name in imported_packages(path) & {"renderers", "plugins", "iot"}
    }

    assert wrong == set()


def test_the_engine_does_not_import_connectors() -> None:
    wrong = {
        str(path.relative_to(ROOT))
        for path in modules("engine")
        if "connectors" in imported_packages(path)
    }

    assert wrong == set()


def test_the_builtin_plugin_registers_the_configured_channels() -> None:
    bare = build_extensions(Settings(plugin_entry_points=False))
    configured = build_extensions(
        Settings(
            plugin_entry_points=False,
            sms_url="https://sms.example/send",
            smtp_host="mail.example",
            webhooks={"ops": "https://ops.example/hook"},
            webhook_secret="s",
        )
    )

    assert bare.connectors == {}
    assert sorted(configured.connectors) == ["email", "sms", "webhook"]
    assert [c.channel for c in configured.connectors.values()] == list(configured.connectors)
    plugin = configured.plugin("connectors")
    assert plugin is not None and plugin.status == "active"
