"""Settings from `ANJU_*` environment variables, one object per app instance."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Everything configurable; definitions never hold secrets or URLs, settings do."""

    model_config = SettingsConfigDict(env_prefix="ANJU_", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str | None = None
    apps_config: Path = PROJECT_ROOT / "apps_config"
    admin_password: str | None = None
    page_size: int = 50
    max_page_size: int = 500
    count_limit: int = 10_000
    catalog_check_seconds: float = 1.0
    sql_echo: bool = False
    timezone: str = "Asia/Shanghai"  # what `today` means in expressions and timers

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'anju.db').resolve()}"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"
