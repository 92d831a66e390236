"""A request's flow run, as the application drives it: start it, resume it with a stored
decision, restart it after it died.

These are the only calls that change a run in Prefect on the application's behalf, whoever
asks: the human-step API (``flows.api``: a submission starts the run, a decision resumes it)
and the sweeper (``flows.sweeper``: a run Prefect could not start, a resume that did not go
through, a dead run). Finding out *which* runs died (reading run states, marking a silent or
stuck run ``Crashed``, the zombie automation) is detection, and stays in ``flows.recovery``;
restarting a dead run is done here, like every other change of a run.

Only identifiers cross to Prefect: the request id as parameter, the reference as run name,
the decision id as resume input.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import update
from sqlmodel import col

from models.db import get_row, session_scope
from models.settings import get_settings
from models.tables import AccessRequest, Decision, utcnow

# The state name of a dead run scheduled again (shown in Prefect's UI).
RESTART_STATE_NAME = "AwaitingRestart"
# The state name of a resumed run, Prefect's own (the runner starts runs on its event).
RESUMING_STATE_NAME = "Resuming"
# What Prefect's server answers when it could not take a call now and it may be made again.
SERVER_BUSY = frozenset({429, 502, 503})
# How long a call answered busy is tried again here before Prefect's client has the answer.
BUSY_PATIENCE_SECONDS = 10.0
# The first wait before a busy call, or a resume Prefect could not take yet, is tried again
# (then twice as long each time, at most 0.5 s).
FIRST_RETRY_SECONDS = 0.025


class _BusyAnswersTriedAgain(httpx.HTTPTransport):
    """Sends a call again 25 ms after the server answered it busy (then 50, 100…, at most
    0.5 s apart, for :data:`BUSY_PATIENCE_SECONDS`), before Prefect's client sees the answer.

    Prefect's client tries a busy answer again by itself, but only after 2 s (then 4, 8, 16,
    32), and its server on SQLite answers busy often: it starts a run, and resumes one, in a
    transaction that reads and then writes, and any write in between (the logs and events of an
    execution, another run's step) makes it fail with « database is locked » (503). On an idle
    stack that was one decision in two, 2 s late; with 8 people at once, new requests waited
    up to two minutes for their first email. A busy answer means the server rolled the call
    back, so sending it again is safe (Prefect's client does the same, later)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        delay, deadline = FIRST_RETRY_SECONDS, time.monotonic() + BUSY_PATIENCE_SECONDS
        while True:
            response = super().handle_request(request)
            if (response.status_code not in SERVER_BUSY or "retry-after" in response.headers
                    or time.monotonic() + delay > deadline):
                return response
            response.read()
            response.close()
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def prefect_client() -> Any:
    """Prefect's sync client, whose calls answered busy are tried again at once
    (:class:`_BusyAnswersTriedAgain`): the one every change of a run made here goes through.
    It takes the process's one TLS context (``flows.prefect_tls``): it is made for every start
    and resume, and would otherwise load the trust store twice before its first call."""
    from prefect.client.orchestration import get_client

    from flows import prefect_tls

    transport = _BusyAnswersTriedAgain(retries=3, verify=prefect_tls.shared_context() or True)
    return get_client(httpx_settings=prefect_tls.httpx_settings(transport=transport), sync_client=True)


def start_flow(request_id: int) -> str | None:
    """Starts the request's flow run (parameters: the id only; run name: the reference).

    Returns None when Prefect cannot be reached; the sweeper starts it later.
    """
    from prefect.states import Scheduled

    with session_scope() as s:
        req = get_row(s, AccessRequest, request_id)
        if req.flow_run_id:
            return req.flow_run_id
        reference = req.reference
        # Unique to this stored request, even if the application database is ever reset while
        # Prefect's is kept (ids alone would then point at an older request's run).
        idempotency_key = f"ramq-access:{reference}:{req.created_at.timestamp():.6f}"
    try:
        # What `run_deployment(..., timeout=0)` does, through a client that tries a busy answer
        # again at once. The idempotency key makes Prefect answer a second start (a retry after
        # a crash between this call and the commit below, a racing sweeper) with the same run.
        with prefect_client() as client:
            deployment = client.read_deployment_by_name(get_settings().deployment_name)
            run = client.create_flow_run_from_deployment(
                deployment.id, parameters={"request_id": request_id}, name=reference,
                state=Scheduled(), idempotency_key=idempotency_key)
    except Exception:
        return None
    with session_scope() as s:
        req = get_row(s, AccessRequest, request_id)
        req.flow_run_id = req.flow_run_id or str(run.id)
        s.add(req)
        return req.flow_run_id


def resume(decision_id: int, *, wait_seconds: float = 15.0) -> bool:
    """Resumes the flow run waiting for this decision; True once the flow has it.

    The decision may land before the run reached its suspension: then either the run reads it
    on its way (and marks it), or it suspends and this resumes it. Anything left is the sweeper's.
    """
    from prefect.client.schemas.objects import StateType

    deadline = time.monotonic() + wait_seconds
    # Tried again soon: the run may still be on its way to its suspension (the person acted
    # on its email at once), or just suspended with its input schema still being stored.
    delay = FIRST_RETRY_SECONDS
    try:
        with prefect_client() as client:  # one client for every try
            while True:
                with session_scope() as s:
                    decision = get_row(s, Decision, decision_id)
                    if decision.resumed_at is not None:
                        return True
                    flow_run_id = get_row(s, AccessRequest, decision.request_id).flow_run_id
                if not flow_run_id:
                    return False  # the run is not started yet: it will read the decision when it is
                run = client.read_flow_run(UUID(flow_run_id))
                if run.state and run.state.type == StateType.PAUSED:
                    if _resume_paused(client, run, decision_id):
                        _mark_resumed(decision_id)
                        return True
                elif run.state and run.state.is_final():
                    return False
                if time.monotonic() >= deadline:
                    return False
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
    except Exception:  # Prefect or the database unreachable: the sweeper retries
        return False


def _resume_paused(client: Any, run: Any, decision_id: int) -> bool:
    """Resumes a suspended run with the decision's id as its input; True if Prefect took it.

    These are the two changes Prefect's ``/resume`` makes (the input stored under the
    suspension's response key, then the run scheduled again as « Resuming »), each made by a
    call that waits for the server's write lock. ``/resume`` makes them in one transaction that
    reads first, which SQLite refuses (« database is locked », 503) when another write commits
    in between: the steps' events of the execution that has just suspended did, at most resumes
    of an idle stack, each refusal a try and a wait more.

    What ``/resume`` checks besides is not needed here: the input is the application's own (and
    only a hint, the flow reads the decision from the database), and its schema, which the run
    stores just after suspending, is not required (a run killed before storing it, which
    ``/resume`` refused for ever, is resumed too)."""
    from prefect.client.schemas.responses import SetStateStatus
    from prefect.states import Scheduled

    keyset = run.state.state_details.run_input_keyset
    if keyset and not _claim_suspension(client, run.id, keyset["response"], decision_id):
        return False
    answer = client.set_flow_run_state(run.id, Scheduled(name=RESUMING_STATE_NAME))
    return answer.status == SetStateStatus.ACCEPT


# A suspension whose input another resume stored this long ago without scheduling the run
# again: that resume was cut short between its two calls (its process died).
UNFINISHED_RESUME_SECONDS = 5.0


def _claim_suspension(client: Any, flow_run_id: UUID, key: str, decision_id: int) -> bool:
    """Stores the decision's id as the suspension's input; True if this resume may schedule the
    run again: it stored it, or the one that did was cut short.

    The store is the claim: Prefect keeps one input per key, so of two resumes of one
    suspension at once (the screen's and the sweeper's) only one schedules the run again. Two
    would be harm, not waste: the second, a moment later, would find the run started, and
    Prefect lets a running run be scheduled again."""
    try:
        client.create_flow_run_input(flow_run_id, key=key, value=json.dumps({"decision_id": decision_id}))
        return True
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code != 409:  # 409: another resume of this suspension stored it
            raise
    stored = [i for i in client.filter_flow_run_input(flow_run_id, key_prefix=key, limit=10, exclude_keys=set())
              if i.key == key]
    return bool(stored) and (utcnow() - stored[0].created).total_seconds() >= UNFINISHED_RESUME_SECONDS


def resume_soon(decision_id: int, flow_run_id: str | None) -> threading.Thread | None:
    """Resumes in the background, so a click returns as soon as the decision is stored. The
    thread is not a daemon: a short-lived process (the CLI) waits for it before exiting.
    Without a flow run there is nothing to resume: the run reads the decision when it starts."""
    if not flow_run_id:
        return None
    thread = threading.Thread(target=resume, args=(decision_id,), name=f"resume-{decision_id}")
    thread.start()
    return thread


def _mark_resumed(decision_id: int) -> None:
    with session_scope() as s:
        s.execute(update(Decision).where(col(Decision.id) == decision_id, col(Decision.resumed_at).is_(None))
                  .values(resumed_at=utcnow()))


def restart_run(flow_run_id: str) -> bool:
    """Schedules a dead run to run again now (its runner or worker picks it up); True if
    Prefect took it. Forced, since Prefect does not move a run out of a final state by itself.
    The same run replays from the top: the steps before come back cached or find their work done."""
    from prefect.client.schemas.responses import OrchestrationResult, SetStateStatus
    from prefect.states import Scheduled

    with prefect_client() as client:
        answer: OrchestrationResult[Any] = client.set_flow_run_state(
            UUID(flow_run_id), Scheduled(name=RESTART_STATE_NAME), force=True)
    return answer.status == SetStateStatus.ACCEPT
