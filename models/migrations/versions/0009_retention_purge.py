"""retention purge: the signed record's one allowed change, and the daily purge's claim

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 01:00:00

``ramq-access purge`` (models/retention.py) anonymizes the closed requests kept longer than the
retention period. Revisions and signatures stay append-only, with one exception: a row not yet
purged (``purged_at IS NULL``) may be updated once into its purged form: ``purged_at`` set,
``content`` replaced by the marker ``{"purged": true}``, the image emptied (signatures), the
signer emptied or kept; every other column (ids, revision, role, method, times, the hashes)
unchanged. A purged row can never change again; DELETE (and TRUNCATE on PostgreSQL) stays
refused. ``access_request.purged_at`` says when a request was purged; ``daily_job`` lets one
sweeper per day run the purge (its primary key is the claim).

``audit_event`` stays append-only too, with the same kind of exception: an event whose detail
holds a free-text ``reason`` (a revocation's, a reassignment's: staff may have written a name
there) may be updated once, ``purged_at`` set and that reason replaced by ``[purged]``, every
other column and detail key unchanged. Its ``hash`` is kept, so the next event's link holds;
the purge's own event records the hash of each redacted event as it now stands, so
``verify_chain`` still checks them (models/audit.py).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0009'
down_revision: Union[str, None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

IMMUTABLE = ("request_revision", "signature")
PG_FUNCTION = "ramq_signed_record_purge_only"
PG_AUDIT_FUNCTION = "audit_event_purge_only"
AUDIT_MESSAGE = 'audit_event is append-only'
AUDIT_KEPT = ("id", "request_id", "at", "actor", "event", "prev_hash", "hash")
# What a purged reason becomes (models.retention.REDACTED): ASCII, so SQLite's json_set writes
# it exactly as Python's json.dumps does.
REDACTED = "[purged]"
# The columns a purge may change, per table; every other column must stay as it was.
SQLITE_UNCHANGED = {
    "request_revision": ("id", "request_id", "revision", "sha256", "created_at"),
    "signature": ("id", "request_id", "revision", "section", "role", "method", "signed_at", "sha256"),
}


def _sqlite_purge_only(table: str) -> str:
    same = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in SQLITE_UNCHANGED[table])
    allowed = (f"OLD.purged_at IS NULL AND NEW.purged_at IS NOT NULL AND {same} "
               """AND json(NEW.content) IS json('{"purged": true}')""")
    if table == "signature":
        allowed += " AND json(NEW.image) IS json('{}') AND (NEW.signer IS OLD.signer OR NEW.signer IS '')"
    return (f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} WHEN NOT ({allowed}) "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END")


def _sqlite_audit_purge_only() -> str:
    same = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in AUDIT_KEPT)
    allowed = (f"OLD.purged_at IS NULL AND NEW.purged_at IS NOT NULL AND {same} "
               f"AND json_type(OLD.detail, '$.reason') IS 'text' "
               f"AND json(NEW.detail) IS json_set(OLD.detail, '$.reason', '{REDACTED}')")
    return (f"CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event WHEN NOT ({allowed}) "
            f"BEGIN SELECT RAISE(ABORT, '{AUDIT_MESSAGE}'); END")


def upgrade() -> None:
    for table in ("access_request", "audit_event", *IMMUTABLE):
        op.add_column(table, sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('daily_job',
    sa.Column('job', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('job', 'day')
    )
    if op.get_bind().dialect.name == "postgresql":
        # Generic over both tables: the row as JSON, minus what a purge may change, must not move.
        op.execute(f"""
            CREATE FUNCTION {PG_FUNCTION}() RETURNS trigger AS $$
            DECLARE
                old_row jsonb := to_jsonb(OLD);
                new_row jsonb := to_jsonb(NEW);
                free text[] := ARRAY['purged_at', 'content', 'image', 'signer'];
            BEGIN
                IF TG_OP = 'UPDATE' AND OLD.purged_at IS NULL AND NEW.purged_at IS NOT NULL
                   AND (new_row - free) = (old_row - free)
                   AND new_row -> 'content' = '{{"purged": true}}'::jsonb
                   AND coalesce(new_row -> 'image', '{{}}'::jsonb) = '{{}}'::jsonb
                   AND coalesce(new_row ->> 'signer', '') IN ('', coalesce(old_row ->> 'signer', ''))
                THEN
                    RETURN NEW;
                END IF;
                RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
            END $$ LANGUAGE plpgsql""")
        for table in IMMUTABLE:
            op.execute(f"DROP TRIGGER {table}_immutable ON {table}")
            op.execute(f"""CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table}
                           FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()""")
        op.execute(f"""
            CREATE FUNCTION {PG_AUDIT_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'UPDATE' AND OLD.purged_at IS NULL AND NEW.purged_at IS NOT NULL
                   AND (to_jsonb(NEW) - 'detail' - 'purged_at') = (to_jsonb(OLD) - 'detail' - 'purged_at')
                   AND jsonb_typeof(OLD.detail::jsonb -> 'reason') = 'string'
                   AND NEW.detail::jsonb = jsonb_set(OLD.detail::jsonb, '{{reason}}', '"{REDACTED}"'::jsonb)
                THEN
                    RETURN NEW;
                END IF;
                RAISE EXCEPTION '{AUDIT_MESSAGE}' USING ERRCODE = 'restrict_violation';
            END
            $$""")
        op.execute("DROP TRIGGER audit_event_no_change ON audit_event")
        op.execute(f"CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
                   f"FOR EACH ROW EXECUTE FUNCTION {PG_AUDIT_FUNCTION}()")
    else:
        for table in IMMUTABLE:
            op.execute(f"DROP TRIGGER {table}_no_update")
            op.execute(_sqlite_purge_only(table))
        op.execute("DROP TRIGGER audit_event_no_update")
        op.execute(_sqlite_audit_purge_only())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in IMMUTABLE:
            op.execute(f"DROP TRIGGER {table}_immutable ON {table}")
            op.execute(f"""CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table}
                           FOR EACH ROW EXECUTE FUNCTION ramq_signed_record_immutable()""")
        op.execute(f"DROP FUNCTION {PG_FUNCTION}()")
        op.execute("DROP TRIGGER audit_event_no_change ON audit_event")
        op.execute("CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
                   "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()")
        op.execute(f"DROP FUNCTION {PG_AUDIT_FUNCTION}()")
        for table in ("access_request", "audit_event", *IMMUTABLE):
            op.drop_column(table, 'purged_at')
    else:
        # SQLite drops a column only when no trigger names it: 0009's triggers go first, then
        # 0004's come back. (Batch mode would rebuild access_request, which others reference.)
        for table in (*IMMUTABLE, "audit_event"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        for table in ("access_request", "audit_event", *IMMUTABLE):
            op.drop_column(table, 'purged_at')
        for table in IMMUTABLE:
            op.execute(f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
                           BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END""")
        op.execute(f"CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
                   f"BEGIN SELECT RAISE(ABORT, '{AUDIT_MESSAGE}'); END")
    op.drop_table('daily_job')
