"""Settings from `ANJU_*` environment variables, one object per app instance."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from engine.audit.chain import ALGORITHMS
from engine.audit.retention import check_retention

PROJECT_ROOT = Path(__file__).resolve().parent.parent
JOBS_BACKENDS = ("inprocess", "rq")
SMTP_SECURITY = ("starttls", "ssl", "none")


class Settings(BaseSettings):
    """Everything configurable; definitions never hold secrets or URLs, settings do."""

    model_config = SettingsConfigDict(env_prefix="ANJU_", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str | None = None
    apps_config: Path = PROJECT_ROOT / "apps_config"
    admin_password: str | None = None
    demo_password: str | None = None  # of the staff accounts `run.py demo-data` creates
    page_size: int = 50
    max_page_size: int = 500
    count_limit: int = 10_000
    catalog_check_seconds: float = 1.0
    sql_echo: bool = False
    timezone: str = "Asia/Shanghai"  # what `today` means in expressions and timers

    # identity and sessions
    secret_key: str | None = None  # signs tokens and cookies; generated and stored if unset
    access_token_minutes: int = 15
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    password_policy: str = "mlps3"  # or "asvs"
    lockout_attempts: int = 5
    lockout_minutes: int = 15
    secure_cookies: bool = False  # set behind HTTPS so cookies are never sent in clear
    trusted_proxies: list[str] = []  # addresses/networks whose X-Forwarded-For is believed
    argon2_time_cost: int = 3  # argon2id parameters: RFC 9106's low-memory profile
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4

    # protection of personal data and the audit trail
    encryption_key: str | None = None  # base64, 32 bytes; kept in data_dir/keys if unset
    encryption_algorithm: str = "aes-gcm"  # or "sm4-gcm"
    encryption_old_keys: str | None = None  # "id:base64,…": retired keys, kept to decrypt
    audit_hash: str = "sha256"  # or "sm3"
    audit_retention_days: int = 180

    # background jobs (docs/jobs.md)
    jobs_backend: str = "inprocess"  # or "rq": Redis queues served by `run.py worker`
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_namespace: str = "anju"  # prefixes RQ queues and job ids; one per installation
    job_threads: bool = True  # run the worker and scheduler threads inside this process
    job_queues: list[str] = ["default"]
    job_modules: list[str] = []  # modules imported for their @job_handler functions
    job_poll_seconds: float = 1.0  # how often an idle in-process worker looks for due jobs
    job_lease_seconds: float = 60.0  # a job whose worker stops renewing this long runs again
    job_max_attempts: int = 5
    job_backoff_seconds: float = 10.0  # the wait after attempt n is this × 2^(n-1) …
    job_backoff_max_seconds: float = 3600.0  # … but never longer than this
    scheduler_seconds: float = 1.0  # periodic jobs, expired leases and RQ dispatch, this often

    # plugins (docs/plugins.md)
    plugins: list[str] = ["plugins.builtin"]  # modules (or packages listing PLUGINS) to load
    plugin_entry_points: bool = True  # also load the `anju.plugins` entry-point group
    plugins_disabled: list[str] = []  # plugin names not to load, e.g. a misbehaving one
    plugin_loader: str = "plugins.manager"  # builds the engine's Extensions; "" for none

    # alerts (docs/alerts.md)
    alerts_enabled: bool = True  # scan rules on schedule and on change; off: nothing opens
    alerts_send: bool = True  # queue notifications for alerts; off: counted, not sent

    # notifications (docs/notifications.md); a channel without its settings is not offered
    sms_url: str | None = None  # the HTTP SMS gateway: JSON POST, see the docs for the shape
    sms_api_key: str | None = None  # sent as the X-Api-Key header
    sms_sender: str | None = None  # the signature the gateway puts before the text, e.g. 安居
    sms_timeout_seconds: float = 5.0
    sms_batch: int = 1  # messages per request; more for a gateway with a batch API
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: str = "starttls"  # or "ssl" (SMTPS, port 465) or "none" (a local relay)
    smtp_user: str | None = None  # logs in when set
    smtp_password: str | None = None
    smtp_from: str = "anju@localhost"
    smtp_timeout_seconds: float = 10.0
    webhooks: dict[str, str] = {}  # endpoint name → URL, as JSON: {"ops": "https://…"}
    webhook_secret: str | None = None  # signs every webhook (HMAC-SHA256); required to send
    webhook_timeout_seconds: float = 5.0
    notification_batch: int = 100  # outbox rows per delivery job
    notification_max_attempts: int = 6  # then the row is dead
    notification_backoff_seconds: float = 30.0  # after attempt n: this × 2^(n-1) …
    notification_backoff_max_seconds: float = 3600.0  # … but never longer
    notification_lease_seconds: float = 300.0  # a row left `sending` this long is tried again
    notification_per_recipient_hour: int = 10  # per channel and person; 0: no limit
    notification_per_second: int = 50  # per channel, gateway-wide; 0: no limit

    # devices (docs/devices.md)
    mqtt_url: str | None = None  # mqtt://user:password@host:1883; unset: devices use HTTP only
    mqtt_topic_prefix: str = "anju"  # devices publish to <prefix>/<code>/telemetry
    mqtt_client_id: str | None = None  # of this process's bridge; generated when unset
    iot_batch_points: int = 500  # MQTT readings written to the database in one transaction
    iot_batch_seconds: float = 0.2  # … or after this long, whichever comes first
    iot_sweep_seconds: float = 5.0  # how often commands' timeouts and offline devices are swept

    @field_validator("audit_retention_days")
    @classmethod
    def _keep_audit_long_enough(cls, days: int) -> int:
        return check_retention(days)

    @field_validator("audit_hash")
    @classmethod
    def _known_audit_hash(cls, algorithm: str) -> str:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"expected one of {', '.join(ALGORITHMS)}")
        return algorithm

    @field_validator("jobs_backend")
    @classmethod
    def _known_jobs_backend(cls, backend: str) -> str:
        if backend not in JOBS_BACKENDS:
            raise ValueError(f"expected one of {', '.join(JOBS_BACKENDS)}")
        return backend

    @field_validator("redis_namespace")
    @classmethod
    def _usable_in_rq_ids(cls, namespace: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_]+", namespace):
            raise ValueError("expected letters, digits and underscores (it prefixes RQ job ids)")
        return namespace

    @field_validator("job_queues")
    @classmethod
    def _some_queue(cls, queues: list[str]) -> list[str]:
        if not queues:
            raise ValueError("expected at least one queue")
        return queues

    @field_validator("smtp_security")
    @classmethod
    def _known_smtp_security(cls, security: str) -> str:
        if security not in SMTP_SECURITY:
            raise ValueError(f"expected one of {', '.join(SMTP_SECURITY)}")
        return security

    @field_validator("notification_batch", "notification_max_attempts")
    @classmethod
    def _at_least_one(cls, number: int) -> int:
        if number < 1:
            raise ValueError("expected at least 1")
        return number

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'anju.db').resolve()}"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"
