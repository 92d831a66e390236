"""Staff sessions behind the ``ramq_staff`` cookie (models/staff_sessions.py): a one-time ticket
obtains the signed token, which opens the login until logout, the idle timeout, the maximum age
or the account's end. Times are passed explicitly (``now``) instead of waiting."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from jose import jwt
from sqlmodel import col, select

from models import staff_sessions as ss
from models.accounts import create_staff
from models.db import session_scope
from models.settings import get_settings
from models.tables import Account, SecurityEvent, StaffSession, id_of, utcnow

PASSWORD = "Bonjour-Quebec-2026"


@pytest.fixture
def staff_id(app_env) -> int:
    name = f"sess{uuid.uuid4().hex[:8]}"
    with session_scope() as s:
        account = create_staff(s, username=name, role="respondent", password=PASSWORD,
                               email=f"{name}@ramq.example.qc.ca")
        s.flush()
        return id_of(account)


def _signed_in(account_id: int, now=None) -> tuple[int, str]:
    opened = ss.open_session(account_id, now=now)
    cookie = ss.exchange_ticket(opened.ticket, now=now)
    assert cookie is not None
    return opened.session_id, cookie


def _refusals(code: str) -> int:
    with session_scope() as s:
        return len(s.exec(select(SecurityEvent.id).where(
            SecurityEvent.kind == "staff_session", SecurityEvent.code == code)).all())


def test_a_ticket_gives_a_signed_cookie_that_opens_the_login(staff_id):
    session_id, cookie = _signed_in(staff_id)
    found = ss.resolve_cookie(cookie)
    assert found.session_id == session_id and not found.expired
    assert found.staff is not None and found.staff["account_id"] == staff_id
    assert found.staff["role"] == "respondent"
    assert ss.check_session(session_id, staff_id).staff == found.staff


def test_the_ticket_works_once(staff_id):
    opened = ss.open_session(staff_id)
    before = _refusals("ticket_refused")
    assert ss.exchange_ticket(opened.ticket) is not None
    assert ss.exchange_ticket(opened.ticket) is None
    assert _refusals("ticket_refused") == before + 1


def test_the_ticket_expires(staff_id):
    now = utcnow()
    opened = ss.open_session(staff_id, now=now)
    assert ss.exchange_ticket(opened.ticket, now=now + timedelta(seconds=ss.TICKET_SECONDS + 1)) is None
    with session_scope() as s:
        row = s.get(StaffSession, opened.session_id)
        assert row is not None and row.token_hash is None


@pytest.mark.parametrize("ticket", ["", "x", "A" * 43, "A" * 500, None])
def test_forged_tickets_are_refused(staff_id, ticket):
    ss.open_session(staff_id)
    assert ss.exchange_ticket(ticket) is None


def test_nothing_is_stored_in_clear(staff_id):
    opened = ss.open_session(staff_id)
    cookie = ss.exchange_ticket(opened.ticket)
    token = ss.read_cookie(cookie)
    with session_scope() as s:
        row = s.get(StaffSession, opened.session_id)
        assert row is not None and row.token_hash and row.ticket_hash is None
        stored = " ".join(str(v) for v in row.model_dump().values())
    assert token and token not in stored and opened.ticket not in stored


def test_forged_cookies_open_nothing(staff_id):
    _, cookie = _signed_in(staff_id)
    token = ss.read_cookie(cookie)
    secret = get_settings().secret_key
    forged = [
        jwt.encode({"aud": ss.AUDIENCE, "tok": token}, "another-key-" + "x" * 40, algorithm="HS256"),
        jwt.encode({"aud": "ramq-link", "tok": token}, secret, algorithm="HS256"),  # another purpose
        jwt.encode({"aud": ss.AUDIENCE, "tok": token}, secret, algorithm="HS512"),
        cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"),
        token,  # the bare token, unsigned
        jwt.encode({"aud": ss.AUDIENCE, "tok": "A" * 43}, secret, algorithm="HS256"),  # unknown token
        "", "a.b.c", "x" * 5000,
    ]
    header, payload, _ = cookie.split(".")
    forged.append(f"{header}.{payload}.")  # no signature
    for value in forged:
        assert ss.resolve_cookie(value).staff is None, value


def test_idle_sessions_end_once_with_a_notice(staff_id):
    now = utcnow()
    session_id, cookie = _signed_in(staff_id, now=now)
    idle = timedelta(minutes=get_settings().staff_session_idle_minutes)
    # Used within the idle time: still open, and that use counts as activity.
    later = now + idle - timedelta(seconds=5)
    assert ss.resolve_cookie(cookie, now=later).staff is not None
    assert ss.resolve_cookie(cookie, now=later + idle - timedelta(seconds=5)).staff is not None
    # Then left alone longer than the idle time.
    gone = ss.resolve_cookie(cookie, now=later + 2 * idle)
    assert gone.staff is None and gone.expired
    again = ss.resolve_cookie(cookie, now=later + 2 * idle)
    assert again.staff is None and not again.expired
    assert ss.check_session(session_id, staff_id, now=later + 2 * idle).staff is None
    with session_scope() as s:
        assert s.get(StaffSession, session_id).closed_reason == "idle"


def test_activity_is_written_at_most_every_touch_interval(staff_id):
    now = utcnow()
    session_id, cookie = _signed_in(staff_id, now=now)

    def last_seen():
        with session_scope() as s:
            return s.get(StaffSession, session_id).last_seen_at

    ss.resolve_cookie(cookie, now=now + timedelta(seconds=ss.TOUCH_EVERY_SECONDS - 5))
    assert last_seen() == now
    ss.check_session(session_id, staff_id, now=now + timedelta(seconds=ss.TOUCH_EVERY_SECONDS + 1))
    assert last_seen() == now + timedelta(seconds=ss.TOUCH_EVERY_SECONDS + 1)


def test_sessions_end_after_their_maximum_age_even_when_used(staff_id):
    now = utcnow()
    session_id, cookie = _signed_in(staff_id, now=now)
    step = timedelta(minutes=get_settings().staff_session_idle_minutes - 1)
    t = now
    while t - now < timedelta(hours=ss.MAX_AGE_HOURS):
        t += step
        found = ss.check_session(session_id, staff_id, now=t)
    assert found.staff is None and found.expired
    assert ss.resolve_cookie(cookie, now=t).staff is None


def test_logout_closes_the_session_for_every_tab(staff_id):
    session_id, cookie = _signed_in(staff_id)
    other_id, other_cookie = _signed_in(staff_id)  # the same person in another browser
    assert ss.close_session(session_id=session_id)
    assert not ss.close_session(session_id=session_id)
    assert ss.resolve_cookie(cookie).staff is None
    assert ss.check_session(session_id, staff_id).staff is None
    assert ss.resolve_cookie(other_cookie).staff is not None  # only that session
    assert ss.close_session(cookie=other_cookie)
    assert ss.resolve_cookie(other_cookie).staff is None
    assert not ss.close_session(cookie="forged")


def test_a_closed_session_cannot_take_its_ticket(staff_id):
    opened = ss.open_session(staff_id)
    ss.close_session(session_id=opened.session_id)
    assert ss.exchange_ticket(opened.ticket) is None


def test_a_disabled_account_loses_its_session(staff_id):
    session_id, cookie = _signed_in(staff_id)
    with session_scope() as s:
        s.get(Account, staff_id).disabled = True
    assert ss.resolve_cookie(cookie).staff is None
    with session_scope() as s:
        row = s.get(StaffSession, session_id)
        assert row.closed_at is not None and row.closed_reason == "account"
    with session_scope() as s:
        s.get(Account, staff_id).disabled = False
    assert ss.resolve_cookie(cookie).staff is None  # closed for good: sign in again


def test_a_session_id_opens_only_its_own_account(staff_id):
    session_id, _ = _signed_in(staff_id)
    with session_scope() as s:
        other = s.exec(select(Account.id).where(col(Account.id) != staff_id)).first()
    assert ss.check_session(session_id, other or staff_id + 1).staff is None
    assert ss.check_session(10**9, staff_id).staff is None


def test_an_issued_account_has_no_staff_session(staff_id):
    session_id, cookie = _signed_in(staff_id)
    with session_scope() as s:
        s.get(Account, staff_id).kind = "issued"
    assert ss.resolve_cookie(cookie).staff is None


def test_an_automatic_refresh_reads_without_counting_as_activity(staff_id):
    now = utcnow()
    session_id, _ = _signed_in(staff_id, now=now)
    idle = timedelta(minutes=get_settings().staff_session_idle_minutes)
    assert ss.check_session(session_id, staff_id, now=now + idle / 2, touch=False).staff is not None
    late = ss.check_session(session_id, staff_id, now=now + idle + timedelta(seconds=1), touch=False)
    assert late.staff is None and late.expired
    with session_scope() as s:
        row = s.get(StaffSession, session_id)
        assert row.last_seen_at == now and row.closed_at is None  # nothing written
    # The next page run ends it, with its notice.
    assert ss.check_session(session_id, staff_id, now=now + idle + timedelta(seconds=1)).expired
