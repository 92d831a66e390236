"""Sign-in and staff accounts under attack: a login flood never holds the database's write lock
during the slow hash; guessing is slowed per (username, client), per client and per username,
without locking the real user out; counters never lose an update under concurrency (SQLite and
PostgreSQL); a staff account without email, or disguising their name, cannot process their own
request; an unused temporary password expires."""

from __future__ import annotations

import sqlite3
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import select

import models.accounts as accounts
from models import throttle
from models.accounts import AccountError, create_staff, sign_in
from models.db import get_engine, session_scope
from models.security import hashed_key
from models.tables import LoginThrottle, SecurityEvent, utcnow
from tests.security.attack_helpers import events_since, last_event_id

PASSWORD = "Bonjour-Quebec-2026"
WRONG = "devine-encore-2026"


def _staff() -> str:
    name = f"agent{uuid.uuid4().hex[:8]}"
    with session_scope() as s:
        create_staff(s, username=name, role="respondent", password=PASSWORD,
                     email=f"{name}@ramq.example.qc.ca")
    return name


def _client() -> str:
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250}"


def _refused(username: str, password: str, client: str | None, kind: str = "staff") -> str:
    with pytest.raises(AccountError) as err:
        sign_in(username, password, client=client, kind=kind)
    return err.value.code


def _sqlite_path(url: str) -> str | None:
    u = make_url(url)
    return u.database if u.get_backend_name() == "sqlite" else None


def _write_lock_free(url: str) -> bool:
    """True when another connection gets SQLite's write lock at once (busy_timeout 0)."""
    conn = sqlite3.connect(_sqlite_path(url), timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


# --- 1. No lock while hashing ---------------------------------------------------------------------


def test_no_connection_and_no_write_lock_are_held_while_a_password_is_hashed(app_env, monkeypatch):
    name = _staff()
    engine = get_engine()
    seen: list[tuple[int, bool | None]] = []
    real_verify = accounts.verify_password

    def probe(password_hash: str, password: str) -> bool:
        # Right in the middle of the slow hash: who holds what?
        free = _write_lock_free(app_env) if _sqlite_path(app_env) else None
        seen.append((engine.pool.checkedout(), free))
        return real_verify(password_hash, password)

    monkeypatch.setattr(accounts, "verify_password", probe)
    assert sign_in(name, PASSWORD, client=_client(), kind="staff").username == name
    assert _refused(name, WRONG, _client()) == "bad_credentials"
    assert _refused(f"inconnu{uuid.uuid4().hex[:6]}", WRONG, _client()) == "bad_credentials"
    assert len(seen) == 3
    for checked_out, free in seen:
        assert checked_out == 0  # no connection at all, so no transaction and no lock
        assert free in (True, None)  # SQLite: another writer takes the lock at once


def test_login_flood_does_not_make_writers_wait(app_env):
    """4 threads sign in with unknown usernames (a full hash each) while this thread writes with
    busy_timeout 0: every write gets the lock (SQLite) / commits (PostgreSQL)."""
    stop = threading.Event()
    hashes = [0]

    def flood() -> None:
        while not stop.is_set():
            try:
                sign_in(f"x{uuid.uuid4().hex[:10]}", WRONG, client=None, kind="staff")
            except AccountError:
                hashes[0] += 1

    threads = [threading.Thread(target=flood, daemon=True) for _ in range(4)]
    for th in threads:
        th.start()
    waits: list[float] = []
    refused = 0
    try:
        time.sleep(0.3)
        for _ in range(40):
            started = time.perf_counter()
            if _sqlite_path(app_env):
                # busy_timeout 5 s: a sign-in's own counter write is a few ms; a hash is ~50 ms+.
                conn = sqlite3.connect(_sqlite_path(app_env), timeout=5, isolation_level=None)
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute("ROLLBACK")
                except sqlite3.OperationalError:
                    refused += 1
                finally:
                    conn.close()
            else:
                with session_scope() as s:
                    s.execute(text("SELECT 1"))
            waits.append(time.perf_counter() - started)
            time.sleep(0.01)
    finally:
        stop.set()
        for th in threads:
            th.join(10)
    assert refused == 0
    assert hashes[0] >= 4  # the flood really ran
    print(f"\nlogin flood ({make_url(app_env).get_backend_name()}): {hashes[0]} sign-ins; "
          f"write waits median {statistics.median(waits) * 1000:.1f} ms, "
          f"max {max(waits) * 1000:.1f} ms")


# --- 2. Throttling instead of lockout -------------------------------------------------------------


def test_guessing_from_one_client_is_slowed_not_locked(app_env):
    name, attacker, colleague = _staff(), _client(), _client()
    for _ in range(3):
        assert _refused(name, WRONG, attacker) == "bad_credentials"
    marker = last_event_id()
    # Throttled: refused before any hash, even with the right password, with a wait in French.
    with pytest.raises(accounts.SignInRefused) as err:
        sign_in(name, PASSWORD, client=attacker, kind="staff")
    assert err.value.code == "sign_in_throttled" and 0 < err.value.wait_seconds <= 1
    events = events_since(marker)
    assert [(e["kind"], e["code"]) for e in events] == [("sign_in", "throttled")]
    assert name not in str(events) and attacker not in str(events)
    # The real user from another client is not locked out.
    assert sign_in(name, PASSWORD, client=colleague, kind="staff").username == name


def test_delays_grow_and_are_capped():
    assert [throttle.PAIR.delay(n) for n in (1, 2, 3, 4, 5, 12, 13, 40)] == \
        [0, 0, 1, 2, 4, 512, 900, 900]
    assert [throttle.USER.delay(n) for n in (9, 10, 11, 15, 16, 99)] == [0, 1, 2, 32, 60, 60]
    assert throttle.CLIENT.delay(19) == 0 and throttle.CLIENT.delay(20) == 1
    assert throttle.CLIENT.delay(99) == throttle.CLIENT.cap_seconds


def test_keys_hold_no_raw_values(app_env):
    name, client = f"cle{uuid.uuid4().hex[:6]}", _client()
    _refused(name, WRONG, client)
    keys = {hashed_key("login_pair", f"{name}\0{client}"), hashed_key("login_client", client),
            hashed_key("login_user", name)}
    with session_scope() as s:
        rows = s.exec(select(LoginThrottle).where(LoginThrottle.key.in_(keys))).all()
        assert {r.key for r in rows} == keys and all(r.failures == 1 for r in rows)
        assert not any(name in r.key or client in r.key for r in rows)


def test_many_clients_against_one_username_wait_at_most_a_minute(app_env):
    """Guesses from ever new clients only grow the username's own counter, whose delay stops at
    60 s: the real user waits a minute at worst, never fifteen."""
    name = _staff()
    for _ in range(throttle.USER.threshold):
        assert _refused(name, WRONG, _client()) == "bad_credentials"
    with pytest.raises(accounts.SignInRefused) as err:
        sign_in(name, PASSWORD, client=_client(), kind="staff")
    assert err.value.code == "sign_in_throttled" and err.value.wait_seconds <= 1
    with session_scope() as s:  # a long campaign later
        row = s.get(LoginThrottle, hashed_key("login_user", name))
        row.failures, row.blocked_until = 500, None
        s.add(row)
    assert _refused(name, WRONG, _client()) == "bad_credentials"
    with pytest.raises(accounts.SignInRefused) as err:
        sign_in(name, PASSWORD, client=_client(), kind="staff")
    assert 59 <= err.value.wait_seconds <= 60


def test_one_client_spraying_usernames_is_slowed(app_env):
    client = _client()
    for _ in range(throttle.CLIENT.threshold):
        assert _refused(f"spray{uuid.uuid4().hex[:8]}", WRONG, client) == "bad_credentials"
    assert _refused(f"spray{uuid.uuid4().hex[:8]}", WRONG, client) == "sign_in_throttled"
    assert _refused(f"spray{uuid.uuid4().hex[:8]}", WRONG, _client()) == "bad_credentials"


def test_a_success_clears_the_user_and_pair_counters(app_env):
    name, client = _staff(), _client()
    for _ in range(2):
        _refused(name, WRONG, client)
    assert sign_in(name, PASSWORD, client=client, kind="staff")
    with session_scope() as s:
        assert s.get(LoginThrottle, hashed_key("login_pair", f"{name}\0{client}")).failures == 0
        assert s.get(LoginThrottle, hashed_key("login_user", name)).failures == 0
        # The attempt counted for the client up front; the success gave it back.
        assert s.get(LoginThrottle, hashed_key("login_client", client)).failures == 2
    for _ in range(2):  # two more mistakes: still below the pair's threshold
        _refused(name, WRONG, client)
    assert sign_in(name, PASSWORD, client=client, kind="staff")


def test_concurrent_failures_lose_no_update(app_env):
    """16 threads count 5 failures each on one key; and 8 threads fail against 8 usernames from
    one client: every count is there (atomic upsert, no read-modify-write)."""
    key = hashed_key("login_test", uuid.uuid4().hex)

    def bump(_: int) -> None:
        for _ in range(5):
            throttle.count_failure(key)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(bump, range(16)))
    with session_scope() as s:
        assert s.get(LoginThrottle, key).failures == 80

    client = _client()
    names = [f"conc{uuid.uuid4().hex[:8]}" for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda n: _refused(n, WRONG, client), names * 2))
    assert codes == ["bad_credentials"] * 16  # 16 < 20: the client is not throttled yet
    with session_scope() as s:
        assert s.get(LoginThrottle, hashed_key("login_client", client)).failures == 16


def test_a_parallel_burst_gets_only_the_allowed_guesses(app_env):
    """20 guesses at once for one (username, client): exactly 3 reach the hash."""
    name, client = _staff(), _client()
    with ThreadPoolExecutor(10) as pool:
        codes = list(pool.map(lambda _: _refused(name, WRONG, client), range(20)))
    assert codes.count("bad_credentials") == throttle.PAIR.threshold
    assert codes.count("sign_in_throttled") == 20 - throttle.PAIR.threshold
    with session_scope() as s:
        throttled = s.exec(select(SecurityEvent).where(SecurityEvent.kind == "sign_in",
                                                       SecurityEvent.code == "throttled")).all()
        assert len(throttled) >= 20 - throttle.PAIR.threshold


# --- 3. Staff accounts are complete: no email, no decision; conflicts seen through disguises ------


def _respondent(email: str | None, display_name: str) -> str:
    """A respondent account as a legacy row (create_staff now refuses one without email)."""
    from models.tables import Account

    name = f"rep{uuid.uuid4().hex[:8]}"
    with session_scope() as s:
        s.add(Account(username=name, kind="staff", role="respondent", display_name=display_name,
                      email=email, password_hash=accounts.hash_password(PASSWORD)))
    return name


def test_a_staff_account_without_email_cannot_claim_or_decide(app_env):
    from flows import api
    from flows.errors import ActionError
    from tests.ui.conftest import authorized_request

    sub, task_id = authorized_request()
    # The user of the request works at the RAMQ, has no email on file: she cannot slip through.
    legacy = _respondent(None, "Quelqu'un d'autre")
    for action in (lambda: api.claim_task(task_id, staff=legacy),
                   lambda: api.respondent_decide(task_id, staff=legacy, outcome="refuse",
                                                 reason="Non")):
        with pytest.raises(ActionError) as err:
            action()
        assert err.value.code == "staff_email_missing"
        assert "adresse" in err.value.message("fr")


@pytest.mark.parametrize("disguise", [
    "ma\u200brie trem\u200dblay",     # zero-width space and joiner inside the names
    "MARIE  \u00adTREMBLAY ",        # a soft hyphen, double spaces
    "Tremblay Marie",                 # family name first
    "ＭＡＲＩＥ ＴＲＥＭＢＬＡＹ",       # full-width letters
    "Marie\u2060 Trémblay",          # a word joiner, an accent
])
def test_a_respondent_who_is_the_user_is_recognised_by_name(app_env, disguise):
    from flows import api
    from flows.errors import ActionError
    from tests.ui.conftest import authorized_request

    sub, task_id = authorized_request()
    with session_scope() as s:
        from models.tables import AccessRequest
        req = s.get(AccessRequest, sub.request_id)
        assert (req.user_first_name, req.user_last_name) == ("MARIE", "TREMBLAY")
    staff = _respondent(f"autre.{uuid.uuid4().hex[:6]}@ramq.example.qc.ca", disguise)
    with pytest.raises(ActionError) as err:
        api.claim_task(task_id, staff=staff)
    assert err.value.code == "conflict_of_interest"


def test_a_respondent_who_is_the_user_is_recognised_by_mailbox(app_env):
    from flows import api
    from flows.errors import ActionError
    from models.tables import AccessRequest
    from tests.ui.conftest import authorized_request

    sub, task_id = authorized_request()
    with session_scope() as s:
        user_email = s.get(AccessRequest, sub.request_id).user_email
    local, domain = user_email.split("@")
    staff = _respondent(f"{local.upper()}+ramq@{domain}", "Agent Neutre")
    with pytest.raises(ActionError) as err:
        api.claim_task(task_id, staff=staff)
    assert err.value.code == "conflict_of_interest"
    # Someone else entirely may claim it.
    api.claim_task(task_id, staff=_respondent(f"neutre.{uuid.uuid4().hex[:6]}@ramq.example.qc.ca",
                                              "Agent Neutre"))


# --- 4. Temporary passwords expire ----------------------------------------------------------------


def test_an_unused_temporary_password_expires(app_env):
    from models.tables import Account

    name = f"u{uuid.uuid4().hex[:8]}"
    temp = accounts.generate_temporary_password()
    with session_scope() as s:
        s.add(Account(username=name, kind="issued", role="user",
                      password_hash=accounts.hash_password(temp), must_change_password=True,
                      temp_password_expires_at=accounts.temp_password_expiry()))
    assert sign_in(name, temp, client=None, kind="issued").must_change_password
    with session_scope() as s:
        account = s.exec(select(Account).where(Account.username == name)).one()
        assert timedelta(days=6.9) < account.temp_password_expires_at - utcnow() <= timedelta(days=7)
        account.temp_password_expires_at = utcnow() - timedelta(minutes=1)
        s.add(account)
    assert _refused(name, temp, None, kind="issued") == "temp_password_expired"
    assert _refused(name, "pas-le-bon-2026", None, kind="issued") == "bad_credentials"


def test_a_staff_email_with_a_look_alike_letter_is_refused(app_env):
    """A respondent created as « jеan.gagnon@… » (Cyrillic е) would not match the authorizer
    « jean.gagnon@… » in the conflict-of-interest check: such an address is refused."""
    from models.accounts import AccountError, create_staff

    with session_scope() as s:
        with pytest.raises(AccountError) as err:
            create_staff(s, username=f"agent{uuid.uuid4().hex[:8]}", role="respondent",
                         password="Repondant-Test-2026", email="j\u0435an.gagnon@cisss.example.qc.ca")
    assert err.value.code == "confusable_email"
