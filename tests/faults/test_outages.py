"""Outages that heal: the Prefect server down while people decide and at submission, the SMTP
server down for minutes. Nothing is lost; the requests move on once the part is back."""

from __future__ import annotations

import time

import pytest

from models.db import session_scope
from models.tables import AccessRequest
from tests.faults.harness import assert_clean, record, until

pytestmark = [pytest.mark.faults, pytest.mark.workflow]


def test_prefect_down_while_people_decide(lab):
    reqs = lab.submit(3)
    for req in reqs:
        lab.authorizer_link(req)
    lab.kill_prefect()
    for req in reqs:
        lab.authorize(req)  # stored; the resume cannot reach Prefect
    lab.start_prefect()
    healed = time.monotonic()
    for req in reqs:
        lab.open_task(req, "respondent")
    lab.finish("Prefect server down while people decide", reqs, time.monotonic() - healed)


def test_prefect_down_at_submission(lab):
    lab.kill_prefect()
    reqs = lab.submit(3)  # stored, the run cannot start yet
    with session_scope() as s:
        assert all(s.get(AccessRequest, r.request_id).flow_run_id is None for r in reqs)
    lab.start_prefect()
    healed = time.monotonic()
    for req in reqs:
        lab.authorizer_link(req)
    lab.finish("Prefect server down at submission", reqs, time.monotonic() - healed, authorize=reqs)


def test_smtp_down_for_150_seconds(lab):
    """Submissions, decisions and approvals while the SMTP server is down: the emails wait in
    the outbox and the password step retries; nothing fails for good."""
    reqs = lab.submit(4)
    for req in reqs:
        lab.authorizer_link(req)
    lab.smtp.stop()
    down = time.monotonic()
    for req in reqs:
        lab.authorize(req)
    for req in reqs:
        lab.approve(req)

    # every decision is stored (the calls returned); the outage lasts 150 s in all
    remaining = 150 - (time.monotonic() - down)
    if remaining > 0:
        until(lambda: time.monotonic() - down >= 150, "150 s of outage", timeout=remaining + 5)
    lab.smtp.restart()
    healed = time.monotonic()
    lab.wait_all_mail(reqs, timeout=300)
    recovered = time.monotonic() - healed
    lab.wait_status(reqs, "completed", timeout=120)
    verdict = lab.verdict(reqs)
    record("SMTP server down for 150 s", len(reqs), verdict, recovered)
    assert_clean(verdict)
