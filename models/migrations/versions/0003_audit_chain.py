"""audit chain: audit_event is append-only and hash-chained per request

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 09:00:00.000000

Adds ``prev_hash`` and ``hash`` to ``audit_event``, computes them for the rows already there (in
id order per request, so an upgraded database verifies), then makes the database refuse UPDATE,
DELETE (and on PostgreSQL TRUNCATE) of audit rows. DROP TABLE still works: triggers never fire
on it, so downgrades and test databases are dropped as before.

A later migration that rebuilds ``audit_event`` on SQLite (``batch_alter_table`` with anything
ALTER TABLE cannot do) drops its triggers with the old table: it must create them again
(tests/models/test_db.py fails if they are missing).
"""
import hashlib
import json
from datetime import UTC, datetime
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0003'
down_revision: Union[str, None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

MESSAGE = 'audit_event is append-only'
SQLITE_TRIGGERS = {
    'audit_event_no_update': 'UPDATE',
    'audit_event_no_delete': 'DELETE',
}
PG_FUNCTION = 'audit_event_append_only'
PG_ROW_TRIGGER = 'audit_event_no_change'
PG_TRUNCATE_TRIGGER = 'audit_event_no_truncate'


def _event_hash(*, prev_hash, request_id, at, actor, event, detail):
    """A copy of models.audit.event_hash (a migration must not change when the code does):
    SHA-256 hex of the canonical JSON, ``at`` in UTC with microseconds, naive taken as UTC."""
    when = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    payload = {"prev_hash": prev_hash, "request_id": request_id,
               "at": when.astimezone(UTC).isoformat(timespec="microseconds"),
               "actor": actor, "event": event, "detail": detail}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _backfill(bind) -> None:
    """Chains the existing rows, in id order, in batches (one last hash kept per request)."""
    t = sa.table('audit_event', sa.column('id', sa.Integer), sa.column('request_id', sa.Integer),
                 sa.column('at', sa.DateTime(timezone=True)), sa.column('actor', sa.String),
                 sa.column('event', sa.String), sa.column('detail', sa.JSON),
                 sa.column('prev_hash', sa.String), sa.column('hash', sa.String))
    last: dict[int, str] = {}
    after = 0
    while True:
        rows = bind.execute(sa.select(t.c.id, t.c.request_id, t.c.at, t.c.actor, t.c.event, t.c.detail)
                            .where(t.c.id > after).order_by(t.c.id).limit(1000)).all()
        if not rows:
            return
        for row in rows:
            prev = last.get(row.request_id)
            at = row.at
            if isinstance(at, str):  # SQLite without type information
                at = datetime.fromisoformat(at)
            digest = _event_hash(prev_hash=prev, request_id=row.request_id, at=at, actor=row.actor,
                                 event=row.event, detail=row.detail)
            bind.execute(sa.update(t).where(t.c.id == row.id).values(prev_hash=prev, hash=digest))
            last[row.request_id] = digest
        after = rows[-1].id


def upgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    bind = op.get_bind()
    _backfill(bind)
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.alter_column('hash', existing_type=sqlmodel.sql.sqltypes.AutoString(length=64),
                              nullable=False)
        # Unique: two events never chain on the same previous one (a fork is refused).
        batch_op.create_index(batch_op.f('ix_audit_event_prev_hash'), ['prev_hash'], unique=True)

    # The triggers come last: on SQLite the batch above rebuilt the table (and would drop them).
    if bind.dialect.name == 'sqlite':
        for name, action in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} BEFORE {action} ON audit_event "
                       f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")
    elif bind.dialect.name == 'postgresql':
        # SQLSTATE 23001 (restrict_violation): an IntegrityError, as SQLite's RAISE(ABORT) is.
        op.execute(f"""
            CREATE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation';
            END
            $$""")
        op.execute(f"CREATE TRIGGER {PG_ROW_TRIGGER} BEFORE UPDATE OR DELETE ON audit_event "
                   f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()")
        op.execute(f"CREATE TRIGGER {PG_TRUNCATE_TRIGGER} BEFORE TRUNCATE ON audit_event "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()")
    else:
        raise NotImplementedError(f"audit_event append-only triggers for {bind.dialect.name}")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif bind.dialect.name == 'postgresql':
        op.execute(f"DROP TRIGGER IF EXISTS {PG_TRUNCATE_TRIGGER} ON audit_event")
        op.execute(f"DROP TRIGGER IF EXISTS {PG_ROW_TRIGGER} ON audit_event")
        op.execute(f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()")
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_prev_hash'))
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
