"""Attack (5): the public form used as a mailer. Each accepted submission emails the user (its
reference) and the authorizer (a signed link): without limits anyone could send RAMQ-branded
mail to any address. Limits per client, per authorizer mailbox and per recipient mailbox are
counted with keyed hashes (no address, no IP in the table); a refused submission stores nothing
and leaves a security event. Trusted callers (the CLI, the simulation: ``client=None``) are not
limited."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import select

from flows import api
from flows.errors import ActionError
from models import rate_limits
from models.db import session_scope
from models.settings import get_settings
from models.tables import AccessRequest, RateEvent
from notifications.templates import compose, request_context
from tests.security.attack_helpers import count_rows, events_since, last_event_id, one_event
from tests.ui.conftest import count_requests, errors, request_data

TOO_MANY_FR = "Trop de demandes"


def client_ip() -> str:
    return f"203.0.113.{uuid.uuid4().int % 250 + 1}-{uuid.uuid4().hex[:6]}"


def limit(monkeypatch, name: str, value: int) -> None:
    monkeypatch.setenv(f"RAMQ_{name.upper()}", str(value))
    get_settings.cache_clear()


def refused(data: dict, client: str) -> ActionError:
    before_requests, before_rates = count_requests(), count_rows(RateEvent)
    with pytest.raises(ActionError) as err:
        api.submit_request(data, client=client, start=False)
    assert err.value.code == "too_many_requests"
    assert err.value.message("fr").startswith(TOO_MANY_FR)
    assert err.value.message("en").startswith("Too many requests")
    assert count_requests() == before_requests  # nothing stored
    assert count_rows(RateEvent) == before_rates  # a refused submission counts nothing
    return err.value


def test_one_client_is_limited_per_hour(app_env, monkeypatch):
    limit(monkeypatch, "submissions_per_client_hour", 2)
    ip = client_ip()
    for _ in range(2):
        api.submit_request(request_data(), client=ip, start=False)
    marker = last_event_id()
    refused(request_data(), ip)
    event = one_event(marker, kind="submit_request", code="too_many_requests", request_id=None)
    assert event["detail"]["limit"] == "client"
    assert ip not in str(event)  # the client is never stored in clear
    api.submit_request(request_data(), client=client_ip(), start=False)  # another client may


def test_one_authorizer_mailbox_is_limited_per_day_whatever_the_tag_or_case(app_env):
    maximum = get_settings().submissions_per_authorizer_day
    victim = f"victime.{uuid.uuid4().hex[:8]}@cisss.example.qc.ca"
    for i in range(maximum):
        data = request_data()
        data["authorizer"]["email"] = victim.replace("@", f"+{i}@") if i else victim
        api.submit_request(data, client=client_ip(), start=False)
    data = request_data()
    data["authorizer"]["email"] = victim.upper()
    marker = last_event_id()
    refused(data, client_ip())
    assert one_event(marker, kind="submit_request", code="too_many_requests")["detail"]["limit"] == "authorizer"


def test_one_recipient_mailbox_is_limited_in_emails_per_day(app_env, monkeypatch):
    limit(monkeypatch, "emails_per_address_day", 2)
    victim = f"cible.{uuid.uuid4().hex[:8]}@cisss.example.qc.ca"
    for _ in range(2):  # the victim as the user: one confirmation email each
        data = request_data()
        data["user"]["email"] = victim
        api.submit_request(data, client=client_ip(), start=False)
    data = request_data()
    data["authorizer"]["email"] = victim  # now as the authorizer: a third email
    marker = last_event_id()
    refused(data, client_ip())
    assert one_event(marker, kind="submit_request", code="too_many_requests")["detail"]["limit"] == "email"


def test_counters_hold_no_address_and_no_ip(app_env):
    ip, data = client_ip(), request_data()
    api.submit_request(data, client=ip, start=False)
    with session_scope() as s:
        keys = " ".join(f"{r.scope} {r.key}" for r in s.exec(select(RateEvent)).all())
    for raw in (ip, data["user"]["email"], data["authorizer"]["email"]):
        assert raw.split("@")[0].lower() not in keys.lower()
    assert rate_limits.SUBMIT_CLIENT in keys and rate_limits.EMAIL_ADDRESS in keys


def test_trusted_callers_are_not_limited(app_env, monkeypatch):
    limit(monkeypatch, "submissions_per_authorizer_day", 0)
    marker = last_event_id()
    api.submit_request(request_data(), start=False)  # the CLI, the simulation: client=None
    assert events_since(marker) == []


def test_a_limited_form_says_so_in_french_and_stores_nothing(app):
    from tests.ui.test_submission import fill_valid

    authorizer = f"jean.gagnon.{uuid.uuid4().hex[:8]}@cisss.example.qc.ca"
    maximum = get_settings().submissions_per_authorizer_day
    with session_scope() as s:  # the mailbox already got its share today
        rate_limits.count(s, [rate_limits.Limit("authorizer", rate_limits.SUBMIT_AUTHORIZER,
                                                authorizer, maximum, rate_limits.DAY, amount=maximum)])
    before = count_requests()
    marker = last_event_id()
    at = fill_valid(app(), authorizer_email=authorizer)
    at.button(key="sub_submit").click().run()
    assert not at.exception
    assert any(e.startswith(TOO_MANY_FR) for e in errors(at)), errors(at)
    assert count_requests() == before
    one_event(marker, kind="submit_request", code="too_many_requests")
    assert at.text_input(key="sub:user.first_name").value == "Marie"  # nothing typed is lost


@pytest.mark.parametrize("lang, who, ignore", [
    ("fr", "Marie Tremblay ({email})", "vous pouvez ignorer ce courriel"),
    ("en", "Marie Tremblay ({email})", "you may ignore this email"),
])
@pytest.mark.parametrize("kind", ["authorization_request", "authorization_reminder"])
def test_the_authorizer_is_told_who_asked_and_that_they_may_ignore_it(app_env, kind, lang, who, ignore):
    from datetime import timedelta

    from models.tables import utcnow

    data = request_data()
    data["user"]["first_name"], data["user"]["last_name"] = "Marie", "Tremblay"
    sub = api.submit_request(data, start=False)
    with session_scope() as s:
        ctx = request_context(s.get(AccessRequest, sub.request_id))
    msg = compose(kind, lang=lang, link_url="http://localhost:8501/autoriser?t=a.b.c",
                  deadline=utcnow() + timedelta(days=14), **ctx)
    email = data["user"]["email"]
    for part in (msg.text, msg.html):
        flat = " ".join(part.split())
        assert who.format(email=email) in flat
        assert ignore in flat
        assert ("rien ne se passera sans votre action" if lang == "fr"
                else "nothing will happen without your action") in flat
