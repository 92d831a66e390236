"""One access request, as a Prefect flow that reads like the paper process.

The flow's only parameter is the request id; its run is named after the request's reference.
It suspends (holding no process) while a person works, and replays from the top when resumed:
the steps before a suspension come back cached, and the decisions already taken are read from
the application database, which is the source of truth.
"""

from __future__ import annotations

from prefect import flow
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput
from prefect.runtime import flow_run
from prefect.states import Cancelled, State
from sqlmodel import select

from flows.steps import (
    close_request,
    complete_request,
    countersign_required,
    deliver_emails,
    issue_credentials,
    open_authorizer_step,
    open_correction_step,
    open_countersign_step,
    open_respondent_step,
    record_submission,
    send_username,
)
from models.db import session_scope
from models.enums import Outcome, RequestStatus
from models.tables import Decision, id_of, utcnow


class DecisionInput(RunInput):
    """What a resume carries: the id of the decision stored in the application database.
    Optional: a suspension key met again after a crash has no input, and any input is only a
    hint anyway (the flow reads the decision from the database)."""

    decision_id: int | None = None


MAX_IGNORED_RESUMES = 1000


def wait_for_decision(task_id: int, key: str) -> tuple[int, str]:
    """The (decision id, outcome) of a human task; suspends the run until there is one.

    The database decides, not the resume: anyone who reaches the Prefect API can resume a run
    with any input, so a resume that does not come with a stored decision of this task is
    ignored (recorded) and the run suspends again. Prefect answers a suspension key it has
    already seen with that key's old input, so each new wait takes the next key
    (``authorizer-1``, ``authorizer-1-r2``, …); on replay the old keys answer at once."""
    for attempt in range(1, MAX_IGNORED_RESUMES + 1):
        found = _decision_of(task_id)
        if found is not None:
            return found
        this_key = key if attempt == 1 else f"{key}-r{attempt}"  # Prefect: [a-z0-9-] only
        given = suspend_flow_run(wait_for_input=DecisionInput, key=this_key)
        found = _decision_of(task_id)
        if found is not None:
            return found
        _ignored_resume(task_id, this_key, getattr(given, "decision_id", None))
    raise RuntimeError(f"too many resumes without a decision for task {task_id}")


def _ignored_resume(task_id: int, key: str, decision_id: int | None) -> None:
    """Records, once per suspension key, a resume that carried no decision of this task."""
    from models.security import record_refusal
    from models.tables import HumanTask, SecurityEvent

    with session_scope() as s:
        task = s.get(HumanTask, task_id)
        request_id = task.request_id if task else None
        seen = s.exec(select(SecurityEvent.id).where(
            SecurityEvent.kind == "resume", SecurityEvent.request_id == request_id,
            SecurityEvent.actor == key)).first()
    if seen is None:
        record_refusal("resume", "no_stored_decision", request_id=request_id, actor=key,
                       task_id=task_id, decision_id=decision_id if isinstance(decision_id, int) else None)


def _decision_of(task_id: int) -> tuple[int, str] | None:
    with session_scope() as s:
        d = s.exec(select(Decision).where(Decision.task_id == task_id)).first()
        if d is None:
            return None
        if d.resumed_at is None:  # the flow has it now: nothing left for the sweeper to resume
            d.resumed_at = utcnow()
            s.add(d)
        return id_of(d), d.outcome


@flow(name="access-request", persist_result=True, log_prints=False)
def access_request(request_id: int) -> str | State:
    # 1. Submission: the user is told; sections 1, 2 and 5 are already stored.
    record_submission(request_id, str(flow_run.get_id()))
    deliver_emails(request_id, "submitted")

    round = 1
    while True:
        # 2. Section 3: the authorizer reviews and signs (or refuses). At every step that waits
        #    for a person, the user or the RAMQ may cancel the request instead.
        task_id = open_authorizer_step(request_id, round)
        deliver_emails(request_id, f"authorizer-{round}")
        decision_id, outcome = wait_for_decision(task_id, f"authorizer-{round}")
        if outcome == Outcome.refuse:
            return _close(request_id, RequestStatus.refused_by_authorizer, round, decision_id)
        if outcome == Outcome.expire:
            return _close(request_id, RequestStatus.expired, round, decision_id)
        if outcome == Outcome.cancel:
            return _close(request_id, RequestStatus.cancelled, round, decision_id)
        if outcome == Outcome.reassign_authorizer:
            # The RAMQ asks the user to name another authorizer: the user corrects and signs again.
            decision_id, outcome = _correction(request_id, round, decision_id)
            if outcome != Outcome.resubmit:
                return _close_correction(request_id, round, decision_id, outcome)
            round += 1
            continue

        # 3. Section 4: a RAMQ respondent reviews, then approves, refuses or sends back; the SOES
        #    countersigns an approval, or returns it to the respondent, who decides again.
        attempt = 1
        while True:
            task_id = open_respondent_step(request_id, round, attempt)
            decision_id, outcome = wait_for_decision(task_id, _respondent_key(round, attempt))
            if outcome != Outcome.approve or not countersign_required(request_id, round, attempt):
                break
            task_id = open_countersign_step(request_id, round, attempt)
            decision_id, outcome = wait_for_decision(task_id, f"countersign-{round}-{attempt}")
            if outcome != Outcome.refuse:  # countersigned (or expired, or cancelled)
                break
            attempt += 1
        if outcome in (Outcome.approve, Outcome.countersign):
            break
        if outcome == Outcome.refuse:
            return _close(request_id, RequestStatus.refused_by_ramq, round, decision_id)
        if outcome == Outcome.expire:
            return _close(request_id, RequestStatus.expired, round, decision_id)
        if outcome == Outcome.cancel:
            return _close(request_id, RequestStatus.cancelled, round, decision_id)

        # Sent back for correction: the user corrects, then the authorizer signs again.
        decision_id, outcome = _correction(request_id, round, decision_id)
        if outcome != Outcome.resubmit:
            return _close_correction(request_id, round, decision_id, outcome)
        round += 1

    # 4. Credentials (section 4 approved, and countersigned unless RAMQ_COUNTERSIGN is off): the
    #    password to the user, the username to the authorizer, never both.
    issue_credentials(request_id)
    send_username(request_id)
    deliver_emails(request_id, "credentials")
    # 5. Done.
    return complete_request(request_id)


def _correction(request_id: int, round: int, decision_id: int) -> tuple[int, str]:
    """The user corrects the request sent back by ``decision_id``; the (decision, outcome)."""
    task_id = open_correction_step(request_id, round, decision_id)
    deliver_emails(request_id, f"correction-{round}")
    return wait_for_decision(task_id, f"correction-{round}")


def _close_correction(request_id: int, round: int, decision_id: int, outcome: str) -> str | State:
    status = RequestStatus.expired if outcome == Outcome.expire else RequestStatus.cancelled
    return _close(request_id, status, round, decision_id)


def _respondent_key(round: int, attempt: int) -> str:
    """The respondent's suspension key: ``respondent-1``, then ``respondent-1-2`` when the SOES
    returned the first approval (the first keeps its former name: runs waiting across an
    upgrade find their key)."""
    return f"respondent-{round}" if attempt == 1 else f"respondent-{round}-{attempt}"


def _close(request_id: int, status: RequestStatus, round: int, decision_id: int) -> str | State:
    """Closes the request and tells the people concerned. A cancelled request's run ends
    ``Cancelled`` (a final state: the sweeper restarts the runs of open requests only)."""
    result = close_request(request_id, status, round, decision_id)
    deliver_emails(request_id, f"closed-{status}")
    if status is RequestStatus.cancelled:
        return Cancelled(message="cancelled")
    return result
