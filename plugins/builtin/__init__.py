"""Built-in plugins shipped with Anju, written against the same hooks as third-party ones
(`plugins/hookspecs.py`). The default `ANJU_PLUGINS` names this package, which stands for the
modules below, each loaded and listed as its own plugin."""

PLUGINS = (
    "plugins.builtin.identity_numbers",  # id_number (GB 11643) and uscc (GB 32100) field types
    "plugins.builtin.eligibility",  # admission rules and duplicate-case signals
    "plugins.builtin.waitlist",  # queue order by priority conditions and sort keys, what-if
    "plugins.builtin.lottery",  # verifiable draws: seed hash before, seed after
    "plugins.builtin.rent",  # rent standard × usable area
    "plugins.builtin.subsidy",  # subsidy tiers
    "plugins.builtin.credit",  # scoring standards into scores and red/black lists
    "plugins.builtin.house_code",  # one-house-one-code numbers, QR codes, the public page
    "plugins.builtin.connectors",  # SMS gateway, SMTP e-mail and signed webhooks
    "plugins.builtin.device_drivers",  # smart lock, breaker and meter drivers
    "plugins.builtin.devices",  # devices: ingest, commands, rules, linkage, screens (iot/)
)
