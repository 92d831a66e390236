import base64
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jose import jwt
from sqlmodel import select

from models.audit import audit
from models.db import session_scope
from models.enums import AuditEventKind
from models.settings import get_settings
from models.tables import AuditEvent, UsedLink
from notifications.links import (
    LinkError,
    consume_link,
    link_url,
    make_link_token,
    read_link_token,
)


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(**over):
    now = int(datetime.now(UTC).timestamp())
    claims = {"iss": "ramq-access", "aud": "authorize", "sub": "42", "rev": 1, "iat": now,
              "exp": now + 3600, "jti": "a" * 32}
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not None}


def _code(token, purpose="authorize") -> str:
    with pytest.raises(LinkError) as info:
        read_link_token(token, purpose=purpose)
    assert token not in str(info.value) or not token
    return info.value.code


def test_round_trip():
    now = datetime.now(UTC)
    link = make_link_token(request_id=42, purpose="authorize", revision=3,
                           ttl=timedelta(hours=2), now=now)
    claims = read_link_token(link.token, purpose="authorize")
    assert (claims.request_id, claims.revision, claims.jti) == (42, 3, link.jti)
    assert claims.expires_at == link.expires_at
    assert link.expires_at.tzinfo is not None
    assert abs((link.expires_at - now) - timedelta(hours=2)) < timedelta(seconds=1)
    assert len(link.jti) == 32 and int(link.jti, 16) >= 0
    header = jwt.get_unverified_header(link.token)
    assert header["alg"] == "HS256"
    raw = jwt.get_unverified_claims(link.token)
    assert raw["aud"] == "authorize" and raw["sub"] == "42" and raw["iss"] == "ramq-access"
    assert raw["rev"] == 3 and raw["iat"] <= raw["exp"]


def test_each_link_is_unique_and_default_ttl_comes_from_settings():
    a = make_link_token(request_id=1, purpose="correct", revision=1)
    b = make_link_token(request_id=1, purpose="correct", revision=1)
    assert a.jti != b.jti and a.token != b.token
    expected = datetime.now(UTC) + timedelta(hours=get_settings().link_ttl_hours)
    assert abs(a.expires_at - expected) < timedelta(seconds=5)


def test_link_url_uses_the_page_of_the_purpose(monkeypatch):
    monkeypatch.setenv("RAMQ_BASE_URL", "https://acces.example.qc.ca/")
    get_settings.cache_clear()
    try:
        link = make_link_token(request_id=7, purpose="authorize", revision=1)
        assert link_url(link.token, "authorize") == f"https://acces.example.qc.ca/autoriser?t={link.token}"
        assert link_url("x.y.z", "correct") == "https://acces.example.qc.ca/corriger?t=x.y.z"
    finally:
        get_settings.cache_clear()


def test_expired():
    past = datetime.now(UTC) - timedelta(hours=3)
    link = make_link_token(request_id=1, purpose="authorize", revision=1,
                           ttl=timedelta(hours=1), now=past)
    assert _code(link.token) == "expired"


def test_expired_and_forged_is_invalid_not_expired():
    past = datetime.now(UTC) - timedelta(hours=3)
    token = jwt.encode(_claims(exp=int(past.timestamp())), "another-key-0123456789abcdef0123",
                       algorithm="HS256")
    assert _code(token) == "invalid"


def test_tampered_signature_and_payload():
    token = make_link_token(request_id=5, purpose="authorize", revision=1).token
    head, payload, sig = token.split(".")
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    assert _code(f"{head}.{payload}.{flipped}") == "invalid"
    other = jwt.get_unverified_claims(token) | {"sub": "6"}
    assert _code(f"{head}.{_b64(other)}.{sig}") == "invalid"


def test_signed_with_another_key():
    token = jwt.encode(_claims(), "not-our-key-0123456789abcdef012345", algorithm="HS256")
    assert _code(token) == "invalid"


def test_wrong_purpose():
    token = make_link_token(request_id=5, purpose="correct", revision=1).token
    assert _code(token, purpose="authorize") == "wrong_purpose"
    assert read_link_token(token, purpose="correct").request_id == 5


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_refused(alg):
    token = f"{_b64({'alg': alg, 'typ': 'JWT'})}.{_b64(_claims())}."
    assert _code(token) == "invalid"


def test_other_hmac_algorithms_refused_even_with_our_key():
    key = get_settings().secret_key
    for alg in ("HS384", "HS512"):
        assert _code(jwt.encode(_claims(), key, algorithm=alg)) == "invalid"


def test_asymmetric_tokens_refused():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    assert _code(jwt.encode(_claims(), pem.decode(), algorithm="RS256")) == "invalid"
    # An RS256 header over an HMAC made with our key: the header check refuses it first.
    hs = jwt.encode(_claims(), get_settings().secret_key, algorithm="HS256").split(".")
    assert _code(f"{_b64({'alg': 'RS256', 'typ': 'JWT'})}.{hs[1]}.{hs[2]}") == "invalid"


# Each case is the overrides, not the claims: the claims (and their expiry) are made when the
# test runs, not when it is collected (a long session would otherwise see them expire).
@pytest.mark.parametrize("overrides", [
    {"jti": None}, {"sub": None}, {"exp": None}, {"iat": None},
    {"iss": None}, {"aud": None}, {"rev": None},
    {"rev": "1"}, {"rev": True}, {"rev": 0}, {"sub": "forty-two"},
    {"sub": 42}, {"iss": "someone-else"}, {"aud": "admin"},
    {"aud": ["authorize"]}, {"jti": 7},
    {"sub": str(2**31)}, {"sub": "0"}, {"sub": "٤٢"},  # past PostgreSQL's integer, no request 0, Arabic digits
], ids=lambda o: ",".join(f"{k}={v!r}" for k, v in o.items()))
def test_missing_or_bad_claims_are_invalid(overrides):
    token = jwt.encode(_claims(**overrides), get_settings().secret_key, algorithm="HS256")
    assert _code(token) == "invalid"


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "...", "x" * 5000, None, 42])
def test_garbage_is_invalid(token):
    with pytest.raises(LinkError) as info:
        read_link_token(token, purpose="authorize")
    assert info.value.code == "invalid"


def test_unknown_purpose_is_a_programming_error():
    with pytest.raises(ValueError):
        make_link_token(request_id=1, purpose="admin", revision=1)
    with pytest.raises(ValueError):
        read_link_token("a.b.c", purpose="admin")


def test_consume_link_works_once(make_request):
    rid = make_request()
    link = make_link_token(request_id=rid, purpose="authorize", revision=1)
    claims = read_link_token(link.token, purpose="authorize")
    with session_scope() as s:
        consume_link(s, claims=claims, purpose="authorize")
    with session_scope() as s:
        with pytest.raises(LinkError) as info:
            consume_link(s, claims=claims, purpose="authorize")
        assert info.value.code == "used"
        # The caller's transaction is still usable: the SAVEPOINT took the failure.
        audit(s, rid, AuditEventKind.authorizer_authorize, actor="test")
    with session_scope() as s:
        assert s.exec(select(AuditEvent).where(AuditEvent.request_id == rid)).one().event == "authorizer_authorize"
        used = s.get(UsedLink, link.jti)
        assert (used.request_id, used.purpose) == (rid, "authorize")


def test_consume_link_rolls_back_with_the_caller(make_request):
    rid = make_request()
    claims = read_link_token(make_link_token(request_id=rid, purpose="correct", revision=2).token,
                             purpose="correct")
    with pytest.raises(RuntimeError):
        with session_scope() as s:
            consume_link(s, claims=claims, purpose="correct")
            raise RuntimeError("decision failed")
    with session_scope() as s:  # nothing was recorded: the link still works
        consume_link(s, claims=claims, purpose="correct")


def test_consume_link_for_a_missing_request_is_invalid(app_env):
    claims = read_link_token(make_link_token(request_id=999_999_999, purpose="authorize",
                                             revision=1).token, purpose="authorize")
    with session_scope() as s:
        with pytest.raises(LinkError) as info:
            consume_link(s, claims=claims, purpose="authorize")
        assert info.value.code == "invalid"


def test_concurrent_consumers_one_wins(make_request):
    rid = make_request()
    claims = read_link_token(make_link_token(request_id=rid, purpose="authorize", revision=1).token,
                             purpose="authorize")
    barrier = threading.Barrier(4)
    outcomes: list[str] = []
    lock = threading.Lock()

    def consume():
        barrier.wait()
        try:
            with session_scope() as s:
                consume_link(s, claims=claims, purpose="authorize")
            result = "ok"
        except LinkError as exc:
            result = exc.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=consume) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["ok", "used", "used", "used"]


_TOKEN = None


def _valid_token():
    global _TOKEN
    if _TOKEN is None:
        link = make_link_token(request_id=77, purpose="authorize", revision=2,
                               ttl=timedelta(days=365))
        _TOKEN = (link.token, read_link_token(link.token, purpose="authorize"))
    return _TOKEN


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_altered_token_is_refused_or_unchanged(data):
    token, claims = _valid_token()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
    pos = data.draw(st.integers(0, len(token) - 1))
    char = data.draw(st.sampled_from(alphabet))
    altered = token[:pos] + char + token[pos + 1:]
    try:
        got = read_link_token(altered, purpose="authorize")
    except LinkError as exc:
        assert exc.code == "invalid"
    else:  # only the unused low bits of the last base64 character can change harmlessly
        assert got == claims


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_random_text_is_invalid(text):
    with pytest.raises(LinkError) as info:
        read_link_token(text, purpose="correct")
    assert info.value.code == "invalid"


# --- The status link (confirmation email): shows, never decides ----------------------------------


def test_status_link_round_trip_has_no_revision_and_lives_status_link_days(monkeypatch):
    monkeypatch.setenv("RAMQ_STATUS_LINK_DAYS", "30")
    get_settings.cache_clear()
    try:
        link = make_link_token(request_id=42, purpose="status")
        expected = datetime.now(UTC) + timedelta(days=30)
        claims = read_link_token(link.token, purpose="status")
    finally:
        get_settings.cache_clear()
    assert (claims.request_id, claims.revision, claims.jti) == (42, None, link.jti)
    assert abs(link.expires_at - expected) < timedelta(seconds=5)
    raw = jwt.get_unverified_claims(link.token)
    assert raw["aud"] == "status" and raw["sub"] == "42" and "rev" not in raw
    assert jwt.get_unverified_header(link.token)["alg"] == "HS256"


def test_status_link_default_lifetime_is_180_days():
    assert get_settings().status_link_days == 180
    link = make_link_token(request_id=1, purpose="status")
    assert abs(link.expires_at - (datetime.now(UTC) + timedelta(days=180))) < timedelta(seconds=5)


def test_status_link_takes_no_revision_and_deciding_links_need_one():
    with pytest.raises(ValueError):
        make_link_token(request_id=1, purpose="status", revision=1)
    for purpose in ("authorize", "correct"):
        with pytest.raises(ValueError):
            make_link_token(request_id=1, purpose=purpose)


@pytest.mark.parametrize("other", ["authorize", "correct"])
def test_status_and_deciding_links_refuse_each_other(other):
    status = make_link_token(request_id=5, purpose="status").token
    deciding = make_link_token(request_id=5, purpose=other, revision=1).token
    assert _code(status, purpose=other) == "wrong_purpose"
    assert _code(deciding, purpose="status") == "wrong_purpose"


def test_status_link_expires():
    past = datetime.now(UTC) - timedelta(days=200)
    link = make_link_token(request_id=1, purpose="status", ttl=timedelta(days=180), now=past)
    assert _code(link.token, purpose="status") == "expired"


def test_status_link_with_a_revision_is_invalid():
    token = jwt.encode(_claims(aud="status", rev=1), get_settings().secret_key, algorithm="HS256")
    assert _code(token, purpose="status") == "invalid"
    forged = jwt.encode(_claims(aud="status", rev=None), "not-our-key-0123456789abcdef012345", algorithm="HS256")
    assert _code(forged, purpose="status") == "invalid"


def test_status_link_opens_again_and_is_never_consumed(make_request):
    rid = make_request()
    link = make_link_token(request_id=rid, purpose="status")
    first = read_link_token(link.token, purpose="status")
    assert read_link_token(link.token, purpose="status") == first  # as often as wanted
    with session_scope() as s:
        with pytest.raises(ValueError):
            consume_link(s, claims=first, purpose="status")
    with session_scope() as s:
        assert s.get(UsedLink, link.jti) is None


def test_status_link_url(monkeypatch):
    monkeypatch.setenv("RAMQ_BASE_URL", "https://acces.example.qc.ca/")
    get_settings.cache_clear()
    try:
        assert link_url("x.y.z", "status") == "https://acces.example.qc.ca/statut?t=x.y.z"
        assert link_url("x.y.z", "status", lang="fr") == "https://acces.example.qc.ca/statut?t=x.y.z"
        assert link_url("x.y.z", "status", lang="en") == "https://acces.example.qc.ca/statut?t=x.y.z&lang=en"
    finally:
        get_settings.cache_clear()
