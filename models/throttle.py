"""Sign-in throttling: growing waits instead of a hard lockout.

Three counters of failed sign-ins, each a :class:`LoginThrottle` row keyed by a keyed hash
(``models.security.hashed_key``: the table holds no username and no address):

- per (username, client): after 3 failures, wait 1 s, 2 s, 4 s… up to 15 minutes;
- per client (all usernames, a password sprayer): after 20 failures, 1 s, 2 s… up to 5 minutes;
- per username (all clients): after 10 failures, 1 s, 2 s… up to 60 s only, so a guesser
  elsewhere never keeps the real user out for more than a minute.

An attempt counts as a failure *before* the hash (one atomic upsert per key, in a short write
transaction), and is refused without hashing while any of its keys is blocked: a burst of
parallel guesses gets only the allowed ones through. A success gives the counts back. Without a
known client (local runs, a missing address) only the username counter applies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, case, update
from sqlalchemy.engine import Connection

from models.security import hashed_key
from models.tables import LoginThrottle, table_of, utcnow

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PgInsert
    from sqlalchemy.dialects.sqlite import Insert as SqliteInsert


@dataclass(frozen=True)
class Rule:
    scope: str
    threshold: int  # failures before the first wait
    cap_seconds: int
    window: timedelta  # a counter whose last failure is older than this starts again

    def delay(self, failures: int) -> int:
        """Seconds to wait after ``failures`` failures in a row: 0, then 1, 2, 4… up to the cap."""
        if failures < self.threshold:
            return 0
        return min(self.cap_seconds, 2 ** min(failures - self.threshold, 30))


PAIR = Rule("login_pair", 3, 15 * 60, timedelta(hours=24))
CLIENT = Rule("login_client", 20, 5 * 60, timedelta(hours=1))
USER = Rule("login_user", 10, 60, timedelta(hours=1))


class Throttled(Exception):
    def __init__(self, wait_seconds: int, scope: str):
        super().__init__(scope)
        self.wait_seconds = wait_seconds
        self.scope = scope


def keys_for(username: str, client: str | None) -> list[tuple[Rule, str]]:
    """The counters an attempt touches, sorted by key (one lock order: no deadlock)."""
    username = username.strip().lower()
    keys = [(USER, hashed_key(USER.scope, username))]
    if client:
        keys += [(PAIR, hashed_key(PAIR.scope, f"{username}\0{client}")),
                 (CLIENT, hashed_key(CLIENT.scope, client))]
    return sorted(keys, key=lambda k: k[1])


def _insert(conn: Connection, table: Table) -> PgInsert | SqliteInsert:
    """``INSERT`` in the connection's dialect (both have ``ON CONFLICT … DO UPDATE``)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def _upsert_failure(conn: Connection, key: str, now: datetime, window: timedelta):
    """failures + 1 (or 1 when the last failure is older than the window), atomically: one
    ``INSERT … ON CONFLICT DO UPDATE SET failures = failures + 1 … RETURNING``. Returns
    (failures, blocked_until as it was)."""
    table = table_of(LoginThrottle)
    stmt = _insert(conn, table).values(key=key, failures=1, last_failure_at=now, blocked_until=None)
    upsert = stmt.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "failures": case(
                (table.c.last_failure_at.is_(None), 1),
                (table.c.last_failure_at < now - window, 1),
                else_=table.c.failures + 1,
            ),
            "last_failure_at": now,
        },
    ).returning(table.c.failures, table.c.blocked_until)
    failures, blocked_until = conn.execute(upsert).one()
    if blocked_until is not None and blocked_until.tzinfo is None:  # SQLite forgets the zone

        blocked_until = blocked_until.replace(tzinfo=UTC)
    return failures, blocked_until


def take_attempt(username: str, client: str | None, *, now: datetime | None = None) -> None:
    """Counts one sign-in attempt as a failure on each of its counters, in one short write
    transaction; raises :class:`Throttled` (and counts nothing) while a counter is blocked."""
    from models.db import get_engine

    now = now or utcnow()
    keys = keys_for(username, client)
    table = table_of(LoginThrottle)
    with get_engine().connect() as conn:
        with conn.begin() as tx:
            counted = []
            blocked: list[tuple[datetime, str]] = []
            for rule, key in keys:
                failures, blocked_until = _upsert_failure(conn, key, now, rule.window)
                if blocked_until is not None and blocked_until > now:
                    blocked.append((blocked_until, rule.scope))
                counted.append((rule, key, failures))
            if blocked:
                tx.rollback()  # a refused attempt adds nothing: the guesser only waits
                until, scope = max(blocked)
                raise Throttled(max(1, math.ceil((until - now).total_seconds())), scope)
            for rule, key, failures in counted:
                delay = rule.delay(failures)
                if delay:
                    conn.execute(update(table).where(table.c.key == key)
                                 .values(blocked_until=now + timedelta(seconds=delay)))


def succeeded(username: str, client: str | None) -> None:
    """The password was right: the username's and the pair's counters start again; the client's
    gives back the attempt counted up front (an office's many good sign-ins never add up)."""
    from models.db import get_engine

    table = table_of(LoginThrottle)
    with get_engine().connect() as conn, conn.begin():
        for rule, key in keys_for(username, client):
            values: dict[str, Any]
            if rule is CLIENT:
                values = {"failures": case((table.c.failures > 0, table.c.failures - 1), else_=0)}
            else:
                values = {"failures": 0, "blocked_until": None}
            conn.execute(update(table).where(table.c.key == key).values(**values))


def blocked(username: str, client: str | None, *, now: datetime | None = None) -> Throttled | None:
    """Whether a sign-in of ``username`` from ``client`` would wait now (read only, counts
    nothing): the forgotten-password request obeys the same waits as the sign-in."""
    from sqlalchemy import select

    from models.db import read_scope

    now = now or utcnow()
    scope_of = {key: rule.scope for rule, key in keys_for(username, client)}
    table = table_of(LoginThrottle)
    with read_scope() as s:
        rows = s.execute(select(table.c.key, table.c.blocked_until)
                         .where(table.c.key.in_(list(scope_of)))).all()
    waits = []
    for key, until in rows:
        if until is not None and until.tzinfo is None:  # SQLite forgets the zone
            until = until.replace(tzinfo=UTC)
        if until is not None and until > now:
            waits.append((until, scope_of[key]))
    if not waits:
        return None
    until, scope = max(waits)
    return Throttled(max(1, math.ceil((until - now).total_seconds())), scope)


def count_failure(key: str, rule: Rule = PAIR) -> int:
    """One failure on one counter (atomic); the new count. For tests and tools."""
    from models.db import get_engine

    with get_engine().connect() as conn, conn.begin():
        return _upsert_failure(conn, key, utcnow(), rule.window)[0]


def format_wait(seconds: int) -> str:
    """``45 s`` or ``3 min`` (the same in French and English)."""
    seconds = max(1, int(seconds))
    return f"{seconds} s" if seconds < 60 else f"{math.ceil(seconds / 60)} min"
