"""What the shipped apps_config is loaded with: the built-in plugins' functions and field
types (`monthly_rent`, `id_number`, `uscc` …), as a started platform has them."""

from engine.settings import Settings
from plugins.manager import build_extensions

SHIPPED = build_extensions(Settings(plugin_entry_points=False))
