"""Rate limits of the public form (it must not become a way to mail anyone) and of the
forgotten-password request (``flows.password_reset``).

Every counted action is one :class:`RateEvent` row: a ``scope`` (what is counted) and a ``key``,
the keyed hash (:func:`models.security.hashed_key`) of the client or the address, so the table
holds no personal data. :func:`exceeded` counts the rows of a sliding window; :func:`count`
adds rows. The caller does both in the transaction that stores what is counted, so a refused
action counts nothing (on SQLite ``BEGIN IMMEDIATE`` serializes the check and the insert; on
PostgreSQL two racing submissions may both pass the last free slot: a limit, not a quota).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from models.security import hashed_key
from models.tables import RateEvent, utcnow

# What is counted. A submission from one client, a submission naming one authorizer mailbox, an
# email that a submission will send to one mailbox (the user's and the authorizer's).
SUBMIT_CLIENT = "submit_client"
SUBMIT_AUTHORIZER = "submit_authorizer"
EMAIL_ADDRESS = "email_address"
# A forgotten-password request from one client; a new password for one account.
RESET_CLIENT = "reset_client"
RESET_ACCOUNT = "reset_account"

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# Rows older than this count for no window: removed as new ones are added.
KEEP = timedelta(days=2)


@dataclass(frozen=True)
class Limit:
    """At most ``maximum`` events of ``scope`` for ``value`` within ``window``. ``name`` says
    which limit refused (kept in the security event; never the value)."""

    name: str
    scope: str
    value: str
    maximum: int
    window: timedelta
    amount: int = 1  # events this action adds (e.g. two emails to one address)

    @property
    def key(self) -> str:
        return hashed_key(self.scope, self.value)


def used(session: Session, limit: Limit) -> int:
    since = utcnow() - limit.window
    return session.exec(select(func.count()).select_from(RateEvent).where(
        RateEvent.scope == limit.scope, RateEvent.key == limit.key, RateEvent.at >= since)).one()


def exceeded(session: Session, limits: list[Limit]) -> Limit | None:
    """The first limit this action would go over, or None."""
    for limit in limits:
        if used(session, limit) + limit.amount > limit.maximum:
            return limit
    return None


def count(session: Session, limits: list[Limit]) -> None:
    """Counts the action against each limit (in the caller's transaction)."""
    now = utcnow()
    session.execute(delete(RateEvent).where(col(RateEvent.at) < now - KEEP))
    for limit in limits:
        for _ in range(limit.amount):
            session.add(RateEvent(scope=limit.scope, key=limit.key, at=now))
