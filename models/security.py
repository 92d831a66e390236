"""Refused attempts and the keys that count them, without personal data.

``record_refusal`` writes a :class:`SecurityEvent` in its own short transaction, after the
refused action rolled back: what was tried is kept even though nothing it asked for was stored.
``hashed_key`` turns a client address, a username or an email into a keyed hash (HMAC-SHA-256
with the secret key), so throttles and rate limits can count without keeping the value.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

from models.settings import get_settings
from models.tables import SecurityEvent

LOG = logging.getLogger("ramq.security")


def hashed_key(scope: str, value: str) -> str:
    """``scope:`` + a keyed hash of ``value`` (case-insensitive); at most 80 characters."""
    secret = get_settings().secret_key.encode()
    digest = hmac.new(secret, f"{scope}\0{value.strip().casefold()}".encode(), hashlib.sha256)
    return f"{scope[:15]}:{digest.hexdigest()[:64]}"


def record_refusal(kind: str, code: str, *, request_id: int | None = None, actor: str = "",
                   **detail: Any) -> None:
    """Keeps one refused attempt. Never raises: a refusal must reach the person even when the
    database cannot take the record (it is then logged, without data)."""
    from models.db import session_scope

    try:
        with session_scope() as s:
            s.add(SecurityEvent(kind=kind[:40], code=code[:40], request_id=request_id,
                                actor=(actor or "")[:120], detail=detail))
    except Exception as exc:  # noqa: BLE001
        LOG.warning("security event %s/%s not recorded (%s)", kind, code, type(exc).__name__)
