"""Plays the people against a stack started with `ramq-access run` (the Ctrl-C fault), from a
process whose environment is that stack's: ``python -m tests.faults.driver submit 3`` prints
the requests as JSON; ``authorize``, ``approve`` (a respondent approves, a SOES countersigns) and
``wait`` take those ids back.

Emails are read from the stack's Maildir, as the "Courriels" page does."""

from __future__ import annotations

import json
import sys
from urllib.parse import parse_qs, urlparse

from sqlmodel import select

from flows.stack import wait_until
from models.db import session_scope
from models.enums import TaskStatus
from models.settings import get_settings
from models.tables import AccessRequest, HumanTask
from notifications.maildir import list_messages


def _mail(to: str, contains: str, timeout: float = 240):
    def found():
        for item in list_messages(get_settings().maildir):
            if item.to.lower() == to.lower() and contains.lower() in item.subject.lower():
                return item
        return None
    return wait_until(found, timeout=timeout, what=f"email '{contains}'")


def submit(n: int) -> list[dict]:
    from flows import api
    from tests.flows.workflow_helpers import unique_request

    out = []
    for _ in range(n):
        data = unique_request()
        sub = api.submit_request(data, actor="fault-suite")
        out.append({"request_id": sub.request_id, "reference": sub.reference, "data": data})
    return out


def authorize(reqs: list[dict]) -> None:
    from flows import api
    from tests.flows.workflow_helpers import section3

    for req in reqs:
        item = _mail(req["data"]["authorizer"]["email"], "autorisation est requise")
        link = next(link for link in item.links if "?t=" in link)
        token = parse_qs(urlparse(link).query)["t"][0]
        api.authorizer_decide(token, outcome="authorize", section3=section3(req["data"]))


def approve(reqs: list[dict]) -> None:
    from flows import api
    from tests.flows.workflow_helpers import ensure_respondent

    staff = ensure_respondent()
    for req in reqs:
        def task(request_id=req["request_id"]):
            with session_scope() as s:
                return s.exec(select(HumanTask.id).where(
                    HumanTask.request_id == request_id, HumanTask.kind == "respondent",
                    HumanTask.status == TaskStatus.open.value)).first()
        task_id = wait_until(task, timeout=240, what="respondent task")
        api.claim_task(task_id, staff=staff)
        api.respondent_decide(task_id, staff=staff, outcome="approve", section4=api.proposed_section4(task_id))
    countersign(reqs)


def countersign(reqs: list[dict]) -> None:
    """The SOES countersigns every approval (the product's default, RAMQ_COUNTERSIGN on)."""
    from flows import api
    from tests.flows.workflow_helpers import ensure_soes

    staff = ensure_soes()
    for req in reqs:
        def task(request_id=req["request_id"]):
            with session_scope() as s:
                return s.exec(select(HumanTask.id).where(
                    HumanTask.request_id == request_id, HumanTask.kind == "countersign",
                    HumanTask.status == TaskStatus.open.value)).first()
        task_id = wait_until(task, timeout=240, what="countersign task")
        api.claim_task(task_id, staff=staff)
        api.countersign_decide(task_id, staff=staff, outcome="countersign")


def wait(reqs: list[dict], status: str = "completed") -> None:
    ids = [r["request_id"] for r in reqs]

    def done():
        with session_scope() as s:
            return all(s.get(AccessRequest, i).status == status for i in ids)
    wait_until(done, timeout=300, what=f"requests {status}")


def main(argv: list[str]) -> None:
    command = argv[0]
    if command == "submit":
        print(json.dumps(submit(int(argv[1])), ensure_ascii=False))
        return
    reqs = json.loads(sys.stdin.read())
    {"authorize": authorize, "approve": approve, "wait": wait}[command](reqs)
    print("ok")


if __name__ == "__main__":
    main(sys.argv[1:])
