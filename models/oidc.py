"""Staff sign-in through the organization's OpenID Connect provider (Streamlit's ``st.login``).

The provider says who the person is; the RAMQ says what they may do: the provider's verified
email picks exactly one active RAMQ staff account, whose role is the one used. Streamlit reads
its provider settings from a ``secrets.toml`` ``[auth]`` table; :func:`streamlit_auth_toml`
writes it from the ``RAMQ_OIDC_*`` settings so that one set of variables configures a replica.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from typing import Any

from sqlmodel import select

from models.accounts import STAFF_ROLES, SignedIn, SignInRefused, in_use
from models.enums import AccountKind
from models.settings import Settings, get_settings
from models.tables import Account, id_of, quebec_today

CALLBACK_PATH = "/oauth2callback"  # Streamlit's own route for the provider's answer
# The identity is taken only just after the person signed in at the provider: Streamlit's
# identity cookie lasts 30 days, and a RAMQ session that ended (sign-out, inactivity) must need
# a new sign-in there, not a reload.
FRESH_SECONDS = 300
CLOCK_SKEW_SECONDS = 60  # the provider's clock may run a little ahead of ours


def is_fresh(claims: dict[str, Any], now: float | None = None) -> bool:
    """Whether the provider issued this identity within :data:`FRESH_SECONDS`."""
    issued = claims.get("iat")
    if not isinstance(issued, (int, float)) or isinstance(issued, bool):
        return False
    age = (time.time() if now is None else now) - issued
    return -CLOCK_SKEW_SECONDS <= age <= FRESH_SECONDS


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def streamlit_auth_toml(settings: Settings | None = None) -> str:
    """The ``[auth]`` table Streamlit's ``st.login`` reads, or "" when OIDC is not configured.

    The identity cookie's secret is derived from ``RAMQ_SECRET_KEY`` (no second secret to keep)."""
    settings = settings or get_settings()
    if not settings.oidc_enabled:
        return ""
    cookie_secret = hmac.new(settings.secret_key.encode(), b"streamlit-auth-cookie",
                             hashlib.sha256).hexdigest()
    values = {
        "redirect_uri": settings.base_url.rstrip("/") + CALLBACK_PATH,
        "cookie_secret": cookie_secret,
        "client_id": settings.oidc_client_id,
        "client_secret": settings.oidc_client_secret.get_secret_value(),
        "server_metadata_url": settings.oidc_metadata_url,
    }
    return "[auth]\n" + "".join(f"{k} = {_toml_string(v)}\n" for k, v in values.items())


def sign_in_federated(claims: dict[str, Any], *, client: str | None = None) -> SignedIn:
    """The RAMQ staff account of a person the provider has identified; raises
    :class:`SignInRefused` (``oidc_no_account``) unless their email is verified by the provider
    and names exactly one active staff account. Refusals are kept as security events (with a
    hash of the address, never the address)."""
    from models.db import read_scope
    from models.rules import normalize_email
    from models.security import hashed_key, record_refusal

    email = normalize_email(claims.get("email"))
    verified = claims.get("email_verified")
    if email is None or verified not in (True, "true", "True", 1):
        if _first_refusal(claims, email):
            record_refusal("sign_in", "oidc_unverified_email", account_kind="staff", client=client or "",
                           user_key=hashed_key("login_user", email or ""))
        raise SignInRefused("oidc_no_account")
    today = quebec_today()
    with read_scope() as s:
        rows = s.exec(select(Account).where(Account.kind == AccountKind.staff.value,
                                            Account.email == email)).all()
        usable = [a for a in rows if a.role in STAFF_ROLES and in_use(a, today)]
        found = [SignedIn(id_of(a), a.username, a.kind, a.role, a.display_name or a.username, False)
                 for a in usable]
    if len(found) != 1:  # none, or two accounts for one address: the RAMQ must sort it out
        if _first_refusal(claims, email):
            record_refusal("sign_in", "oidc_no_account" if not found else "oidc_ambiguous",
                           account_kind="staff", client=client or "",
                           user_key=hashed_key("login_user", email))
        raise SignInRefused("oidc_no_account")
    _consume(claims, found[0].account_id)
    return found[0]


_refused_lock = threading.Lock()
_refused: dict[str, float] = {}  # identity hash → when its refusal was kept (monotonic)


def _identity(claims: dict[str, Any]) -> str:
    """One sign-in at the provider: its issuer, subject, issued-at and nonce."""
    return json.dumps([str(claims.get("iss") or ""), str(claims.get("sub") or ""),
                       claims.get("iat"), str(claims.get("nonce") or "")])


def _first_refusal(claims: dict[str, Any], email: str | None) -> bool:
    """Whether this refused identity is new to this process. Streamlit hands the same fresh
    identity to every page the person loads for :data:`FRESH_SECONDS`; its refusal is kept as a
    security event once, not once per reload."""
    key = hashlib.sha256(json.dumps([_identity(claims), email or ""]).encode()).hexdigest()
    now = time.monotonic()
    with _refused_lock:
        for old, at in list(_refused.items()):
            if now - at > FRESH_SECONDS + CLOCK_SKEW_SECONDS:
                del _refused[old]
        if key in _refused:
            return False
        _refused[key] = now
        return True


def _consume(claims: dict[str, Any], account_id: int) -> None:
    """One provider sign-in opens one session: a second use of the same identity (the token
    Streamlit keeps in its cookie for 30 days, a sign-out whose redirect never completed, two
    tabs back from the provider at once) is refused with ``oidc_used``."""
    from sqlalchemy.exc import IntegrityError

    from models.db import session_scope
    from models.tables import FederatedSignIn

    identity = _identity(claims)
    try:
        with session_scope() as s:
            s.add(FederatedSignIn(identity_hash=hashlib.sha256(identity.encode()).hexdigest(),
                                  account_id=account_id))
    except IntegrityError:
        raise SignInRefused("oidc_used") from None


def write_streamlit_secrets(path: str) -> bool:
    """Writes the ``[auth]`` table to ``path`` (readable by its owner only); False, and no file,
    when OIDC is not configured. ``make run`` calls it before starting Streamlit; a replica
    started by hand runs ``python -m models.oidc .streamlit/secrets.toml``."""
    import os
    from pathlib import Path

    text = streamlit_auth_toml()
    target = Path(path)
    if not text:
        target.unlink(missing_ok=True)
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    return True


if __name__ == "__main__":
    import sys

    write_streamlit_secrets(sys.argv[1])
