"""One settings object for the whole product (env prefix ``RAMQ_``, ``.env`` supported).

In production (``RAMQ_ENV=prod``) it refuses to start with a key published in this repository
(or any key under 32 characters), with the local mail sink of `make run`, or without a Prefect
auth string; the refusal is one line, French then English, that never repeats a refused value
(:class:`SettingsError`, :func:`load_settings_or_exit`).
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
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
    # Reminders of a pending step (authorizer, correction): days after the task opened,
    # comma-separated, fractions allowed ("3,7"; "0.5" is twelve hours; empty: no reminder).
    # From the second reminder on, the user is also told their authorizer has not answered.
    reminder_days: str = "3,7"
    # Deprecated (the single reminder of earlier versions): when set and RAMQ_REMINDER_DAYS is
    # not, the schedule is this one reminder.
    reminder_after_hours: float = 72
    # The RAMQ staff's daily digest of new and overdue tasks: sent once a day, at or after this
    # hour (0-23, Québec time); empty or -1: no digest.
    digest_hour: int | None = 7
    credential_validity_days: int = 365
    # The user and the authorizer are told this many days before an issued access ends.
    expiry_notice_days: int = 30
    # Section 4 carries two RAMQ signatures: the respondent's and the SOES's countersignature
    # (the paper form). Off for a small installation: an approval goes straight to credentials.
    countersign: bool = True

    # The embedded runner forks each execution of a flow run from a warm forkserver
    # (flows/fast_start.py) instead of spawning a new interpreter; false: Prefect's default.
    fast_start: bool = True
    # With the fast path, how often the runner asks Prefect for runs to start (a resumed run
    # waits for the next ask); 0: PREFECT_RUNNER_POLL_FREQUENCY (the stack sets 1 s).
    runner_poll_seconds: float = 0.5

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
    # Staff sign-in through the organization's OpenID Connect provider (Streamlit's st.login),
    # when the three are set: the provider's discovery document, and this app's client there.
    # The person's verified email picks their RAMQ staff account (the role stays ours).
    oidc_metadata_url: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr = SecretStr("")
    oidc_provider_label: str = ""  # the button's words, e.g. « Microsoft Entra (santé Québec) »
    # With OIDC on, the local staff accounts' password form stays offered (an emergency path)
    # unless this is false.
    local_staff_login: bool = True

    # The public form is not a mailer.
    submissions_per_client_hour: int = 10
    submissions_per_authorizer_day: int = 3
    emails_per_address_day: int = 20
    # « Mot de passe oublié ? » on « Mon accès »: new temporary passwords by email.
    password_resets_per_account_day: int = 3
    password_resets_per_client_hour: int = 10

    # Retention (models/retention.py): closed requests are anonymized this many days after they
    # closed (2555 days, about 7 years); the sweeper does it once a day only when enabled.
    retention_days: int = Field(default=2555, ge=1)
    purge_enabled: bool = False

    @field_validator("digest_hour", mode="before")
    @classmethod
    def _digest_hour_off(cls, value):
        return None if value is None or str(value).strip() in ("", "-1") else value

    @model_validator(mode="after")
    def _check_schedules(self) -> Settings:
        reminder_schedule(self.reminder_days)  # raises the one-line refusal
        if self.digest_hour is not None and not 0 <= self.digest_hour <= 23:
            raise ValueError(
                "RAMQ_DIGEST_HOUR doit être une heure de 0 à 23 (vide ou -1 : pas de résumé). / "
                "RAMQ_DIGEST_HOUR must be an hour from 0 to 23 (empty or -1: no digest).")
        return self

    @property
    def reminder_delays(self) -> tuple[timedelta, ...]:
        """When the reminders of a pending step go, after the task opened (sorted)."""
        if "reminder_days" not in self.model_fields_set and "reminder_after_hours" in self.model_fields_set:
            return (timedelta(hours=self.reminder_after_hours),)
        return tuple(timedelta(days=days) for days in reminder_schedule(self.reminder_days))

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

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_metadata_url and self.oidc_client_id
                    and self.oidc_client_secret.get_secret_value())

    @property
    def uses_local_mail_sink(self) -> bool:
        """Development mail goes to a local sink (``make run``'s, or a test's) that writes the
        Maildir the « Courriels » page reads; never in production, never with a real relay."""
        return self.is_dev and self.smtp_host.strip().lower() in _LOOPBACK


def reminder_schedule(text: str) -> tuple[float, ...]:
    """``"3,7"`` → ``(3.0, 7.0)``: positive numbers of days, sorted, without repeats; empty: no
    reminder. Anything else is refused in one line naming the variable, never its value."""
    try:
        days = sorted({float(part) for part in text.replace(";", ",").split(",") if part.strip()})
    except ValueError:
        days = [0.0]
    if any(not 0 < d < 3650 for d in days):
        raise ValueError(
            "RAMQ_REMINDER_DAYS doit être une liste de nombres de jours positifs séparés par des "
            "virgules (ex. 3,7; vide : aucun rappel). / RAMQ_REMINDER_DAYS must be a comma-separated "
            "list of positive numbers of days (e.g. 3,7; empty: no reminder).")
    return tuple(days)


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
