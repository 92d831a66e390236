"""The words of the domain, one enum each: request and task statuses, task kinds, decision
outcomes, audit events, email statuses, account kinds.

Every enum is a ``StrEnum``: a member *is* its string (``TaskKind.authorizer == "authorizer"``,
``f"{TaskKind.authorizer}" == "authorizer"``), so the database stores and compares the same
text as before and a value read back from a column compares equal to its member.
"""

from __future__ import annotations

from enum import StrEnum


class RequestStatus(StrEnum):
    awaiting_authorizer = "awaiting_authorizer"
    awaiting_respondent = "awaiting_respondent"
    awaiting_countersign = "awaiting_countersign"
    correction_requested = "correction_requested"
    issuing_credentials = "issuing_credentials"
    completed = "completed"
    refused_by_authorizer = "refused_by_authorizer"
    refused_by_ramq = "refused_by_ramq"
    expired = "expired"
    cancelled = "cancelled"


FINAL_STATUSES = frozenset({
    RequestStatus.completed,
    RequestStatus.refused_by_authorizer,
    RequestStatus.refused_by_ramq,
    RequestStatus.expired,
    RequestStatus.cancelled,
})


class TaskKind(StrEnum):
    """The steps that wait for a person."""

    authorizer = "authorizer"  # section 3, through a signed link
    respondent = "respondent"  # section 4, a RAMQ clerk
    countersign = "countersign"  # section 4, the SOES countersigns the respondent's approval
    correction = "correction"  # the user corrects a request sent back


class TaskStatus(StrEnum):
    open = "open"
    done = "done"
    expired = "expired"
    cancelled = "cancelled"


class Outcome(StrEnum):
    """What a decision on a task says (``Decision.outcome``)."""

    authorize = "authorize"  # authorizer
    refuse = "refuse"  # authorizer or respondent
    approve = "approve"  # respondent
    countersign = "countersign"  # SOES: section 4 countersigned (refuse: back to the respondent)
    send_back = "send_back"  # respondent: back to the user for correction
    resubmit = "resubmit"  # correction
    expire = "expire"  # the sweeper, past the task's deadline
    cancel = "cancel"  # any open step: the user (cancel link) or RAMQ staff (with a reason) cancels
    reassign_authorizer = "reassign_authorizer"  # RAMQ staff: the user names another authorizer


class AuditEventKind(StrEnum):
    """Every event written to a request's audit history (``AuditEvent.event``)."""

    submitted = "submitted"
    resubmitted = "resubmitted"
    flow_started = "flow_started"
    # A task opened: <task kind>_task_opened
    authorizer_task_opened = "authorizer_task_opened"
    respondent_task_opened = "respondent_task_opened"
    correction_task_opened = "correction_task_opened"
    # A decision: <task kind>_<outcome>
    authorizer_authorize = "authorizer_authorize"
    authorizer_refuse = "authorizer_refuse"
    authorizer_expire = "authorizer_expire"
    respondent_approve = "respondent_approve"
    respondent_refuse = "respondent_refuse"
    respondent_send_back = "respondent_send_back"
    countersign_task_opened = "countersign_task_opened"
    countersign_countersign = "countersign_countersign"
    countersign_refuse = "countersign_refuse"
    countersign_expire = "countersign_expire"
    correction_resubmit = "correction_resubmit"
    correction_expire = "correction_expire"
    claimed = "claimed"
    unclaimed = "unclaimed"
    released = "released"  # a manager put back in the queue a task someone else had claimed
    reassigned = "reassigned"  # a manager gave a claimed task to another person
    password_sent = "password_sent"
    completed = "completed"
    closed = "closed"
    authorizer_reminded = "authorizer_reminded"
    authorizer_changed = "authorizer_changed"
    run_restarted = "run_restarted"
    recovery_abandoned = "recovery_abandoned"
    access_revoked = "access_revoked"  # the issued account disabled by RAMQ staff, with a reason
    access_restored = "access_restored"  # a revoked account enabled again, with a reason
    expiry_notified = "expiry_notified"  # the user and the authorizer told the access ends soon
    password_reset = "password_reset"  # « Mot de passe oublié ? »: a new temporary password set and emailed
    purged = "purged"  # the retention purge anonymized the closed request (models/retention.py)
    correction_reminded = "correction_reminded"  # the user reminded of a pending correction
    # The request cancelled (by the user or RAMQ staff) while this step was open
    authorizer_cancel = "authorizer_cancel"
    respondent_cancel = "respondent_cancel"
    countersign_cancel = "countersign_cancel"
    correction_cancel = "correction_cancel"
    link_resent = "link_resent"  # RAMQ staff sent a step's link again: the earlier links of the step are void
    authorizer_reassign_authorizer = "authorizer_reassign_authorizer"  # RAMQ staff: another authorizer needed

    @classmethod
    def task_opened(cls, kind: TaskKind | str) -> AuditEventKind:
        """The event of a task of this kind being opened."""
        return cls(f"{TaskKind(kind)}_task_opened")

    @classmethod
    def decision(cls, kind: TaskKind | str, outcome: Outcome | str) -> AuditEventKind:
        """The event of a decision with this outcome on a task of this kind (ValueError for a
        pair no step takes, such as an authorizer who approves)."""
        return cls(f"{TaskKind(kind)}_{Outcome(outcome)}")


class SignerRole(StrEnum):
    """Who signs which section of the form (``Signature.role``)."""

    user = "user"  # section 2
    authorizer = "authorizer"  # section 3
    respondent = "respondent"  # section 4, the RAMQ respondent who approves
    soes = "soes"  # section 4, the RAMQ countersignature


class SignatureVerdict(StrEnum):
    """What ``verify`` says of one signature."""

    intact = "intact"  # the record still holds exactly what was signed
    superseded = "superseded"  # intact, and a later signature of the same role replaced it
    altered = "altered"  # the record or the signature changed after signing
    purged = "purged"  # its content removed by the retention purge; metadata and hash kept


class EmailStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"


class AccountKind(StrEnum):
    staff = "staff"
    issued = "issued"
