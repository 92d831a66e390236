"""Signed links sent by email (authorize, correct, status, renew, cancel). All the JOSE code of
the product lives here.

HS256 only, algorithm pinned on decode and checked in the header before anything else, so a
forged ``alg: none`` or an asymmetric-algorithm token never reaches a verifier. A token names
its purpose (``aud``), its request (``sub``) and, for a link that decides, the request's
revision (``rev``: a correction voids earlier links). Whether such a link was already used is a
database fact: see :func:`consume_link`, which the caller runs in the transaction that records
the decision.

The ``status`` link (in the confirmation email) only shows where a request stands: it carries
no ``rev`` (a correction does not void it), is never consumed (opening it changes nothing and
can be repeated) and lives ``RAMQ_STATUS_LINK_DAYS``. The ``cancel`` link beside it is bound to
no revision and lives as long; it decides, but needs no ``used_link`` row: cancelling closes the
request, and a closed request refuses a second cancellation. A token of one purpose is refused
by the pages and actions of every other (``wrong_purpose``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import quote

from jose import jwt
from jose.exceptions import ExpiredSignatureError, JWTError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from models.settings import get_settings
from models.tables import UsedLink

# renew: the public form prefilled from an access about to end (never consumed: it decides nothing).
# cancel: the user cancels their request (confirmation email). Bound to no revision (a correction
# keeps it) and never consumed: the cancellation closes the request, so a second one is refused.
Purpose = Literal["authorize", "correct", "status", "renew", "cancel"]

ALGORITHM = "HS256"
ISSUER = "ramq-access"
PURPOSES: tuple[Purpose, ...] = ("authorize", "correct", "status", "renew", "cancel")
# The links that decide: bound to a revision, used once (``used_link``). The others only show.
SINGLE_USE: tuple[Purpose, ...] = ("authorize", "correct")
# The Streamlit page (url path) that opens each kind of link.
PAGES: dict[str, str] = {"authorize": "autoriser", "correct": "corriger", "status": "statut",
                         "renew": "nouvelle-demande", "cancel": "annuler"}
MAX_TOKEN_LENGTH = 2048
MAX_REQUEST_ID = 2**31 - 1


class LinkError(Exception):
    """A link that cannot be honoured. ``code``: expired, invalid, wrong_purpose, used.

    The message is the code only: a token never ends up in an exception or a log."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class SignedLink:
    token: str
    jti: str
    expires_at: datetime


@dataclass(frozen=True)
class LinkClaims:
    request_id: int
    revision: int | None  # None for a status link, which no correction voids
    jti: str
    expires_at: datetime
    issued_at: datetime | None = None  # ``iat``: a resent link voids those signed before it


def _check_purpose(purpose: str) -> None:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown link purpose: {purpose!r}")


def make_link_token(
    *,
    request_id: int,
    purpose: Purpose,
    revision: int | None = None,
    ttl: timedelta | None = None,
    now: datetime | None = None,
) -> SignedLink:
    """Sign a link for one request, purpose and revision; valid ``ttl`` (default from settings:
    ``RAMQ_LINK_TTL_HOURS``, or ``RAMQ_STATUS_LINK_DAYS`` for a status, renewal or cancel link).
    A link bound to a revision needs it; a status, renewal or cancel link takes none."""
    _check_purpose(purpose)
    if (revision is None) == (purpose in SINGLE_USE):
        raise ValueError(f"a {purpose} link {'needs' if purpose in SINGLE_USE else 'takes no'} revision")
    settings = get_settings()
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if ttl is None:
        ttl = (timedelta(hours=settings.link_ttl_hours) if purpose in SINGLE_USE
               else timedelta(days=settings.status_link_days))
    iat = int(now.timestamp())
    exp = int((now + ttl).timestamp())
    jti = uuid.uuid4().hex
    claims: dict[str, str | int] = {
        "iss": ISSUER,
        "aud": purpose,
        "sub": str(int(request_id)),
        "iat": iat,
        "exp": exp,
        "jti": jti,
    }
    if revision is not None:
        claims["rev"] = int(revision)
    token = jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)
    return SignedLink(token=token, jti=jti, expires_at=datetime.fromtimestamp(exp, UTC))


def read_link_token(token: str, *, purpose: Purpose) -> LinkClaims:
    """Verify a token and return its claims, or raise :class:`LinkError`.

    Order matters: header algorithm, then signature, then expiry, then purpose, so an attacker
    learns nothing but ``invalid`` from a forged token."""
    _check_purpose(purpose)
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise LinkError("invalid")
    try:
        header = jwt.get_unverified_header(token)
    except (JWTError, ValueError, TypeError):
        raise LinkError("invalid") from None
    if not isinstance(header, dict) or header.get("alg") != ALGORITHM:
        raise LinkError("invalid")
    try:
        claims = jwt.decode(
            token,
            get_settings().secret_key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={
                "verify_aud": False,  # checked below, to tell wrong_purpose from invalid
                "require_aud": False,
                "require_exp": True,
                "require_iat": True,
                "require_iss": True,
                "require_sub": True,
                "require_jti": True,
            },
        )
    except ExpiredSignatureError:
        raise LinkError("expired") from None
    except (JWTError, ValueError, TypeError):
        raise LinkError("invalid") from None

    aud, sub, rev, jti, exp, iat = (claims.get(k) for k in ("aud", "sub", "rev", "jti", "exp", "iat"))
    if not isinstance(aud, str) or aud not in PURPOSES:
        raise LinkError("invalid")
    # A request id as the database holds it: 1 to 2**31 - 1 (PostgreSQL's integer column).
    if not (isinstance(sub, str) and sub.isascii() and sub.isdigit() and 0 < int(sub) <= MAX_REQUEST_ID):
        raise LinkError("invalid")
    if aud in SINGLE_USE:
        if not isinstance(rev, int) or isinstance(rev, bool) or rev < 1:
            raise LinkError("invalid")
    elif rev is not None:  # a status, renewal or cancel link is bound to no revision
        raise LinkError("invalid")
    if not (isinstance(jti, str) and 0 < len(jti) <= 64):
        raise LinkError("invalid")
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise LinkError("invalid")
    if not isinstance(iat, int) or isinstance(iat, bool):
        raise LinkError("invalid")
    if aud != purpose:
        raise LinkError("wrong_purpose")
    return LinkClaims(
        request_id=int(sub),
        revision=rev,
        jti=jti,
        expires_at=datetime.fromtimestamp(exp, UTC),
        issued_at=datetime.fromtimestamp(iat, UTC),
    )


def link_url(token: str, purpose: Purpose, *, lang: str | None = None) -> str:
    """The address in the email: ``{base_url}/autoriser?t=…``, ``…/corriger?t=…`` or
    ``…/statut?t=…``; ``lang="en"`` adds ``&lang=en`` (the page opens in English; French is the
    default and is never written)."""
    _check_purpose(purpose)
    base = get_settings().base_url.rstrip("/")
    suffix = f"&lang={quote(lang, safe='')}" if lang and lang != "fr" else ""
    return f"{base}/{PAGES[purpose]}?t={quote(token, safe='')}{suffix}"


def consume_link(session: Session, *, claims: LinkClaims, purpose: Purpose) -> UsedLink:
    """Mark the link used in the caller's transaction; ``LinkError("used")`` if it already was.

    The primary key on ``jti`` decides races: of two concurrent decisions, one insert fails.
    A SAVEPOINT keeps the caller's transaction usable after that failure. Only a link that
    decides is consumed: a status link never is (``ValueError``)."""
    _check_purpose(purpose)
    if purpose not in SINGLE_USE:
        raise ValueError(f"a {purpose} link is never consumed")
    row = UsedLink(jti=claims.jti, request_id=claims.request_id, purpose=purpose)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        if session.get(UsedLink, claims.jti, populate_existing=True) is not None:
            raise LinkError("used") from None
        raise LinkError("invalid") from None  # e.g. no such request
    return row
