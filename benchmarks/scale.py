"""Scale at rest (issue 12, item 4): 100,000 requests, 5,000 of their tasks open, on SQLite and
on PostgreSQL; p95 of the respondents' and the SOES's queues, the managers' aggregates and the
search. Each backend gets a throwaway database migrated to the revision before the indexes
(:data:`INDEX_REVISION`), seeded by bulk inserts, measured (the baseline: no index, the step
durations grouped from the audit events, the search's former column-by-column query), then
upgraded to head and measured again (ours), in the same command.

    .venv/bin/python -m benchmarks.scale [--quick] [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]

PostgreSQL is measured when ``--pg-url`` or ``RAMQ_BENCH_PG_URL`` names a server where a
database may be created (and dropped afterwards). Figures are never asserted by tests.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

# The migration that adds what this benchmark measures: the baseline runs at its parent.
INDEX_REVISION = "0011"
QUEUE_TARGET_MS = 50.0
SEARCH_TARGET_MS = 50.0
AGGREGATE_TARGET_MS = 300.0
# Words a RAMQ employee types: a surname (about 20 requests), a first name and a surname, an
# authorizer's email, an establishment number, a reference's tail, a name nobody has.
SEARCH_TERMS = ("NOM4321", "prenom7 nom1234", "autorise123@", "10427", "-004242", "ZZQXW")


def _people(i: int) -> dict:
    """Request ``i``'s people: 5,000 surnames, 97 first names, 3,000 authorizers, 20,000
    establishments (the bench's seed gives everyone the same otherwise)."""
    return {"user_last_name": f"NOM{i % 5000}", "user_first_name": f"PRENOM{i % 97}",
            "user_email": f"u{i}@exemple.qc.ca", "authorizer_email": f"autorise{i % 3000}@exemple.qc.ca",
            "authorizer_last_name": f"AUTO{i % 3000}", "establishment_number": f"{10000 + i % 20000:05d}"[-5:]}


def _p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20, method="inclusive")[18] if len(times) > 1 else times[0]


def _time(fn: Callable[[], object], repeat: int, cpu: list[float]) -> list[float]:
    """Wall times in ms; this process's CPU times go to ``cpu`` (SQLite's whole work, a shared
    machine's load left out; for PostgreSQL only the client's part)."""
    fn()  # warm: the first run pays the statement compilation and the page cache
    out = []
    for _ in range(repeat):
        started, used = time.perf_counter(), time.process_time()
        fn()
        out.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - used) * 1000)
    return out


# --- The queries as they were before migration 0011 (the baseline) ------------------------------


def former_step_durations(f) -> list:
    """models.history.step_durations before migration 0011: the marks grouped from every
    selected request's audit events."""
    from sqlalchemy import Float, case, cast, func, select
    from sqlmodel import col

    from models.db import read_scope
    from models.enums import AuditEventKind
    from models.history import DURATIONS, MARKS, STEPS, StepStats, _interpolated_quantiles, _selected_ids
    from models.tables import AuditEvent

    with read_scope() as s:
        dialect = s.get_bind().dialect.name
        event = col(AuditEvent.event)
        at = col(AuditEvent.at) if dialect == "postgresql" else func.julianday(col(AuditEvent.at))
        marks = [func.max(case((event.in_([str(e) for e in kinds]), at))).label(name)
                 for name, kinds in MARKS.items()]
        first = func.min(case((event == AuditEventKind.submitted.value, at))).label("first_submitted")
        per_request = (select(col(AuditEvent.request_id), *marks, first)
                       .where(col(AuditEvent.request_id).in_(_selected_ids(f)),
                              event.in_([str(e) for kinds in MARKS.values() for e in kinds]))
                       .group_by(col(AuditEvent.request_id)).subquery())
        c = per_request.c

        def seconds(later, earlier):
            if dialect == "postgresql":
                return cast(func.extract("epoch", later - earlier), Float)
            return (later - earlier) * 86400.0

        order = ["submitted", *STEPS]
        columns = [case((c[step] >= c[prev], seconds(c[step], c[prev]))).label(step)
                   for prev, step in zip(order, order[1:], strict=False)]
        columns.append(case((c.credentials_sent >= c.first_submitted,
                             seconds(c.credentials_sent, c.first_submitted))).label("total"))
        if dialect == "postgresql":
            aggregates = []
            for column in columns:
                aggregates += [func.count(column), func.percentile_cont(0.5).within_group(column),
                               func.percentile_cont(0.9).within_group(column)]
            row = s.execute(select(*aggregates).select_from(per_request)).one()
            return [StepStats(name, int(row[3 * i]), row[3 * i + 1], row[3 * i + 2])
                    for i, name in enumerate(DURATIONS)]
        rows = s.execute(select(*columns).select_from(per_request)).all()
    return [StepStats(name, len(v), *_interpolated_quantiles(sorted(v)))
            for i, name in enumerate(DURATIONS) for v in [[float(r[i]) for r in rows if r[i] is not None]]]


def former_search(text: str, limit: int = 50) -> list:
    """models.queries.search_requests before migration 0011: each column compared on its own."""
    from sqlalchemy import or_
    from sqlmodel import col, select

    from models.db import read_scope
    from models.tables import AccessRequest

    words = [w for w in text.split() if w][:5]
    names = (AccessRequest.user_first_name, AccessRequest.user_last_name,
             AccessRequest.authorizer_first_name, AccessRequest.authorizer_last_name)
    stmt = select(AccessRequest)
    for word in words:
        stmt = stmt.where(or_(
            col(AccessRequest.reference).contains(word.upper(), autoescape=True),
            col(AccessRequest.establishment_number).contains(word, autoescape=True),
            col(AccessRequest.user_email).contains(word.lower(), autoescape=True),
            col(AccessRequest.authorizer_email).contains(word.lower(), autoescape=True),
            *(col(name).contains(word.upper(), autoescape=True) for name in names)))
    stmt = stmt.order_by(col(AccessRequest.created_at).desc(), col(AccessRequest.id).desc()).limit(limit)
    with read_scope() as s:
        return [r.id for r in s.exec(stmt).all()]


# --- One backend ------------------------------------------------------------------------------------


def _shape(n_open: int) -> None:
    """Leaves ``n_open`` tasks open (the first ones) and gives every decided step its closed
    task, as a year of work leaves the table (``round`` made unique per event)."""
    from sqlalchemy import text

    from models.db import session_scope

    with session_scope() as s:
        cut = s.execute(text("SELECT id FROM human_task WHERE status = 'open' ORDER BY id "
                             "LIMIT 1 OFFSET :n"), {"n": n_open}).scalar()
        if cut is not None:
            s.execute(text("UPDATE human_task SET status = 'done', closed_at = created_at "
                           "WHERE status = 'open' AND id >= :cut"), {"cut": cut})
        s.execute(text(
            "INSERT INTO human_task (request_id, kind, round, attempt, status, created_at, closed_at, "
            "reminders_sent) SELECT request_id, CASE WHEN event LIKE 'authorizer%' THEN 'authorizer' "
            "WHEN event LIKE 'respondent%' THEN 'respondent' ELSE 'countersign' END, 1000000 + id, 1, "
            "'done', at, at, 0 FROM audit_event WHERE event IN ('authorizer_authorize', "
            "'authorizer_refuse', 'respondent_approve', 'respondent_refuse', 'respondent_send_back', "
            "'countersign_countersign')"))


def _analyze(dialect: str) -> None:
    """PostgreSQL: what autovacuum does soon after a bulk load (fresh statistics). SQLite is
    left as an application leaves it (no ANALYZE)."""
    if dialect != "postgresql":
        return
    from sqlalchemy import text

    from models.db import get_engine

    with get_engine().connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def _measures(seeded, *, before: bool) -> dict[str, tuple[str, float, Callable[[], object] | list]]:
    """measure → (kind, target ms, what to time). ``before``: the former step durations and search."""
    from models.history import (
        HistoryFilter,
        open_work_by_age,
        overdue_and_stale,
        requests_page,
        step_durations,
        weekly_outcomes,
    )
    from models.queries import list_countersign_queue, list_queue, search_requests

    period = HistoryFilter(start=seeded.start, end=seeded.end, now=seeded.end)
    now = seeded.end
    durations = former_step_durations if before else step_durations
    search = former_search if before else search_requests
    return {
        "queue: respondents (500 rows)": ("queue", QUEUE_TARGET_MS, lambda: list_queue(now=now)),
        "queue: respondents, oldest first, gmf, overdue": ("queue", QUEUE_TARGET_MS, lambda: list_queue(
            now=now, organization_types=["gmf"], overdue_only=True, sort="created_at")),
        "queue: countersign": ("queue", QUEUE_TARGET_MS, lambda: list_countersign_queue(now=now)),
        "history: step durations": ("aggregate", AGGREGATE_TARGET_MS, lambda: durations(period)),
        "history: weekly outcomes": ("aggregate", AGGREGATE_TARGET_MS, lambda: weekly_outcomes(period)),
        "history: open work by age": ("aggregate", AGGREGATE_TARGET_MS, lambda: open_work_by_age(period)),
        "history: overdue and stale": ("aggregate", AGGREGATE_TARGET_MS, lambda: overdue_and_stale(period)),
        "history: one page of the list": ("aggregate", AGGREGATE_TARGET_MS,
                                          lambda: requests_page(period, page=1, page_size=50)),
        "search": ("search", SEARCH_TARGET_MS, [lambda t=t: search(t) for t in SEARCH_TERMS]),
    }


def _measure_all(seeded, *, before: bool, repeat: int) -> dict[str, dict]:
    out = {}
    for name, (kind, target, what) in _measures(seeded, before=before).items():
        cpu: list[float] = []
        if isinstance(what, list):  # the search: every term, p95 over them all
            times = [t for fn in what for t in _time(fn, max(3, repeat // 2), cpu)]
        else:
            times = _time(what, repeat, cpu)
        out[name] = {"kind": kind, "target_ms": target, "p95_ms": _p95(times),
                     "median_ms": statistics.median(times), "runs": len(times),
                     "cpu_p95_ms": _p95(cpu), "cpu_median_ms": statistics.median(cpu),
                     "load_average": os.getloadavg()[0]}
    return out


def _run_backend(label: str, n: int, n_open: int, repeat: int) -> dict:
    from alembic import command
    from alembic.script import ScriptDirectory

    from benchmarks.history import seed
    from models import db as models_db

    cfg = models_db.alembic_config()
    parent = ScriptDirectory.from_config(cfg).get_revision(INDEX_REVISION).down_revision
    with models_db.get_engine().begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, str(parent))
    started = time.perf_counter()
    seeded = seed(n, start=datetime(2025, 1, 1, tzinfo=UTC), people=_people)
    _shape(n_open)
    seed_s = time.perf_counter() - started
    _analyze(label)
    print(f"[{label}] seeded {n} requests ({n_open} open tasks) in {seed_s:.1f} s", flush=True)
    baseline = _measure_all(seeded, before=True, repeat=repeat)
    started = time.perf_counter()
    with models_db.get_engine().begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
    upgrade_s = time.perf_counter() - started
    _analyze(label)
    print(f"[{label}] upgraded to head (indexes, step times backfilled) in {upgrade_s:.1f} s", flush=True)
    ours = _measure_all(seeded, before=False, repeat=repeat)
    for name in ours:
        print(f"[{label}] {name:48s} p95 {ours[name]['p95_ms']:8.1f} ms   before "
              f"{baseline[name]['p95_ms']:8.1f} ms", flush=True)
    return {"requests": n, "open_tasks": n_open, "seed_s": seed_s, "upgrade_s": upgrade_s,
            "baseline": baseline, "ours": ours}


def _sqlite(n: int, n_open: int, repeat: int) -> dict:
    from models import db as models_db
    from models.settings import get_settings

    var_dir = Path(tempfile.mkdtemp(prefix="ramq-bench-scale-"))
    os.environ.update({"RAMQ_VAR_DIR": str(var_dir), "RAMQ_ENV": "dev",
                       "RAMQ_DATABASE_URL": f"sqlite:///{var_dir / 'app.db'}"})
    get_settings.cache_clear()
    models_db.dispose_engines()
    try:
        return _run_backend("sqlite", n, n_open, repeat)
    finally:
        models_db.dispose_engines()
        for f in var_dir.iterdir():
            f.unlink()
        var_dir.rmdir()


def _postgresql(pg_url: str, n: int, n_open: int, repeat: int) -> dict:
    import sqlalchemy as sa

    from models import db as models_db
    from models.settings import get_settings

    name = f"ramq_scale_{uuid.uuid4().hex[:8]}"
    base_url = models_db._normalize_url(pg_url)
    admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    os.environ["RAMQ_DATABASE_URL"] = sa.engine.make_url(base_url).set(database=name).render_as_string(
        hide_password=False)
    get_settings.cache_clear()
    models_db.dispose_engines()
    try:
        return _run_backend("postgresql", n, n_open, repeat)
    finally:
        models_db.dispose_engines()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _rows(label: str, raw: dict) -> list[dict]:
    rows = []
    for name, ours in raw["ours"].items():
        before = raw["baseline"][name]["p95_ms"]
        met = ours["p95_ms"] <= ours["target_ms"]
        note = (f"{raw['requests']:,} requests, {raw['open_tasks']:,} open tasks; p95 of {ours['runs']} runs; "
                f"CPU of this process p95 {ours['cpu_p95_ms']:.0f} ms "
                f"(before {raw['baseline'][name]['cpu_p95_ms']:.0f}); "
                f"load average {ours['load_average']:.1f}")
        if not met:
            note += f"; {ours['p95_ms'] / ours['target_ms']:.1f}× the target"
        rows.append({"measure": f"{label}: {name} (p95)", "ours": round(ours["p95_ms"], 2),
                     "baseline": round(before, 2), "unit": "ms", "target": f"≤ {ours['target_ms']:g} ms",
                     "met": met, "note": note})
    return rows


def bench(quick: bool = False, pg_url: str | None = None) -> dict:
    """The contract of ``make bench``: rows of p95s (ours and the baseline before migration
    0011, per backend) and the raw figures. ``quick``: 10,000 requests (500 open tasks)."""
    n, n_open, repeat = (10_000, 500, 10) if quick else (100_000, 5_000, 20)
    pg_url = pg_url if pg_url is not None else os.environ.get("RAMQ_BENCH_PG_URL", "")
    saved = {k: os.environ.get(k) for k in ("RAMQ_VAR_DIR", "RAMQ_ENV", "RAMQ_DATABASE_URL")}
    raw: dict[str, dict] = {}
    try:
        raw["sqlite"] = _sqlite(n, n_open, repeat)
        if pg_url:
            raw["postgresql"] = _postgresql(pg_url, n, n_open, repeat)
    finally:
        from models import db as models_db
        from models.settings import get_settings

        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()
        models_db.dispose_engines()
    rows = [row for label, figures in raw.items() for row in _rows(label, figures)]
    return {"name": "scale", "cores": os.cpu_count() or 1, "rows": rows, "raw": raw}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10,000 requests instead of 100,000")
    parser.add_argument("--pg-url", default=None, help="a PostgreSQL server (default: RAMQ_BENCH_PG_URL)")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()
    result = bench(quick=args.quick, pg_url=args.pg_url)
    print(f"cores: {result['cores']}")
    for row in result["rows"]:
        print(f"{row['measure']:70s} {row['ours']:9.1f} ms  (before {row['baseline']:9.1f} ms)  "
              f"{row['target']}  {'met' if row['met'] else 'MISSED'}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
