"""The managers' history (« Suivi des demandes »), read-only: how long each step takes, what
came of each week's requests, what work is open and how old, what is overdue or stale, and
every request page by page. Every figure is computed by the database (GROUP BY, durations in
SQL); only the median and 90th percentile are taken in Python on SQLite, which has no
``percentile_cont``, from one query giving each step's durations as one text (PostgreSQL
computes them itself). Prefect is never read here: the run states of the requests shown come
from :mod:`flows.prefect_states`, for one page of ids at a time.

The steps of a request and the audit events that mark them (the last of each, so a request
sent back for correction is measured on the round that went through):

- ``submitted``: ``submitted``, or a resubmission after a correction (``resubmitted``,
  ``correction_resubmit``);
- ``authorized``: ``authorizer_authorize`` (section 3 signed);
- ``reviewed``: the respondent's decision (``respondent_approve``, ``_refuse``, ``_send_back``);
- ``countersigned``: ``countersign_countersign`` (the SOES);
- ``credentials_sent``: ``password_sent``.

A step's duration is the time from the previous mark to its own, for the requests that have
both (a negative one, from a later round's resubmission, is left out). ``total`` runs from the
first submission to the credentials sent.

Filters (:class:`HistoryFilter`) select requests: created in the period, in one of the states,
of one of the organization types, with an open task of one of the steps, with an overdue open
task, whose reference contains a text. Every figure below is over the requests selected.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Integer, and_, case, cast, exists, func, literal, select, true
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from models.db import read_scope
from models.enums import FINAL_STATUSES, AuditEventKind, TaskKind, TaskStatus
from models.settings import get_settings
from models.tables import AccessRequest, AuditEvent, HumanTask, RequestStepTime, utcnow

STEPS = ("authorized", "reviewed", "countersigned", "credentials_sent")  # each from the previous mark
DURATIONS = (*STEPS, "total")
MARKS: dict[str, tuple[str, ...]] = {
    "submitted": (AuditEventKind.submitted, AuditEventKind.resubmitted, AuditEventKind.correction_resubmit),
    "authorized": (AuditEventKind.authorizer_authorize,),
    "reviewed": (AuditEventKind.respondent_approve, AuditEventKind.respondent_refuse,
                 AuditEventKind.respondent_send_back),
    "countersigned": (AuditEventKind.countersign_countersign,),
    "credentials_sent": (AuditEventKind.password_sent,),
}
AGE_BUCKETS = ("lt_1d", "1_3d", "3_7d", "7_14d", "ge_14d")  # an open task's age, youngest first
_AGE_LIMITS = ((1, "lt_1d"), (3, "1_3d"), (7, "3_7d"), (14, "7_14d"))
OPEN = "open"  # the outcome of a request not closed yet (weekly volume)
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class HistoryFilter:
    start: datetime | None = None  # created at or after
    end: datetime | None = None  # created before
    statuses: Sequence[str] = ()
    organization_types: Sequence[str] = ()
    steps: Sequence[str] = ()  # TaskKind values: requests with an open task of one of them
    overdue_only: bool = False
    reference_contains: str = ""
    now: datetime | None = None  # "now" for overdue, ages and staleness (tests pin it)

    def at(self) -> datetime:
        return self.now or utcnow()


def _open_task(*conditions: Callable[[Any], ColumnElement[bool]]) -> ColumnElement[bool]:
    """The request has an open task meeting ``conditions`` (each given the tasks' table): one
    uncorrelated subquery over the open tasks (a few thousand), not a probe per request.
    Correlated, SQLite's planner (without statistics on ranges) probed the queue index for each
    of 100,000 requests: minutes for the filtered list. The tasks are an alias of their own, so
    the subquery stays uncorrelated inside a query over the tasks (:func:`_of_selected_request`)."""
    task = aliased(HumanTask)
    return col(AccessRequest.id).in_(select(col(task.request_id)).where(
        col(task.status) == TaskStatus.open.value, *(condition(task) for condition in conditions)))


def _request_conditions(f: HistoryFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.start is not None:
        conds.append(col(AccessRequest.created_at) >= f.start)
    if f.end is not None:
        conds.append(col(AccessRequest.created_at) < f.end)
    if wanted := [s for s in f.statuses if s]:
        conds.append(col(AccessRequest.status).in_(wanted))
    if orgs := [o for o in f.organization_types if o]:
        conds.append(col(AccessRequest.organization_type).in_(orgs))
    if steps := [k for k in f.steps if k]:
        conds.append(_open_task(lambda t: col(t.kind).in_(steps)))
    if f.overdue_only:
        now = f.at()
        conds.append(_open_task(lambda t: col(t.due_at).is_not(None), lambda t: col(t.due_at) < now))
    if ref := (f.reference_contains or "").strip().upper():
        conds.append(col(AccessRequest.reference).contains(ref, autoescape=True))
    return conds


def _selected_ids(f: HistoryFilter):
    return select(col(AccessRequest.id)).where(*_request_conditions(f))


def _of_selected_request(f: HistoryFilter) -> ColumnElement[bool]:
    """A task's request is selected: asked per open task (a few thousand, each request found by
    its primary key), not by building the list of every selected request first (100,000 ids
    for a whole year: 0.13 s on SQLite before the open work and the overdue counts could begin)."""
    conds = _request_conditions(f)
    if not conds:
        return true()
    return exists().where(col(AccessRequest.id) == col(HumanTask.request_id), *conds)


def _dialect(s) -> str:
    return s.get_bind().dialect.name


# --- Step durations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepStats:
    step: str
    count: int
    median_s: float | None
    p90_s: float | None


def _duration_columns(f: HistoryFilter):
    """One row per selected request that has a mark: its step durations in seconds (NULL when
    a mark is missing or the step ran backwards). The marks come from ``request_step_time``,
    which the database keeps as the events are written (migration 0011): grouping every
    request's audit events took about a second on SQLite for 100,000 requests."""
    t = RequestStepTime.__table__.c  # type: ignore[attr-defined]
    per_request = (select(t.request_id, *(t[name] for name in MARKS), t.first_submitted)
                   .where(t.request_id.in_(_selected_ids(f))).subquery())
    c = per_request.c
    order = ["submitted", *STEPS]
    columns = []
    for previous, step in zip(order, order[1:], strict=False):
        columns.append(case((c[step] >= c[previous], c[step] - c[previous])).label(step))
    columns.append(case((c.credentials_sent >= c.first_submitted,
                         c.credentials_sent - c.first_submitted)).label("total"))
    return columns, per_request


def _interpolated_quantiles(ordered: Sequence[float]) -> tuple[float | None, float | None]:
    """Median and 90th percentile of sorted values, interpolated as PostgreSQL's
    ``percentile_cont`` does."""
    if not ordered:
        return None, None
    return _interpolated(ordered, 0.5), _interpolated(ordered, 0.9)


def _interpolated(ordered: Sequence[float], fraction: float) -> float:
    position = fraction * (len(ordered) - 1)
    below = int(position)
    if below + 1 >= len(ordered):
        return ordered[below]
    return ordered[below] + (ordered[below + 1] - ordered[below]) * (position - below)


def step_durations(f: HistoryFilter) -> list[StepStats]:
    """Per step (and ``total``): how many requests went through it, its median and 90th
    percentile in seconds."""
    with read_scope() as s:
        dialect = _dialect(s)
        columns, per_request = _duration_columns(f)
        if dialect == "postgresql":
            aggregates = []
            for c in columns:
                aggregates += [func.count(c), func.percentile_cont(0.5).within_group(c),
                               func.percentile_cont(0.9).within_group(c)]
            row = s.execute(select(*aggregates).select_from(per_request)).one()
            return [StepStats(name, int(row[3 * i]), _float(row[3 * i + 1]), _float(row[3 * i + 2]))
                    for i, name in enumerate(DURATIONS)]
        # SQLite has no percentile_cont: each step's durations come back as one text, the
        # values separated by commas (group_concat leaves the NULLs out). 100,000 requests'
        # durations are read in 0.14 s so, where as many rows took 0.4 s through SQLAlchemy.
        # They are whole milliseconds: a float is written with 15 digits and parsed back, an
        # integer at a fraction of the cost (0.27 s of CPU for a year of 100,000 requests
        # became 0.18 s).
        durations = select(*columns).select_from(per_request).subquery()
        texts = s.execute(select(*(func.group_concat(cast(func.round(durations.c[name] * 1000), Integer))
                                   for name in DURATIONS))).one()
    out = []
    for name, text in zip(DURATIONS, texts, strict=True):
        values = sorted(map(int, text.split(","))) if text else []
        median, p90 = _interpolated_quantiles(values)
        out.append(StepStats(name, len(values), _seconds(median), _seconds(p90)))
    return out


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else ms / 1000


def _float(value) -> float | None:
    return None if value is None else float(value)


def request_durations(f: HistoryFilter) -> list[dict]:
    """Each selected request's step durations in seconds (the CSV of the durations; tests)."""
    with read_scope() as s:
        columns, per_request = _duration_columns(f)
        ref = select(col(AccessRequest.reference)).where(
            col(AccessRequest.id) == per_request.c.request_id).scalar_subquery()
        rows = s.execute(select(ref.label("reference"), *columns).select_from(per_request)
                         .order_by(per_request.c.request_id)).all()
    return [dict(r._mapping) for r in rows]


# --- Weekly volume by outcome --------------------------------------------------------------------


def weekly_outcomes(f: HistoryFilter) -> list[dict]:
    """``{"week": Monday, "outcome": final status or "open", "count"}``: the selected requests
    by the week (UTC) they were submitted and what came of them."""
    final = [x.value for x in FINAL_STATUSES]
    outcome = case((col(AccessRequest.status).in_(final), col(AccessRequest.status)),
                   else_=literal(OPEN)).label("outcome")
    with read_scope() as s:
        if _dialect(s) == "postgresql":
            week = cast(func.date_trunc("week", func.timezone("UTC", col(AccessRequest.created_at))), Date)
            rows = s.execute(select(week.label("week"), outcome, func.count())
                             .where(*_request_conditions(f)).group_by(week, outcome)).all()
        else:
            # By day, from the stored text's first ten characters (« 2026-03-14 … », UTC), then
            # folded into weeks below (a few thousand rows at most): no date parsed per request.
            # Parsed per request (date(created_at, 'weekday 0', '-6 days')), a whole year of
            # 100,000 requests took 0.26 s.
            day = func.substr(col(AccessRequest.created_at), 1, 10).label("day")
            rows = s.execute(select(day, outcome, func.count())
                             .where(*_request_conditions(f)).group_by(day, outcome)).all()
    counts: Counter[tuple[date, str]] = Counter()
    for when, what, n in rows:
        on = when if isinstance(when, date) else date.fromisoformat(str(when)[:10])
        counts[(on - timedelta(days=on.weekday()), str(what))] += int(n)
    return [{"week": w, "outcome": o, "count": n} for (w, o), n in sorted(counts.items())]


# --- Open work -----------------------------------------------------------------------------------


def open_work_by_age(f: HistoryFilter) -> list[dict]:
    """``{"step", "age", "count"}``: the selected requests' open tasks by kind and age bucket
    (:data:`AGE_BUCKETS`, from the task's creation)."""
    now = f.at()
    age = case(*[(col(HumanTask.created_at) >= now - timedelta(days=d), literal(name))
                 for d, name in _AGE_LIMITS], else_=literal("ge_14d")).label("age")
    stmt = (select(col(HumanTask.kind), age, func.count())
            .where(col(HumanTask.status) == TaskStatus.open.value, _of_selected_request(f))
            .group_by(col(HumanTask.kind), age))
    with read_scope() as s:
        rows = s.execute(stmt).all()
    order = {k.value: i for i, k in enumerate(TaskKind)}
    return sorted(({"step": k, "age": a, "count": int(n)} for k, a, n in rows),
                  key=lambda r: (order.get(r["step"], 99), AGE_BUCKETS.index(r["age"])))


def overdue_and_stale(f: HistoryFilter) -> dict[str, dict[str, int]]:
    """Per task kind: open tasks, overdue ones (past their due date) and stale ones (claimed and
    untouched for ``RAMQ_STALE_CLAIM_HOURS``: the rule of ``models.queries.is_stale``)."""
    now = f.at()
    stale_before = now - timedelta(hours=get_settings().stale_claim_hours)
    overdue = and_(col(HumanTask.due_at).is_not(None), col(HumanTask.due_at) < now)
    stale = and_(col(HumanTask.claimed_by).is_not(None), col(HumanTask.claimed_at).is_not(None),
                 col(HumanTask.claimed_at) < stale_before)
    stmt = (select(col(HumanTask.kind), func.count(),
                   func.sum(case((overdue, 1), else_=0)), func.sum(case((stale, 1), else_=0)))
            .where(col(HumanTask.status) == TaskStatus.open.value, _of_selected_request(f))
            .group_by(col(HumanTask.kind)))
    result = {k.value: {"open": 0, "overdue": 0, "stale": 0} for k in TaskKind}
    with read_scope() as s:
        for kind, n, late, idle in s.execute(stmt).all():
            result[kind] = {"open": int(n), "overdue": int(late or 0), "stale": int(idle or 0)}
    return result


# --- Every request, page by page -----------------------------------------------------------------


@dataclass(frozen=True)
class HistoryRow:
    request_id: int
    reference: str
    status: str
    organization_type: str
    created_at: datetime
    closed_at: datetime | None
    current_step: str | None  # the kind of its open task, if any
    overdue: bool
    flow_run_id: str | None
    run_stuck_at: datetime | None = None


@dataclass(frozen=True)
class HistoryPage:
    rows: list[HistoryRow] = field(default_factory=list)
    total: int = 0
    page: int = 1
    page_size: int = 50

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def requests_page(f: HistoryFilter, *, page: int = 1, page_size: int = 50) -> HistoryPage:
    """One page of the selected requests, the most recent first, with the total count (no cap:
    every request is on some page)."""
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    now = f.at()
    conds = _request_conditions(f)
    current = (select(col(HumanTask.kind)).where(col(HumanTask.request_id) == col(AccessRequest.id),
                                                 col(HumanTask.status) == TaskStatus.open.value)
               .order_by(col(HumanTask.id).desc()).limit(1).scalar_subquery())
    # Per row of the page (50 at most): asked per request, through the request's own tasks.
    late = exists().where(col(HumanTask.request_id) == col(AccessRequest.id),
                          col(HumanTask.status) == TaskStatus.open.value,
                          col(HumanTask.due_at).is_not(None), col(HumanTask.due_at) < now)
    with read_scope() as s:
        total = int(s.execute(select(func.count()).select_from(AccessRequest).where(*conds)).scalar_one())
        pages = max(1, -(-total // page_size))
        page = max(1, min(int(page), pages))
        # The page's ids first (sorted and cut in the database), then their details: the
        # per-row subqueries run for the page's requests only, not for every row skipped.
        ids = (select(col(AccessRequest.id)).where(*conds)
               .order_by(col(AccessRequest.created_at).desc(), col(AccessRequest.id).desc())
               .offset((page - 1) * page_size).limit(page_size).subquery())
        rows = s.execute(
            select(col(AccessRequest.id), col(AccessRequest.reference), col(AccessRequest.status),
                   col(AccessRequest.organization_type), col(AccessRequest.created_at),
                   col(AccessRequest.closed_at), current.label("step"), late.label("late"),
                   col(AccessRequest.flow_run_id), col(AccessRequest.run_stuck_at))
            .join(ids, ids.c.id == col(AccessRequest.id))
            .order_by(col(AccessRequest.created_at).desc(), col(AccessRequest.id).desc())).all()
    return HistoryPage(rows=[HistoryRow(request_id=r[0], reference=r[1] or "", status=r[2],
                                        organization_type=r[3], created_at=r[4], closed_at=r[5],
                                        current_step=r[6], overdue=bool(r[7]), flow_run_id=r[8],
                                        run_stuck_at=r[9]) for r in rows],
                       total=total, page=page, page_size=page_size)


def last_events(request_ids: Sequence[int]) -> dict[int, tuple[str, datetime]]:
    """``{request_id: (event, at)}``: the latest audit event of each of these requests (one
    page's worth)."""
    ids = list(request_ids)
    if not ids:
        return {}
    latest = (select(func.max(col(AuditEvent.id))).where(col(AuditEvent.request_id).in_(ids))
              .group_by(col(AuditEvent.request_id)))
    with read_scope() as s:
        rows = s.execute(select(col(AuditEvent.request_id), col(AuditEvent.event), col(AuditEvent.at))
                         .where(col(AuditEvent.id).in_(latest))).all()
    return {rid: (event, at) for rid, event, at in rows}


def with_open_task(request_ids: Sequence[int]) -> set[int]:
    """Which of these requests have an open human task (a paused run without one waits for
    nobody)."""
    ids = list(request_ids)
    found: set[int] = set()
    with read_scope() as s:
        for lo in range(0, len(ids), 1000):
            found.update(s.execute(select(col(HumanTask.request_id)).distinct().where(
                col(HumanTask.request_id).in_(ids[lo:lo + 1000]),
                col(HumanTask.status) == TaskStatus.open.value)).scalars())
    return found
