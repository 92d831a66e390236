"""One settings object for the whole product (env prefix ``RAMQ_``, ``.env`` supported).

Outside dev mode it refuses the development secret key, so a production deployment cannot
sign links with a key published in this repository.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "dev-only-secret-key-change-me-0123456789abcdef"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAMQ_", env_file=".env", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    var_dir: Path = PROJECT_ROOT / "var"
    database_url: str = ""  # empty: SQLite at var/app.db
    secret_key: str = DEV_SECRET_KEY
    language: Literal["fr", "en"] = "fr"
    timezone: str = "America/Montreal"

    # Public address of the Streamlit app, used to build the links in emails.
    base_url: str = "http://localhost:8501"
    prefect_ui_url: str = "http://127.0.0.1:4200"
    prefect_api_url: str = "http://127.0.0.1:4200/api"
    # Ports of the embedded stack started by `make run`.
    prefect_port: int = 4200
    ui_port: int = 8501

    # Outgoing mail. The embedded default is the local sink started by `make run`.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout_seconds: float = 20.0
    mail_from: str = "Services en ligne RAMQ <ne-pas-repondre@ramq.example.qc.ca>"

    # Deadlines and links.
    link_ttl_hours: int = 24 * 14
    authorizer_deadline_days: int = 14
    respondent_deadline_days: int = 10
    correction_deadline_days: int = 30
    reminder_after_hours: int = 72
    credential_validity_days: int = 365

    # Prefect deployment that runs one access request.
    deployment_name: str = "access-request/access-request"
    # Basic-auth string of the Prefect server ("user:password"); `make run` generates one in
    # var/prefect-auth. Required in prod.
    prefect_auth_string: str = ""

    # Recovery: no open request without a live run.
    flow_heartbeat_seconds: int = 30  # Prefect's minimum; a silent run is a zombie
    zombie_after_seconds: int = 75  # no heartbeat for this long: the run is marked Crashed
    pending_stuck_seconds: int = 90  # Pending this long: its runner died before starting it
    sweep_every_seconds: int = 30
    max_restarts_without_progress: int = 5  # then a person is told, and restarts stop

    # Accounts and sessions.
    temp_password_days: int = 7  # an unused temporary password stops working after this
    staff_session_idle_minutes: int = 30

    # The public form is not a mailer.
    submissions_per_client_hour: int = 10
    submissions_per_authorizer_day: int = 3
    emails_per_address_day: int = 20

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> "Settings":
        if self.env == "prod":
            if self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < 32:
                raise ValueError(
                    "RAMQ_SECRET_KEY doit être fixé (32 caractères ou plus) hors du mode dev / "
                    "RAMQ_SECRET_KEY must be set (32+ characters) outside dev mode"
                )
        return self

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'app.db'}"

    @property
    def maildir(self) -> Path:
        return self.var_dir / "mail"

    @property
    def is_dev(self) -> bool:
        return self.env in ("dev", "test")


@lru_cache
def get_settings() -> Settings:
    return Settings()
