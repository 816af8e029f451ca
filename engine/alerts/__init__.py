"""Alert rules at run time: compiling, scanning, the lifecycle, listing and dry runs.

Modules: `tables` (0007), `cron`, `rules` (compiled per catalog), `messages`,
`recipients`, `delivery`, `scanning` (`scan_rule`), `schedule` (`scan_due`), `triggers`
(on-change), `lifecycle` (`act`), `listing` (`list_alerts`, `get_alert`, `unread_count`),
`dry_run`, `jobs` (the periodic scan). See docs/alerts.md.

This package imports nothing on its own: the expression pass reads `engine.alerts.cron`
while definitions load, before any catalog exists.
"""
