"""Adapters to the outside world: an HTTP SMS gateway (`sms.py`), SMTP e-mail (`email.py`) and
signed webhooks (`webhook.py`), each a connector of `engine.notifications` registered by the
built-in plugin `plugins/builtin/connectors.py`. `testing.py` holds the fakes that stand at
the network edge in tests and benchmarks (a fake SMS gateway, a webhook receiver).

The package depends on the engine's public API only; the engine reaches it only through the
`anju_connectors` hook.
"""
