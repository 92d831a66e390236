"""Safe defaults: `make run` works with no configuration (dev), while `RAMQ_ENV=prod` refuses to
start without its own secret key, a real SMTP relay and a Prefect auth string, and says so in one
line (French, then English) that never repeats a refused value."""

from __future__ import annotations

import pytest

from models.settings import DEV_SECRET_KEY, SettingsError, get_settings

GOOD_KEY = "k" * 40
SHORT_KEY = "short-secret-XYZ"


@pytest.fixture
def env(monkeypatch):
    """Sets RAMQ_* variables from a clean slate (no .env, no Prefect auth) and builds the
    settings anew; returns the error (a SettingsError) or the settings."""
    monkeypatch.chdir("/")  # no .env file
    for name in ("RAMQ_ENV", "RAMQ_SECRET_KEY", "RAMQ_SMTP_HOST", "RAMQ_SMTP_PORT",
                 "RAMQ_PREFECT_AUTH_STRING", "PREFECT_API_AUTH_STRING"):
        monkeypatch.delenv(name, raising=False)

    def build(**values: str):
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        try:
            return get_settings()
        except SettingsError as exc:
            return exc

    yield build
    get_settings.cache_clear()


def prod(**over: str) -> dict:
    values = {"RAMQ_ENV": "prod", "RAMQ_SECRET_KEY": GOOD_KEY,
              "RAMQ_SMTP_HOST": "smtp.relais.example.qc.ca", "RAMQ_SMTP_PORT": "587",
              "RAMQ_PREFECT_AUTH_STRING": "admin:Prefect-Secret-9876"}
    values.update(over)
    return {k: v for k, v in values.items() if v is not None}


def one_line(exc: SettingsError) -> str:
    text = str(exc)
    assert "\n" not in text and text.strip() == text and text
    return text


def test_make_run_needs_no_configuration(env):
    settings = env()
    assert settings.env == "dev" and settings.is_dev
    assert settings.secret_key == DEV_SECRET_KEY


def test_a_complete_production_configuration_starts(env):
    settings = env(**prod())
    assert settings.env == "prod" and not settings.is_dev


@pytest.mark.parametrize("key", [SHORT_KEY, DEV_SECRET_KEY, "", "z" * 31])
def test_prod_refuses_a_weak_secret_key_without_repeating_it(env, key):
    exc = env(**prod(RAMQ_SECRET_KEY=key))
    assert isinstance(exc, SettingsError)
    text = one_line(exc)
    assert "RAMQ_SECRET_KEY" in text
    if key:
        assert key not in text and key[-6:] not in text
    # French first, then English.
    assert text.index("doit") < text.index("must")


@pytest.mark.parametrize("host,port", [(None, None), (None, "8025"), ("127.0.0.1", "8025"),
                                       ("localhost", "8025"), ("", "587")])
def test_prod_refuses_the_local_mail_sink(env, host, port):
    exc = env(**prod(RAMQ_SMTP_HOST=host, RAMQ_SMTP_PORT=port))
    assert isinstance(exc, SettingsError)
    assert "RAMQ_SMTP_HOST" in one_line(exc)


def test_prod_accepts_a_relay_on_this_machine_named_explicitly(env):
    assert env(**prod(RAMQ_SMTP_HOST="127.0.0.1", RAMQ_SMTP_PORT="25")).smtp_port == 25


def test_prod_refuses_to_start_without_a_prefect_auth_string(env):
    exc = env(**prod(RAMQ_PREFECT_AUTH_STRING=None))
    assert isinstance(exc, SettingsError)
    assert "PREFECT_API_AUTH_STRING" in one_line(exc)


def test_prefects_own_variable_is_enough(env):
    assert env(**prod(RAMQ_PREFECT_AUTH_STRING=None, PREFECT_API_AUTH_STRING="admin:x")).env == "prod"


def test_every_problem_is_named_on_one_line_and_no_secret_is_repeated(env, monkeypatch):
    monkeypatch.setenv("RAMQ_SMTP_PASSWORD", "smtp-Password-QWERTY")
    exc = env(RAMQ_ENV="prod", RAMQ_SECRET_KEY=SHORT_KEY)
    text = one_line(exc)
    for name in ("RAMQ_SECRET_KEY", "RAMQ_SMTP_HOST", "PREFECT_API_AUTH_STRING"):
        assert name in text
    assert SHORT_KEY not in text and "QWERTY" not in text and "input_value" not in text
    # The chained pydantic error (which quotes the input) is not kept either.
    assert exc.__cause__ is None and exc.__suppress_context__


def test_a_malformed_value_is_refused_without_being_repeated(env):
    exc = env(**prod(RAMQ_SMTP_PORT="secret-PORT-777"))
    text = one_line(exc)
    assert "RAMQ_SMTP_PORT" in text and "secret-PORT-777" not in text
