"""One settings object for the whole product (env prefix ``RAMQ_``, ``.env`` supported).

In production (``RAMQ_ENV=prod``) it refuses to start with a key published in this repository
(or any key under 32 characters), with the local mail sink of `make run`, or without a Prefect
auth string; the refusal is one line, French then English, that never repeats a refused value
(:class:`SettingsError`, :func:`load_settings_or_exit`).
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "dev-only-secret-key-change-me-0123456789abcdef"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The local SMTP sink of `make run` (var/mail): never the mail relay of a production instance.
LOCAL_SINK_PORT = 8025
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "0.0.0.0", "::", ""}
EXIT_SETTINGS = 3  # the CLI's "failure" exit code


class SettingsError(RuntimeError):
    """Settings refused. Its text is one line, French then English, naming the variables to fix
    and never their values."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAMQ_", env_file=".env", extra="ignore",
                                      hide_input_in_errors=True)

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
    # The read-only status link of the confirmation email (no correction voids it).
    status_link_days: int = 180
    authorizer_deadline_days: int = 14
    respondent_deadline_days: int = 10
    # A claimed task untouched this long shows as stale in the queues (a manager may release it).
    stale_claim_hours: int = 48
    correction_deadline_days: int = 30
    reminder_after_hours: int = 72
    credential_validity_days: int = 365
    # The user and the authorizer are told this many days before an issued access ends.
    expiry_notice_days: int = 30
    # Section 4 carries two RAMQ signatures: the respondent's and the SOES's countersignature
    # (the paper form). Off for a small installation: an approval goes straight to credentials.
    countersign: bool = True

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

    # The seal of the printed record (PAdES): the RAMQ's signing certificate and key, PKCS#12.
    # Empty path: var/seal/dev-seal.p12, a self-signed certificate made on first use in dev and
    # test; in prod a missing certificate is an error, never a development one (models/seal.py).
    seal_pkcs12_path: Path | None = None
    seal_pkcs12_passphrase: SecretStr = SecretStr("")

    # Accounts and sessions.
    temp_password_days: int = 7  # an unused temporary password stops working after this
    staff_session_idle_minutes: int = 30
    queue_refresh_seconds: int = 30  # the staff queues redraw themselves this often

    # The public form is not a mailer.
    submissions_per_client_hour: int = 10
    submissions_per_authorizer_day: int = 3
    emails_per_address_day: int = 20
    # « Mot de passe oublié ? » on « Mon accès »: new temporary passwords by email.
    password_resets_per_account_day: int = 3
    password_resets_per_client_hour: int = 10

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        if self.env != "prod":
            return self
        problems: list[tuple[str, str]] = []
        if self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < 32:
            problems.append((
                "RAMQ_SECRET_KEY doit être une clé propre à cette instance (32 caractères ou plus, "
                "pas la clé de développement)",
                "RAMQ_SECRET_KEY must be this instance's own key (32+ characters, not the "
                "development key)"))
        host = self.smtp_host.strip().lower()
        if "smtp_host" not in self.model_fields_set or not host or (
                host in _LOOPBACK and self.smtp_port == LOCAL_SINK_PORT):
            problems.append((
                "RAMQ_SMTP_HOST doit désigner le relais SMTP (pas le puits local "
                f"127.0.0.1:{LOCAL_SINK_PORT} de make run)",
                "RAMQ_SMTP_HOST must name the SMTP relay (not make run's local sink "
                f"127.0.0.1:{LOCAL_SINK_PORT})"))
        prefect_auth = self.prefect_auth_string or os.environ.get("PREFECT_API_AUTH_STRING", "")
        if not prefect_auth.strip():
            problems.append((
                "RAMQ_PREFECT_AUTH_STRING (ou PREFECT_API_AUTH_STRING) doit être fixé",
                "RAMQ_PREFECT_AUTH_STRING (or PREFECT_API_AUTH_STRING) must be set"))
        if problems:
            raise ValueError(
                "Démarrage en production refusé : " + "; ".join(fr for fr, _ in problems)
                + ". / Production start refused: " + "; ".join(en for _, en in problems) + ".")
        return self

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'app.db'}"

    @property
    def maildir(self) -> Path:
        return self.var_dir / "mail"

    @property
    def seal_pkcs12_file(self) -> Path:
        return self.seal_pkcs12_path or self.var_dir / "seal" / "dev-seal.p12"

    @property
    def is_dev(self) -> bool:
        return self.env in ("dev", "test")


def _one_line(exc: ValidationError) -> str:
    """The refusal in one line, from pydantic's errors without their input values."""
    mine = [str(e["ctx"]["error"]) for e in exc.errors(include_input=False, include_url=False)
            if e["type"] == "value_error" and "ctx" in e and not e["loc"]]
    if mine:
        return " ".join(" ".join(m.split()) for m in mine)
    names = sorted({"RAMQ_" + "_".join(str(part) for part in e["loc"]).upper()
                    for e in exc.errors(include_input=False, include_url=False)})
    return (f"Réglages refusés (valeur invalide) : {', '.join(names)}. / "
            f"Settings refused (invalid value): {', '.join(names)}.")


@lru_cache
def get_settings() -> Settings:
    """The settings (read once). Raises :class:`SettingsError` (one line, no values) when they
    are refused; pydantic's own error, which quotes the input, is not chained."""
    try:
        return Settings()
    except ValidationError as exc:
        message = _one_line(exc)
    raise SettingsError(message) from None


def load_settings_or_exit(code: int = EXIT_SETTINGS) -> Settings:
    """For every entry point (CLI, runner, app): the settings, or the one-line refusal on
    stderr and exit ``code`` — no traceback, no secret."""
    try:
        return get_settings()
    except SettingsError as exc:
        print(str(exc), file=sys.stderr, flush=True)
        raise SystemExit(code) from None
