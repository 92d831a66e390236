"""The human-step API: what the screens and the CLI call when a person acts.

Each action is one database transaction (check the task is open and the actor may act, store the
decision, close the task, write the audit event), then a resume of the flow run whose answer is
checked (``flows.runs``, which also starts the run of a submission). A resume that cannot happen
now is retried by the sweeper: a stored decision is never lost, and a task accepts one decision
only, so a double click is never applied twice.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from flows import runs
from flows.errors import ActionError
from models import rate_limits, request_store, signatures
from models.accounts import USERNAME_RE, propose_username, suggest_username, username_available
from models.audit import USER, audit
from models.db import get_row, read_scope, session_scope
from models.enums import (
    FINAL_STATUSES,
    AccountKind,
    AuditEventKind,
    Outcome,
    RequestStatus,
    SignerRole,
    TaskKind,
    TaskStatus,
)
from models.rules import FieldError, mailbox_key, validate_authorization, validate_request, validity_period
from models.security import hashed_key, record_refusal
from models.settings import get_settings
from models.tables import (
    AccessRequest,
    Account,
    AuditEvent,
    Authorization,
    Decision,
    HumanTask,
    RamqProcessing,
    UsedLink,
    id_of,
    not_null,
    quebec_today,
    utcnow,
)
from notifications.links import PURPOSES, LinkClaims, LinkError, Purpose, consume_link, read_link_token

AUTHORIZER_OUTCOMES = (Outcome.authorize, Outcome.refuse)
RESPONDENT_OUTCOMES = (Outcome.approve, Outcome.refuse, Outcome.send_back)
COUNTERSIGN_OUTCOMES = (Outcome.countersign, Outcome.refuse)
# Who takes each staff task: the respondent fills and signs section 4, the SOES countersigns it.
TASK_ROLES = {TaskKind.respondent.value: "respondent", TaskKind.countersign.value: "soes"}


@dataclass(frozen=True)
class Submitted:
    request_id: int
    reference: str
    flow_run_id: str | None


@dataclass(frozen=True)
class LinkView:
    """What a link opens: the request as it stands, read-only. Opening decides nothing."""

    request_id: int
    reference: str
    revision: int
    status: str
    request: dict
    task_id: int
    comments: str | None = None  # the respondent's comments, for a correction


# --- Refusals are recorded ------------------------------------------------------------------------

# Refusals of a plain typo in a form: told to the person, not kept as a security event.
NOT_RECORDED = frozenset({"invalid_form", "reason_required", "comments_required", "invalid_username",
                          "invalid_validity", "username_taken", "authorizer_unchanged"})
# Who uses a link of each purpose (the actor of its refusals).
LINK_ACTORS = {"authorize": "autorisateur", "correct": "utilisateur", "renew": "utilisateur",
               "cancel": "utilisateur"}
Refusal = tuple[int | None, str, dict[str, Any]]  # request id, actor, detail of the security event


def _refusals_recorded(describe: Callable[..., Refusal]):
    """A refused action (``ActionError``) is recorded with ``record_refusal`` and re-raised
    unchanged. Kind: the action's name; code: the error's; request, actor and detail: what
    ``describe`` reads from the call's arguments (and the error). The action's own transaction
    has rolled back by then: the security event is the only thing written."""

    def decorate(fn):
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except ActionError as exc:
                if exc.code not in NOT_RECORDED:
                    try:
                        bound = signature.bind(*args, **kwargs)
                        bound.apply_defaults()
                        request_id, actor, detail = describe(exc, **bound.arguments)
                        record_refusal(fn.__name__, exc.code, request_id=request_id, actor=actor, **detail)
                    except Exception:  # noqa: BLE001 - the refusal itself must reach the person
                        pass
                raise

        return wrapper

    return decorate


def _link_refusal(purpose: str | None = None) -> Callable[..., Refusal]:
    """A link action's refusal: the request of the link if it verifies (under any purpose, a
    wrong one included), its user as actor. ``purpose``: the action's, else the call's own."""

    def describe(exc: ActionError, *, token: Any, **arguments: Any) -> Refusal:
        used = purpose or arguments.get("purpose") or ""
        request_id = None
        for candidate in PURPOSES:
            try:
                request_id = read_link_token(token, purpose=candidate).request_id
                break
            except LinkError:
                continue
        return request_id, LINK_ACTORS.get(used, "lien"), {"purpose": used if used in PURPOSES else "?"}

    return describe


def _task_refusal(exc: ActionError, *, task_id: Any, staff: Any, **arguments: Any) -> Refusal:
    """A staff action's refusal: the task's request, the staff member as actor."""
    try:
        with session_scope() as s:
            task = s.get(HumanTask, int(task_id))
            request_id = task.request_id if task is not None else None
    except Exception:  # noqa: BLE001
        request_id = None
    return request_id, str(staff or ""), {"task_id": task_id}


def _submission_refusal(exc: ActionError, *, actor: Any, client: Any, **arguments: Any) -> Refusal:
    """A submission's refusal: no request yet; the limit it hit and the client (hashed)."""
    detail: dict[str, Any] = {}
    if exc.params.get("limit"):
        detail["limit"] = exc.params["limit"]
    if client is not None:
        detail["client"] = hashed_key("client", str(client))
    return None, str(actor or ""), detail


# --- Submission ---------------------------------------------------------------------------------


@_refusals_recorded(_submission_refusal)
def submit_request(data: Any, *, actor: str = "formulaire", lang: str = "fr", start: bool = True,
                   client: str | None = None) -> Submitted:
    """Validates, stores with an audit event in one transaction, then starts the flow run.

    ``client`` (the public form's client address) makes it a public submission: the rate limits
    of :func:`_public_limits` apply, counted in the same transaction (a refused submission
    stores and counts nothing: ``too_many_requests``). Trusted callers (the CLI, the
    simulation) pass no client."""
    result = validate_request(data, lang=lang)
    if not result.ok:
        raise ActionError("invalid_form", result.errors)
    with session_scope() as s:
        limits = _public_limits(result.data, client) if client is not None else []
        over = rate_limits.exceeded(s, limits)
        if over is not None:
            raise ActionError("too_many_requests", limit=over.name)
        req = request_store.store_request(s, normalized=result.data, actor=actor, language=lang)
        rate_limits.count(s, limits)
        request_id, reference = id_of(req), not_null(req.reference)
    flow_run_id = runs.start_flow(request_id) if start else None
    return Submitted(request_id, reference, flow_run_id)


def _public_limits(normalized: dict, client: str) -> list[rate_limits.Limit]:
    """The public form is not a mailer: per client and hour, per authorizer mailbox and day,
    per recipient mailbox and day (a submission emails the user and the authorizer)."""
    settings = get_settings()
    user, authorizer = (mailbox_key(normalized[who]["email"]) for who in ("user", "authorizer"))
    limits = [
        rate_limits.Limit("client", rate_limits.SUBMIT_CLIENT, client or "?",
                          settings.submissions_per_client_hour, rate_limits.HOUR),
        rate_limits.Limit("authorizer", rate_limits.SUBMIT_AUTHORIZER, authorizer,
                          settings.submissions_per_authorizer_day, rate_limits.DAY),
    ]
    for address in dict.fromkeys((user, authorizer)):  # one email to each mailbox
        limits.append(rate_limits.Limit("email", rate_limits.EMAIL_ADDRESS, address,
                                        settings.emails_per_address_day, rate_limits.DAY,
                                        amount=(user, authorizer).count(address)))
    return limits


# --- Signed links (authorizer, correction) --------------------------------------------------------


def _claims(token: str, purpose: Purpose) -> LinkClaims:
    try:
        return read_link_token(token, purpose=purpose)
    except LinkError as exc:
        raise ActionError({"expired": "link_expired", "wrong_purpose": "wrong_purpose"}
                          .get(exc.code, "link_invalid")) from None


def _linked_task(s: Session, claims: LinkClaims, kind: TaskKind) -> tuple[AccessRequest, HumanTask]:
    req = s.get(AccessRequest, claims.request_id)
    if req is None:
        raise ActionError("link_invalid")
    if s.get(UsedLink, claims.jti) is not None:
        raise ActionError("link_used")
    task = s.exec(select(HumanTask).where(HumanTask.request_id == req.id, HumanTask.kind == kind.value,
                                          HumanTask.round == claims.revision)).first()
    if claims.revision != req.revision or task is None:
        raise ActionError("link_void")
    if _replaced(task, claims):
        raise ActionError("link_replaced")
    if task.status != TaskStatus.open.value:
        raise ActionError("link_used" if task.status == TaskStatus.done.value else "task_closed")
    return req, task


def _replaced(task: HumanTask, claims: LinkClaims) -> bool:
    """A link signed before the task's links were resent (or the authorizer changed) is void."""
    return task.links_valid_from is not None and (
        claims.issued_at is None or claims.issued_at < task.links_valid_from)


def _canonical(s: Session, req: AccessRequest) -> dict:
    auth = s.exec(select(Authorization).where(Authorization.request_id == req.id)
                  .order_by(col(Authorization.revision).desc())).first()
    return request_store.request_to_canonical(req, auth)


@_refusals_recorded(_link_refusal())
def open_link(token: str, *, purpose: Purpose) -> LinkView:
    """Checks a link and shows its request; changes nothing (mail scanners prefetch links)."""
    claims = _claims(token, purpose)
    kind = TaskKind.authorizer if purpose == "authorize" else TaskKind.correction
    with session_scope() as s:
        req, task = _linked_task(s, claims, kind)
        comments = None
        if kind is TaskKind.correction:
            from flows.steps import correction_comments, correction_decision

            sent_back = correction_decision(s, id_of(req), task.round)
            comments = correction_comments(sent_back, req.language) if sent_back else None
        return LinkView(id_of(req), not_null(req.reference), req.revision, req.status, _canonical(s, req),
                        id_of(task), comments)


@_refusals_recorded(_link_refusal("authorize"))
def authorizer_decide(token: str, *, outcome: str, section3: Any = None, reason: str | None = None,
                      lang: str = "fr") -> int:
    """The authorizer authorizes (section 3 completed and signed) or refuses (reason required)."""
    if outcome not in AUTHORIZER_OUTCOMES:
        raise ActionError("invalid_outcome")
    claims = _claims(token, "authorize")
    with session_scope() as s:
        req, task = _linked_task(s, claims, TaskKind.authorizer)
        actor = "autorisateur"
        normalized = None
        if outcome == Outcome.refuse:
            if not (reason or "").strip():
                raise ActionError("reason_required")
        else:
            result = validate_authorization(section3, request_store.request_to_canonical(req, None), lang=lang)
            if not result.ok:
                raise ActionError("invalid_form", result.errors)
            normalized = result.normalized
        # The link and the task are taken first: of two racing clicks, the loser stops here
        # with "link used" / "task closed" before it writes anything (on PostgreSQL it waits
        # for the winner's commit, then finds the row taken).
        try:
            consume_link(s, claims=claims, purpose="authorize")
        except LinkError:
            raise ActionError("link_used") from None
        decision_id = record_decision(s, task, outcome=outcome, reason=reason, actor=actor, link=claims)
        if normalized is not None:
            _store_section3(s, req, normalized)
        flow_run_id = req.flow_run_id
    runs.resume_soon(decision_id, flow_run_id)
    return decision_id


def _store_section3(s: Session, req: AccessRequest, section3: dict) -> None:
    """Section 3 as signed now; replaces a section 3 imported from a paper form, since the
    authorizer signs again what they authorize."""
    existing = s.exec(select(Authorization).where(Authorization.request_id == req.id,
                                                  Authorization.revision == req.revision)).first()
    now = utcnow()
    if existing is None:
        s.add(request_store.authorization_from_canonical(section3, request_id=id_of(req), revision=req.revision,
                                                         signed_at=now))
    else:
        for name, value in request_store.authorization_columns(section3).items():
            setattr(existing, name, value)
        existing.signed_at = now
        s.add(existing)
    s.flush()
    request_store.sign_section3(s, req, section3, at=now)


@_refusals_recorded(_link_refusal("correct"))
def resubmit_correction(token: str, data: Any, *, lang: str = "fr") -> int:
    """The user's corrected request: a new revision (earlier links void), back to the authorizer."""
    claims = _claims(token, "correct")
    result = validate_request(data, lang=lang)
    if not result.ok:
        raise ActionError("invalid_form", result.errors)
    with session_scope() as s:
        req, task = _linked_task(s, claims, TaskKind.correction)
        try:
            consume_link(s, claims=claims, purpose="correct")
        except LinkError:
            raise ActionError("link_used") from None
        decision_id = record_decision(s, task, outcome=Outcome.resubmit, reason=None,
                                      actor="utilisateur", link=claims)
        former = (req.authorizer_email, req.authorizer_first_name, req.authorizer_last_name)
        reassigned = _reassigned(s, req, task.round)
        try:
            request_store.update_request_from_canonical(s, request=req, normalized=result.data,
                                                        actor="utilisateur")
        except request_store.SignatureReused:
            message = ActionError("new_signature_required").message(lang)
            raise ActionError("new_signature_required",
                              [FieldError("user.signature", "new_signature_required", message)]) from None
        if mailbox_key(former[0]) != mailbox_key(req.authorizer_email):
            _tell_former_authorizer(s, req, *former, tell=not reassigned)  # told already when reassigned
        elif reassigned:  # the RAMQ asked for another authorizer: the same one is refused
            message = ActionError("authorizer_unchanged").message(lang)
            raise ActionError("authorizer_unchanged", [FieldError("authorizer.email", "authorizer_unchanged", message)])
        flow_run_id = req.flow_run_id
    runs.resume_soon(decision_id, flow_run_id)
    return decision_id


def _reassigned(s: Session, req: AccessRequest, round: int) -> bool:
    """Whether RAMQ staff sent this round back to the user to name another authorizer."""
    from flows.steps import correction_decision

    decision = correction_decision(s, id_of(req), round)
    return decision is not None and decision.outcome == Outcome.reassign_authorizer.value


def _tell_former_authorizer(s: Session, req: AccessRequest, email: str, first: str, last: str,
                            *, tell: bool = True) -> None:
    """A correction named another authorizer: never silently. The change is audited and the
    person first named is told their link is void (the new one signs the new revision);
    ``tell`` False: they were told when RAMQ staff asked for another authorizer."""
    from notifications import outbox
    from notifications.templates import compose, full_name, request_context

    request_id = id_of(req)
    audit(s, request_id, AuditEventKind.authorizer_changed, actor="utilisateur", revision=req.revision)
    if not tell:
        return
    message = compose("authorizer_replaced", lang=req.language, **request_context(req),
                      recipient_name=full_name(first, last))
    outbox.enqueue(s, request_id=request_id, kind="authorizer_replaced", round=req.revision,
                   recipient_role="former_authorizer", recipient=email, message=message,
                   lang=req.language)


# --- RAMQ staff: respondents and the SOES --------------------------------------------------------


def _staff_account(s: Session, staff: str) -> Account:
    account = s.exec(select(Account).where(Account.username == staff)).first()
    if account is None or account.kind != AccountKind.staff or account.disabled \
            or account.role not in TASK_ROLES.values():
        raise ActionError("not_allowed")
    return account


def _check_no_conflict(account: Account, req: AccessRequest) -> None:
    """A respondent never processes a request in which they are the user or the authorizer:
    same mailbox (case, ``+tag``, compatibility forms ignored) or same name (format characters,
    case, accents, spacing and word order ignored). Without an email on the account the check
    cannot be made, so the account may not act at all."""
    from models.accounts import person_key

    email = (account.email or "").strip()
    if not email:
        raise ActionError("staff_email_missing")
    theirs = {mailbox_key(req.user_email.strip()), mailbox_key(req.authorizer_email.strip())}
    names = {person_key(f"{req.user_first_name} {req.user_last_name}"),
             person_key(f"{req.authorizer_first_name} {req.authorizer_last_name}")}
    if mailbox_key(email) in theirs or (
            account.display_name and person_key(account.display_name) in names):
        raise ActionError("conflict_of_interest")


def _same_person(a: Account, b: Account) -> bool:
    """One person behind two accounts: the same username, mailbox or name (compared like
    :func:`_check_no_conflict` does)."""
    from models.accounts import person_key

    if a.username == b.username:
        return True
    if a.email and b.email and mailbox_key(a.email.strip()) == mailbox_key(b.email.strip()):
        return True
    return bool(a.display_name and b.display_name and person_key(a.display_name) == person_key(b.display_name))


def approving_decision(s: Session, task: HumanTask) -> Decision | None:
    """The respondent's approval that a countersign task countersigns (same round and attempt)."""
    return s.exec(select(Decision).join(HumanTask, col(Decision.task_id) == col(HumanTask.id)).where(
        HumanTask.request_id == task.request_id, HumanTask.kind == TaskKind.respondent.value,
        HumanTask.round == task.round, HumanTask.attempt == task.attempt,
        Decision.outcome == Outcome.approve.value)).first()


def _check_four_eyes(s: Session, account: Account, task: HumanTask) -> None:
    """Two people sign section 4: the SOES is never the respondent who approved, by username
    (an account whose role changed since) nor as a person (another account, same mailbox or
    name)."""
    approval = approving_decision(s, task)
    if approval is None:
        raise ActionError("task_not_found")
    if approval.actor == account.username:
        raise ActionError("same_as_respondent")
    respondent = s.exec(select(Account).where(Account.username == approval.actor)).first()
    if respondent is not None and _same_person(account, respondent):
        raise ActionError("same_as_respondent")


def _staff_task(s: Session, task_id: int, staff: str,
                kind: TaskKind | None = None) -> tuple[Account, HumanTask, AccessRequest]:
    """The open task a staff member acts on, checked: its kind (``kind``, or any staff task),
    the role that kind needs, no conflict of interest, and for a countersign the four eyes."""
    account = _staff_account(s, staff)
    task = s.get(HumanTask, task_id)
    if task is None or task.kind not in TASK_ROLES or (kind is not None and task.kind != kind.value):
        raise ActionError("task_not_found")
    if account.role != TASK_ROLES[task.kind]:
        raise ActionError("not_allowed")
    if task.status != TaskStatus.open.value:
        raise ActionError("task_closed")
    req = get_row(s, AccessRequest, task.request_id)
    _check_no_conflict(account, req)
    if task.kind == TaskKind.countersign.value:
        _check_four_eyes(s, account, task)
    return account, task, req


@_refusals_recorded(_task_refusal)
def claim_task(task_id: int, *, staff: str) -> None:
    """Two clerks racing for one task: one wins, the other gets ``already_claimed``. A
    respondent task is claimed by a respondent, a countersign task by a SOES."""
    with session_scope() as s:
        account, task, req = _staff_task(s, task_id, staff)
        if task.claimed_by == account.username:
            return
        won = s.exec(update(HumanTask).where(
            col(HumanTask.id) == task_id, col(HumanTask.status) == TaskStatus.open.value,
            col(HumanTask.claimed_by).is_(None)).values(claimed_by=account.username, claimed_at=utcnow()))
        if won.rowcount != 1:
            raise ActionError("already_claimed")
        audit(s, id_of(req), AuditEventKind.claimed, actor=account.username, task_id=task_id)


@_refusals_recorded(_task_refusal)
def unclaim_task(task_id: int, *, staff: str) -> None:
    with session_scope() as s:
        account, task, req = _staff_task(s, task_id, staff)
        done = s.exec(update(HumanTask).where(
            col(HumanTask.id) == task_id, col(HumanTask.status) == TaskStatus.open.value,
            col(HumanTask.claimed_by) == account.username).values(claimed_by=None, claimed_at=None))
        if done.rowcount != 1:
            raise ActionError("not_claimed_by_you")
        audit(s, id_of(req), AuditEventKind.unclaimed, actor=account.username, task_id=task_id)


def proposed_section4(task_id: int) -> dict:
    """Section 4 as the system proposes it: a unique username and the default validity."""
    with session_scope() as s:
        task = get_row(s, HumanTask, task_id)
        req = get_row(s, AccessRequest, task.request_id)
        valid_from, valid_until = validity_period()
        return {"username": propose_username(s, first_name=req.user_first_name, last_name=req.user_last_name,
                                             except_request=req.id),
                "valid_from": valid_from, "valid_until": valid_until,
                "reference_number": req.reference, "registration_date": quebec_today()}


@_refusals_recorded(_task_refusal)
def respondent_decide(task_id: int, *, staff: str, outcome: str, section4: dict | None = None,
                      reason: str | None = None) -> int:
    """Approve (section 4 completed), refuse (reason) or send back for correction (comments)."""
    if outcome not in RESPONDENT_OUTCOMES:
        raise ActionError("invalid_outcome")
    if outcome == Outcome.refuse and not (reason or "").strip():
        raise ActionError("reason_required")
    if outcome == Outcome.send_back and not (reason or "").strip():
        raise ActionError("comments_required")
    with session_scope() as s:
        account, task, req = _staff_task(s, task_id, staff, TaskKind.respondent)
        if task.claimed_by != account.username:
            raise ActionError("not_claimed_by_you")
        # Close the task first: a second click or a racing clerk gets "task closed" before
        # section 4 is written (any refusal below rolls the whole decision back).
        decision_id = record_decision(s, task, outcome=outcome, reason=reason, actor=account.username)
        if outcome == Outcome.approve:
            _store_section4(s, req, account, section4 or {})
            # The respondent's signature of section 4, bound to exactly what they approved.
            signatures.sign(s, request_id=id_of(req), revision=req.revision, role=SignerRole.respondent,
                            signer=account.username, method="typed",
                            content=signatures.respondent_content(s, req))
        flow_run_id = req.flow_run_id
    runs.resume_soon(decision_id, flow_run_id)
    return decision_id


def _store_section4(s: Session, req: AccessRequest, account: Account, section4: dict) -> None:
    username = str(section4.get("username") or "").strip().lower()
    if not USERNAME_RE.match(username):
        raise ActionError("invalid_username")
    if not username_available(s, username, except_request=req.id):
        raise ActionError("username_taken", suggestion=suggest_username(s, username, except_request=req.id))
    valid_from, valid_until = section4.get("valid_from"), section4.get("valid_until")
    if isinstance(valid_from, str):
        valid_from = date.fromisoformat(valid_from)
    if isinstance(valid_until, str):
        valid_until = date.fromisoformat(valid_until)
    if not (isinstance(valid_from, date) and isinstance(valid_until, date) and valid_until > valid_from):
        raise ActionError("invalid_validity")
    now = utcnow()
    row = s.exec(select(RamqProcessing).where(RamqProcessing.request_id == req.id)).first() \
        or RamqProcessing(request_id=id_of(req))
    row.registration_date = quebec_today()
    row.reference_number = req.reference
    row.username = username
    row.valid_from, row.valid_until = valid_from, valid_until
    row.respondent_id = account.username
    row.respondent_signed_at = now
    try:
        with s.begin_nested():  # the unique username decides a race between two approvals
            s.add(row)
            s.flush()
    except IntegrityError:
        raise ActionError("username_taken",
                          suggestion=suggest_username(s, username, except_request=req.id)) from None


@_refusals_recorded(_task_refusal)
def countersign_decide(task_id: int, *, staff: str, outcome: str, reason: str | None = None) -> int:
    """The SOES countersigns section 4 as the respondent signed it (then credentials are
    issued), or returns it to the respondent with a reason (required): the respondent decides
    again. Never the respondent who approved, never a party of the request."""
    if outcome not in COUNTERSIGN_OUTCOMES:
        raise ActionError("invalid_outcome")
    if outcome == Outcome.refuse and not (reason or "").strip():
        raise ActionError("reason_required")
    with session_scope() as s:
        account, task, req = _staff_task(s, task_id, staff, TaskKind.countersign)
        if task.claimed_by != account.username:
            raise ActionError("not_claimed_by_you")
        # The task is closed first: of two SOES racing, the loser gets "task closed" here.
        decision_id = record_decision(s, task, outcome=outcome, reason=reason, actor=account.username)
        if outcome == Outcome.countersign:
            now = utcnow()
            signatures.sign(s, request_id=id_of(req), revision=req.revision, role=SignerRole.soes,
                            signer=account.username, method="typed",
                            content=signatures.soes_content(s, req), at=now)
            section4 = s.exec(select(RamqProcessing).where(RamqProcessing.request_id == req.id)).one()
            section4.soes_signed_by = account.username
            section4.soes_signed_at = now
            s.add(section4)
        flow_run_id = req.flow_run_id
    runs.resume_soon(decision_id, flow_run_id)
    return decision_id


# --- Managers: claimed work that does not move ------------------------------------------------------

MANAGER_ROLES = ("manager", "operator")


def _manager(s: Session, staff: str) -> Account:
    account = s.exec(select(Account).where(Account.username == staff)).first()
    if account is None or account.kind != AccountKind.staff or account.disabled or account.role not in MANAGER_ROLES:
        raise ActionError("not_allowed")
    return account


def _claimed_task(s: Session, task_id: int) -> HumanTask:
    task = s.get(HumanTask, task_id)
    if task is None or task.kind not in TASK_ROLES:
        raise ActionError("task_not_found")
    if task.status != TaskStatus.open.value:
        raise ActionError("task_closed")
    if task.claimed_by is None:
        raise ActionError("not_claimed")
    return task


@_refusals_recorded(_task_refusal)
def reassign_task(task_id: int, *, staff: str, to: str | None, reason: str) -> None:
    """A manager releases a task someone else claimed (``to`` None: back to the queue) or gives
    it to another person of the role it needs (a clerk on leave with tasks claimed). The reason is
    required and audited; the new holder passes the same checks as if they claimed it
    themselves (role, conflict of interest, four eyes). Acting on the task stays theirs."""
    if not (reason or "").strip():
        raise ActionError("reason_required")
    with session_scope() as s:
        manager = _manager(s, staff)
        task = _claimed_task(s, task_id)
        holder = task.claimed_by
        new_holder = None
        if to:
            account = _staff_account(s, to)
            if account.role != TASK_ROLES[task.kind]:
                raise ActionError("not_allowed")
            _check_no_conflict(account, get_row(s, AccessRequest, task.request_id))
            if task.kind == TaskKind.countersign.value:
                _check_four_eyes(s, account, task)
            new_holder = account.username
        # Only if nothing moved meanwhile: the holder may have decided or released it.
        moved = s.exec(update(HumanTask).where(
            col(HumanTask.id) == task_id, col(HumanTask.status) == TaskStatus.open.value,
            col(HumanTask.claimed_by) == holder).values(claimed_by=new_holder,
                                                       claimed_at=utcnow() if new_holder else None))
        if moved.rowcount != 1:
            raise ActionError("task_closed")
        audit(s, task.request_id, AuditEventKind.reassigned if new_holder else AuditEventKind.released,
              actor=manager.username, task_id=task_id, previous=holder, to=new_holder, reason=reason.strip())


# --- Decisions ------------------------------------------------------------------------------------


def record_decision(s: Session, task: HumanTask, *, outcome: str, reason: str | None, actor: str,
                    link: LinkClaims | None = None, **detail: Any) -> int:
    """Closes the task and stores its one decision; a second click finds the task closed. A
    decision made through a ``link`` is taken only if the link was not replaced meanwhile (a
    resend that commits first wins: ``link_replaced``). ``detail``: more for the audit event (a
    cancellation's reason)."""
    task_id = id_of(task)
    where = [col(HumanTask.id) == task_id, col(HumanTask.status) == TaskStatus.open.value]
    if link is not None:
        valid_from = col(HumanTask.links_valid_from)
        where.append(valid_from.is_(None) if link.issued_at is None
                     else or_(valid_from.is_(None), valid_from <= link.issued_at))
    closed = s.exec(update(HumanTask).where(*where).values(status=TaskStatus.done.value, closed_at=utcnow()))
    if closed.rowcount != 1:
        current = s.get(HumanTask, task_id, populate_existing=True)
        if link is not None and current is not None and current.status == TaskStatus.open.value:
            raise ActionError("link_replaced")
        raise ActionError("task_closed")
    decision = Decision(task_id=task_id, request_id=task.request_id, outcome=outcome,
                        reason=(reason or "").strip() or None, actor=actor)
    s.add(decision)
    s.flush()
    audit(s, task.request_id, AuditEventKind.decision(task.kind, outcome), actor=actor,
          task_id=task_id, round=task.round, decision_id=decision.id, **detail)
    return id_of(decision)


# --- Issued access: revoked and restored by RAMQ staff ---------------------------------------------

# The paper form reserves the RAMQ's right to withdraw access "en tout temps et sans préavis".
ACCESS_ROLES = ("respondent", "manager", "operator")


def _access_refusal(exc: ActionError, *, request_id: Any, staff: Any, **arguments: Any) -> Refusal:
    """A revoke or restore refused: the request, the staff member as actor."""
    return (request_id if isinstance(request_id, int) else None), str(staff or ""), {}


def _access_staff(s: Session, staff: str) -> Account:
    """A respondent, manager or operator (a SOES only countersigns)."""
    account = s.exec(select(Account).where(Account.username == staff)).first()
    if account is None or account.kind != AccountKind.staff or account.disabled or account.role not in ACCESS_ROLES:
        raise ActionError("not_allowed")
    return account


def _issued_account(s: Session, request_id: int) -> Account:
    account = s.exec(select(Account).where(Account.request_id == request_id,
                                           Account.kind == AccountKind.issued.value)).first()
    if account is None:
        raise ActionError("no_account")
    return account


def _tell_access_change(s: Session, req: AccessRequest, kind: str, round: int, **context: Any) -> None:
    """The user and the authorizer, each by email in the request's language (no credential)."""
    from notifications import outbox
    from notifications.templates import compose, request_context

    base = request_context(req)
    people = (("user", req.user_email, base["user_name"]),
              ("authorizer", req.authorizer_email, base["authorizer_name"]))
    for role, email, name in people:
        message = compose(kind, lang=req.language, **base, recipient_role=role, recipient_name=name, **context)
        outbox.enqueue(s, request_id=id_of(req), kind=kind, round=round, recipient_role=role,
                       recipient=email, message=message, lang=req.language)


def _deliver_soon(request_id: int) -> None:
    """Sends the request's pending emails in the background; what fails stays in the outbox and
    the sweeper sends it later."""
    import threading

    from notifications import outbox

    def send() -> None:
        try:
            outbox.deliver(request_id)
        except Exception:  # noqa: BLE001 - held back: the sweeper retries
            pass

    threading.Thread(target=send, name=f"deliver-{request_id}").start()


def _change_access(request_id: int, *, staff: str, reason: str, revoke: bool) -> None:
    if not (reason or "").strip():
        raise ActionError("reason_required")
    reason = reason.strip()
    with session_scope() as s:
        actor = _access_staff(s, staff)
        req = s.get(AccessRequest, request_id)
        if req is None:
            raise ActionError("no_account")
        _check_no_conflict(actor, req)  # nobody revokes or restores an access they are party to
        account = _issued_account(s, request_id)
        if not revoke and account.valid_until is not None and account.valid_until < quebec_today():
            raise ActionError("access_expired")
        # Conditional: of two clicks (or two staff members), one changes the account.
        changed = s.exec(update(Account).where(col(Account.id) == account.id,
                                               col(Account.disabled) == (not revoke)).values(disabled=revoke))
        if changed.rowcount != 1:
            raise ActionError("already_revoked" if revoke else "not_revoked")
        event = AuditEventKind.access_revoked if revoke else AuditEventKind.access_restored
        # The emails' round: this revocation's (or restoration's) number, so revoke, restore and
        # revoke again each tell the people once.
        round = 1 + s.exec(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.request_id == request_id, AuditEvent.event == event.value)).one()
        audit(s, request_id, event, actor=actor.username, account_id=account.id, round=round, reason=reason)
        context: dict[str, Any] = {"reason": reason}
        if not revoke:
            context["valid_until"] = account.valid_until
        _tell_access_change(s, req, event.value, round, **context)
    _deliver_soon(request_id)


@_refusals_recorded(_access_refusal)
def revoke_access(request_id: int, *, staff: str, reason: str) -> None:
    """A respondent or a manager withdraws an issued access, with a reason: the account stops
    working at once (both sign-in paths refuse a disabled account), the change is audited and
    the user and the authorizer are told. Never by a party of the request."""
    _change_access(request_id, staff=staff, reason=reason, revoke=True)


@_refusals_recorded(_access_refusal)
def restore_access(request_id: int, *, staff: str, reason: str) -> None:
    """Undoes a revocation, with a reason, while the access is still within its validity
    (``access_expired`` after: a new request is needed)."""
    _change_access(request_id, staff=staff, reason=reason, revoke=False)


# --- RAMQ staff: a link sent again, another authorizer ------------------------------------------

# The step each link purpose serves, and the status the request is in while that step waits.
LINK_STEPS = {"authorize": (TaskKind.authorizer, RequestStatus.awaiting_authorizer),
              "correct": (TaskKind.correction, RequestStatus.correction_requested)}
# A resent link is not sent again before this: a double click, or two tabs, send one email.
RESEND_INTERVAL = timedelta(seconds=60)


def _waiting_task(s: Session, request_id: int, purpose: str) -> tuple[AccessRequest, HumanTask]:
    """The request and its open task that waits on a link of this purpose (``nothing_to_resend``
    when the request is not at that step; ``task_closed`` when the step was just decided)."""
    kind, status = LINK_STEPS[purpose]
    req = s.get(AccessRequest, request_id)
    if req is None or req.status != status.value:
        raise ActionError("nothing_to_resend")
    task = s.exec(select(HumanTask).where(
        HumanTask.request_id == req.id, HumanTask.kind == kind.value, HumanTask.round == req.revision,
        HumanTask.status == TaskStatus.open.value)).first()
    if task is None:
        raise ActionError("task_closed")
    return req, task


def waiting_link(request_id: int) -> str | None:
    """The purpose of the link the request waits on now (``authorize``, ``correct``), if any:
    what staff may send again (the search screen shows its buttons)."""
    with read_scope() as s:
        for purpose in LINK_STEPS:
            try:
                _waiting_task(s, request_id, purpose)
            except ActionError:
                continue
            return purpose
    return None


def _links_void_from(task: HumanTask) -> datetime:
    """The task's new ``links_valid_from``: the next whole second, so every link signed until
    now (``iat``, whole seconds) is before it, and after the links of a previous resend (signed
    at its ``links_valid_from``, even within the same second)."""
    valid_from = utcnow().replace(microsecond=0) + timedelta(seconds=1)
    if task.links_valid_from is not None:
        valid_from = max(valid_from, task.links_valid_from + timedelta(seconds=1))
    return valid_from


@_refusals_recorded(_access_refusal)
def resend_link(request_id: int, *, staff: str, purpose: str) -> None:
    """A respondent or a manager sends the waiting step's link again (``authorize``: to the
    authorizer; ``correct``: to the user): a new link, and the earlier ones of the step void at
    once (the reminder's too). Audited; never by a party of the request. Of two clicks within
    ``RESEND_INTERVAL`` (two tabs, a double click), one sends: ``link_just_resent``."""
    if purpose not in LINK_STEPS:
        raise ActionError("nothing_to_resend")
    from flows.steps import enqueue_resent_link

    with session_scope() as s:
        actor = _access_staff(s, staff)
        req, task = _waiting_task(s, request_id, purpose)
        _check_no_conflict(actor, req)
        seen = task.links_valid_from
        if seen is not None and seen > utcnow() - RESEND_INTERVAL:
            raise ActionError("link_just_resent")
        valid_from = _links_void_from(task)
        # Only if no other resend got there first (compare and set): the loser sends nothing.
        unchanged = col(HumanTask.links_valid_from).is_(None) if seen is None \
            else col(HumanTask.links_valid_from) == seen
        moved = s.exec(update(HumanTask).where(col(HumanTask.id) == task.id, unchanged,
                                               col(HumanTask.status) == TaskStatus.open.value)
                       .values(links_valid_from=valid_from))
        if moved.rowcount != 1:
            raise ActionError("link_just_resent")
        number = 1 + s.exec(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.request_id == request_id, AuditEvent.event == AuditEventKind.link_resent.value)).one()
        audit(s, request_id, AuditEventKind.link_resent, actor=actor.username, task_id=task.id,
              purpose=purpose, round=number)
        enqueue_resent_link(s, req, task, number=number, now=valid_from)
    _deliver_soon(request_id)


@_refusals_recorded(_access_refusal)
def change_authorizer(request_id: int, *, staff: str, reason: str) -> int:
    """The authorizer named by the user cannot act (left, on leave, wrong person): a respondent
    or a manager, with a reason (required), sends the request back to the user, who names
    another authorizer and signs again (the authorizer named is part of what the user signed:
    the RAMQ never rewrites it). The authorizer's task takes this decision, its links are void
    at once, the former authorizer is told; the flow opens the correction step."""
    if not (reason or "").strip():
        raise ActionError("reason_required")
    with session_scope() as s:
        actor = _access_staff(s, staff)
        req, task = _waiting_task(s, request_id, "authorize")
        _check_no_conflict(actor, req)
        decision_id = record_decision(s, task, outcome=Outcome.reassign_authorizer, reason=reason,
                                      actor=actor.username)
        s.exec(update(HumanTask).where(col(HumanTask.id) == task.id).values(links_valid_from=_links_void_from(task)))
        _tell_reassigned_authorizer(s, req)
        flow_run_id = req.flow_run_id
    runs.resume_soon(decision_id, flow_run_id)
    return decision_id


def _tell_reassigned_authorizer(s: Session, req: AccessRequest) -> None:
    """The authorizer the RAMQ no longer waits for: their link is void, nothing is asked of
    them (the staff's reason is the user's to read, not theirs)."""
    from notifications import outbox
    from notifications.templates import compose, request_context

    context = request_context(req)
    message = compose("authorizer_replaced", lang=req.language, **context,
                      recipient_name=context["authorizer_name"], by_ramq=True)
    outbox.enqueue(s, request_id=id_of(req), kind="authorizer_reassigned", round=req.revision,
                   recipient_role="former_authorizer", recipient=req.authorizer_email, message=message,
                   lang=req.language)


@_refusals_recorded(_link_refusal("renew"))
def renewal_form(token: str) -> dict:
    """The form a renewal link opens: sections 1, 2 and 5 and the authorizer of the old request
    (canonical, as :func:`submit_request` takes it), without the old signature, commitments or
    section 3: the user checks, signs and submits a new request, which the authorizer authorizes
    again. Opening decides nothing and the link is not used up."""
    claims = _claims(token, "renew")
    with session_scope() as s:
        req = s.get(AccessRequest, claims.request_id)
        if req is None:
            raise ActionError("link_invalid")
        data = _canonical(s, req)
    data["user"] = {**data["user"], "signature": None, "commitments_accepted": False}
    data["authorization"] = None
    data["existing_username"] = None
    return data


# --- Cancelling a request before it is approved ------------------------------------------------------

# The user cancels through the link of the confirmation email; RAMQ staff (the roles that may
# revoke an access) with a reason. A cancellation is a decision (``Outcome.cancel``) on the
# request's open step, whichever it is: it takes that task like any decision, so of a cancel and
# an approval racing, exactly one wins; the run then closes the request (``cancelled``) and
# tells the user and the authorizer.
CANCEL_ROLES = ACCESS_ROLES
USER_ACTOR = USER
# Approved for good (credentials are issued or being issued): too late to cancel.
_APPROVED_STATUSES = (RequestStatus.issuing_credentials, RequestStatus.completed)


@dataclass(frozen=True)
class CancelView:
    """What the cancel link shows: the reference and the state, no personal data. ``refusal``:
    the code a cancellation would get now (None: it may be cancelled)."""

    reference: str
    status: str
    refusal: str | None


def _open_task_of(s: Session, request_id: int) -> HumanTask | None:
    return s.exec(select(HumanTask).where(HumanTask.request_id == request_id,
                                          HumanTask.status == TaskStatus.open.value)
                  .order_by(col(HumanTask.id).desc())).first()


def _cancel_refusal(s: Session, req: AccessRequest) -> str | None:
    """Why this request cannot be cancelled now (an ActionError code), or None if its open step
    can take the cancellation. Between two steps (a decision taken, the next step not open
    yet) the last decision tells: one that closes the request (``already_closed``), an approval
    that needs nothing more (``too_late_to_cancel``), else ``cancel_retry_later``."""
    if req.status in _APPROVED_STATUSES:
        return "too_late_to_cancel"
    if req.status in FINAL_STATUSES:
        return "already_closed"
    if _open_task_of(s, id_of(req)) is not None:
        return None
    last = s.exec(select(Decision.outcome, HumanTask.kind).join(HumanTask, col(Decision.task_id) == col(HumanTask.id))
                  .where(Decision.request_id == req.id).order_by(col(Decision.id).desc())).first()
    if last is None:
        return "cancel_retry_later"  # the run has not opened the first step yet
    outcome, kind = last
    if outcome in (Outcome.cancel, Outcome.expire) or (
            outcome == Outcome.refuse and kind in (TaskKind.authorizer, TaskKind.respondent)):
        return "already_closed"
    if outcome == Outcome.countersign or (outcome == Outcome.approve and not get_settings().countersign):
        return "too_late_to_cancel"
    return "cancel_retry_later"


def _cancel(s: Session, req: AccessRequest, *, actor: str, reason: str | None) -> int:
    """Records the cancellation on the request's open step (one transaction, the caller's)."""
    refusal = _cancel_refusal(s, req)
    if refusal is not None:
        raise ActionError(refusal)
    task = not_null(_open_task_of(s, id_of(req)))
    reason = (reason or "").strip() or None
    try:
        return record_decision(s, task, outcome=Outcome.cancel, reason=reason, actor=actor, cancel_reason=reason)
    except ActionError:  # the step was decided an instant before: what stands now
        s.refresh(req)
        raise ActionError(_cancel_refusal(s, req) or "cancel_retry_later") from None


@_refusals_recorded(_access_refusal)
def cancel_request(request_id: int, *, staff: str, reason: str) -> int:
    """RAMQ staff (a respondent, a manager or an operator) cancel a request that is not approved
    yet, with a reason (told to the user and the authorizer). Never by a party of the request.
    Refused once credentials are issued (``too_late_to_cancel``) or the request is closed
    (``already_closed``)."""
    if not (reason or "").strip():
        raise ActionError("reason_required")
    with session_scope() as s:
        account = _access_staff(s, staff)
        req = s.get(AccessRequest, request_id)
        if req is None:
            raise ActionError("request_not_found")
        _check_no_conflict(account, req)
        decision_id = _cancel(s, req, actor=account.username, reason=reason)
        flow_run_id = req.flow_run_id
    runs.resume_soon(decision_id, flow_run_id)
    return decision_id


@_refusals_recorded(_link_refusal("cancel"))
def open_cancel_link(token: str) -> CancelView:
    """What the cancel link opens: the request's reference and state, and whether it can still
    be cancelled. Opening changes nothing (mail scanners prefetch links)."""
    claims = _claims(token, "cancel")
    with session_scope() as s:
        req = s.get(AccessRequest, claims.request_id)
        if req is None:
            raise ActionError("link_invalid")
        return CancelView(not_null(req.reference), req.status, _cancel_refusal(s, req))


@_refusals_recorded(_link_refusal("cancel"))
def cancel_by_user(token: str, reason: str | None = None) -> int:
    """The user cancels their request from the link of the confirmation email (the reason is
    optional). The link works until the request is approved or closed; a second cancellation is
    refused (``already_closed``)."""
    claims = _claims(token, "cancel")
    with session_scope() as s:
        req = s.get(AccessRequest, claims.request_id)
        if req is None:
            raise ActionError("link_invalid")
        decision_id = _cancel(s, req, actor=USER_ACTOR, reason=reason)
        flow_run_id = req.flow_run_id
    runs.resume_soon(decision_id, flow_run_id)
    return decision_id
