"""Attacks on the emailed links (already refused; these tests keep them refused). Each attack is
played against the action that matters, ``authorizer_decide`` with a valid section 3 (or the
correction), on a real request whose authorizer task is open: the refusal code, nothing stored
(no decision, no used link, task still open, no section 3 or 4), and one security event."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from jose import jwt

from flows import api
from flows.errors import ActionError
from models.enums import TaskKind
from models.settings import get_settings
from tests.models.helpers import resigned
from tests.security.attack_helpers import last_event_id, one_event, open_tasks, sent_back, snapshot
from tests.ui.conftest import open_task, request_data, section3, submit, token


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _waiting() -> int:
    """A stored request whose authorizer step (round 1) is open."""
    sub = submit(request_data())
    open_task(sub.request_id, TaskKind.authorizer)
    return sub.request_id


def _claims(request_id: int, **over) -> dict:
    now = int(datetime.now(UTC).timestamp())
    claims = {"iss": "ramq-access", "aud": "authorize", "sub": str(request_id), "rev": 1,
              "iat": now, "exp": now + 3600, "jti": "f" * 32}
    claims.update(over)
    return claims


def _attack(request_id: int | None, forged: str, code: str, *, event_request: int | None = None,
            action=None) -> None:
    """Plays the forged link against the decision; asserts the refusal, that nothing changed and
    the security event."""
    action = action or (lambda t: api.authorizer_decide(t, outcome="authorize", section3=section3()))
    before = snapshot(request_id) if request_id else None
    marker = last_event_id()
    with pytest.raises(ActionError) as err:
        action(forged)
    assert err.value.code == code
    assert err.value.message("fr") != code  # a French sentence, not a code
    if request_id:
        assert snapshot(request_id) == before
    kind = getattr(action, "kind", "authorizer_decide")
    one_event(marker, kind=kind, code=code, request_id=event_request)


def test_forged_signature_is_refused(app_env):
    rid = _waiting()
    head, payload, sig = token(rid).split(".")
    flipped = sig[:5] + ("A" if sig[5] != "A" else "B") + sig[6:]
    _attack(rid, f"{head}.{payload}.{flipped}", "link_invalid")
    other_key = jwt.encode(_claims(rid), "not-our-key-0123456789abcdef0123456789", algorithm="HS256")
    _attack(rid, other_key, "link_invalid")
    assert open_tasks(rid) == [("authorizer", 1)]


def test_expired_link_is_refused(app_env):
    rid = _waiting()
    expired = token(rid, ttl=timedelta(hours=1),
                    now=datetime.now(UTC) - timedelta(hours=2))
    _attack(rid, expired, "link_expired")
    assert open_tasks(rid) == [("authorizer", 1)]


def test_replayed_link_is_refused(app_env):
    rid = _waiting()
    link = token(rid)
    api.authorizer_decide(link, outcome="refuse", reason="Je ne connais pas cette personne.")
    _attack(rid, link, "link_used", event_request=rid)
    api_open = lambda t: api.open_link(t, purpose="authorize")  # noqa: E731
    api_open.kind = "open_link"
    _attack(rid, link, "link_used", event_request=rid, action=api_open)


def test_link_of_another_request_is_refused(app_env):
    mine, theirs = _waiting(), _waiting()
    head, payload, sig = token(mine).split(".")
    swapped = jwt.get_unverified_claims(f"{head}.{payload}.{sig}") | {"sub": str(theirs)}
    _attack(theirs, f"{head}.{_b64(swapped)}.{sig}", "link_invalid")
    assert open_tasks(theirs) == [("authorizer", 1)] and open_tasks(mine) == [("authorizer", 1)]


def test_link_of_the_wrong_purpose_is_refused(app_env):
    rid = _waiting()
    _attack(rid, token(rid, purpose="correct"), "wrong_purpose", event_request=rid)
    resubmit = lambda t: api.resubmit_correction(t, request_data())  # noqa: E731
    resubmit.kind = "resubmit_correction"
    _attack(rid, token(rid, purpose="authorize"), "wrong_purpose", event_request=rid, action=resubmit)
    assert open_tasks(rid) == [("authorizer", 1)]


def test_link_voided_by_a_correction_is_refused(app_env):
    sub, _, correction = sent_back()
    corrected = resigned(request_data())
    api.resubmit_correction(correction, corrected)  # revision 2: earlier links are void
    open_task(sub.request_id, TaskKind.authorizer, round=2)
    old = token(sub.request_id, purpose="authorize", revision=1)  # a never-used link of round 1
    _attack(sub.request_id, old, "link_void", event_request=sub.request_id)
    assert open_tasks(sub.request_id) == [("authorizer", 2)]
    # The correction link itself was used once: a second correction is refused too.
    again = lambda t: api.resubmit_correction(t, corrected)  # noqa: E731
    again.kind = "resubmit_correction"
    _attack(sub.request_id, correction, "link_used", event_request=sub.request_id, action=again)


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_refused(app_env, alg):
    rid = _waiting()
    _attack(rid, f"{_b64({'alg': alg, 'typ': 'JWT'})}.{_b64(_claims(rid))}.", "link_invalid")
    assert open_tasks(rid) == [("authorizer", 1)]


def test_algorithm_confusion_is_refused(app_env):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    rid = _waiting()
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = private.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    key = get_settings().secret_key
    hs = jwt.encode(_claims(rid), key, algorithm="HS256").split(".")
    import hashlib
    import hmac

    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64(_claims(rid))}".encode()
    with_public = base64.urlsafe_b64encode(hmac.new(public, signing_input, hashlib.sha256)
                                           .digest()).rstrip(b"=").decode()
    for forged in (
        jwt.encode(_claims(rid), pem, algorithm="RS256"),  # an RS256 token of the attacker's key
        f"{_b64({'alg': 'RS256', 'typ': 'JWT'})}.{hs[1]}.{hs[2]}",  # RS256 header, our HMAC
        f"{signing_input.decode()}.{with_public}",  # HS256 keyed with a public key
        jwt.encode(_claims(rid), key, algorithm="HS512"),  # another HMAC, even with our key
        f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'jwk': {'kty': 'oct', 'k': 'YQ'}})}.{_b64(_claims(rid))}."
        f"{base64.urlsafe_b64encode(hmac.new(b'a', signing_input, hashlib.sha256).digest()).rstrip(b'=').decode()}",
    ):
        _attack(rid, forged, "link_invalid")
    assert open_tasks(rid) == [("authorizer", 1)]
