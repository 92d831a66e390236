"""Staff sign-in through an OpenID Connect provider (``models.oidc``): the provider's verified
email picks exactly one active RAMQ staff account, whose role is ours; anything else is refused
and kept as a security event without the address. The ``[auth]`` table Streamlit's ``st.login``
reads is written from the ``RAMQ_OIDC_*`` settings."""

from __future__ import annotations

import tomllib
import uuid

import pytest
from sqlmodel import select

from models.accounts import SignInRefused, create_staff
from models.db import session_scope
from models.oidc import sign_in_federated, streamlit_auth_toml, write_streamlit_secrets
from models.security import hashed_key
from models.settings import Settings, get_settings
from models.tables import Account, SecurityEvent

PASSWORD = "Bonjour-Quebec-2026"


@pytest.fixture(autouse=True)
def _db(app_env):
    return app_env


def _staff(email: str, role: str = "respondent", **kw) -> int:
    name = f"oidc{uuid.uuid4().hex[:8]}"
    with session_scope() as s:
        account = create_staff(s, username=name, role=role, password=PASSWORD, email=email, **kw)
        return account.id


def _address() -> str:
    return f"agent.{uuid.uuid4().hex[:10]}@ramq.example.qc.ca"


def test_a_verified_email_signs_in_its_staff_account_with_our_role():
    email = _address()
    account_id = _staff(email, role="soes")
    signed = sign_in_federated({"sub": "x", "email": email.upper(), "email_verified": True})
    assert (signed.account_id, signed.role, signed.kind) == (account_id, "soes", "staff")


@pytest.mark.parametrize("claims", [
    {"email_verified": False}, {}, {"email_verified": "false"}])
def test_an_unverified_email_is_refused(claims):
    email = _address()
    _staff(email)
    with pytest.raises(SignInRefused) as refused:
        sign_in_federated({"sub": "x", "email": email, **claims})
    assert refused.value.code == "oidc_no_account"


def test_unknown_disabled_ambiguous_and_user_accounts_are_refused_and_kept_without_the_address():
    unknown = _address()
    disabled = _address()
    with session_scope() as s:
        account_id = _staff(disabled)
        s.get(Account, account_id).disabled = True
    shared = _address()
    _staff(shared)
    _staff(shared, role="manager")  # two staff accounts for one address: nobody guesses which
    for email in (unknown, disabled, shared):
        with pytest.raises(SignInRefused):
            sign_in_federated({"sub": "x", "email": email, "email_verified": True})
    with session_scope() as s:
        events = s.exec(select(SecurityEvent).where(SecurityEvent.kind == "sign_in")).all()
        codes = [e.code for e in events]
        assert "oidc_no_account" in codes and "oidc_ambiguous" in codes
        stored = " ".join(str(e.detail) for e in events)
        assert unknown not in stored and shared not in stored


def test_a_look_alike_address_is_not_the_staff_address():
    email = _address()
    _staff(email)
    look_alike = email.replace("a", "а", 1)  # Cyrillic a
    with pytest.raises(SignInRefused):
        sign_in_federated({"sub": "x", "email": look_alike, "email_verified": True})


def test_streamlit_auth_table_from_the_settings(monkeypatch, tmp_path):
    assert streamlit_auth_toml() == ""  # not configured: no [auth], st.login stays off
    target = tmp_path / "secrets.toml"
    assert write_streamlit_secrets(str(target)) is False and not target.exists()
    monkeypatch.setenv("RAMQ_OIDC_METADATA_URL", "https://idp.example/.well-known/openid-configuration")
    monkeypatch.setenv("RAMQ_OIDC_CLIENT_ID", "ramq-acces")
    monkeypatch.setenv("RAMQ_OIDC_CLIENT_SECRET", 'se"cret\\é')
    monkeypatch.setenv("RAMQ_BASE_URL", "https://acces.ramq.example/")
    get_settings.cache_clear()
    assert write_streamlit_secrets(str(target)) is True
    assert target.stat().st_mode & 0o077 == 0  # the client secret: its owner only
    auth = tomllib.loads(target.read_text())["auth"]
    assert auth["redirect_uri"] == "https://acces.ramq.example/oauth2callback"
    assert auth["client_secret"] == 'se"cret\\é' and auth["client_id"] == "ramq-acces"
    assert len(auth["cookie_secret"]) == 64 and auth["cookie_secret"] not in Settings().secret_key
    get_settings.cache_clear()


def test_one_provider_sign_in_opens_one_session():
    email = _address()
    _staff(email)
    claims = {"iss": "https://idp.example", "sub": "abc", "iat": 1_800_000_000, "email": email,
              "email_verified": True}
    sign_in_federated(claims)
    with pytest.raises(SignInRefused) as replayed:  # the same token again (after a sign-out)
        sign_in_federated(dict(claims))
    assert replayed.value.code == "oidc_used"
    sign_in_federated({**claims, "iat": claims["iat"] + 60})  # a new sign-in at the provider


def test_an_identity_is_taken_only_just_after_the_provider_sign_in_allowing_clock_skew():
    from models.oidc import FRESH_SECONDS, is_fresh

    now = 1_800_000_000
    assert is_fresh({"iat": now - FRESH_SECONDS + 1}, now)
    assert not is_fresh({"iat": now - FRESH_SECONDS - 1}, now)  # the 30-day cookie, later on
    assert not is_fresh({}, now) and not is_fresh({"iat": "hier"}, now)
    # The provider's clock a few seconds ahead of ours must not make signing in impossible.
    assert is_fresh({"iat": now + 20}, now)
    assert not is_fresh({"iat": now + 3600}, now)


def test_a_refused_identity_is_kept_once_not_once_per_page_load():
    """Streamlit hands the same fresh identity to every page for five minutes: its refusal is one
    security event; a new sign-in at the provider (another issued-at) is another."""
    email = _address()
    key = hashed_key("login_user", email)
    claims = {"iss": "https://idp.example", "sub": uuid.uuid4().hex, "iat": 1_800_000_000,
              "email": email, "email_verified": True}

    def kept() -> int:
        with session_scope() as s:
            events = s.exec(select(SecurityEvent).where(SecurityEvent.kind == "sign_in")).all()
            return sum(1 for e in events if e.detail.get("user_key") == key)

    for _ in range(3):  # three page loads
        with pytest.raises(SignInRefused):
            sign_in_federated(claims)
    assert kept() == 1
    with pytest.raises(SignInRefused):
        sign_in_federated({**claims, "iat": claims["iat"] + 60})
    assert kept() == 2
