"""retention purge: the signed record's one allowed change, and the daily purge's claim

Revision ID: 0009
Revises: 0005
Create Date: 2026-12-05 01:00:00

``ramq-access purge`` (models/retention.py) anonymizes the closed requests kept longer than the
retention period. Revisions and signatures stay append-only, with one exception: a row not yet
purged (``purged_at IS NULL``) may be updated once into its purged form: ``purged_at`` set,
``content`` replaced by the marker ``{"purged": true}``, the image emptied (signatures), the
signer emptied or kept; every other column (ids, revision, role, method, times, the hashes)
unchanged. A purged row can never change again; DELETE (and TRUNCATE on PostgreSQL) stays
refused. ``access_request.purged_at`` says when a request was purged; ``daily_job`` lets one
sweeper per day run the purge (its primary key is the claim).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0009'
down_revision: Union[str, None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

IMMUTABLE = ("request_revision", "signature")
PG_FUNCTION = "ramq_signed_record_purge_only"
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


def upgrade() -> None:
    for table in ("access_request", *IMMUTABLE):
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
    else:
        for table in IMMUTABLE:
            op.execute(f"DROP TRIGGER {table}_no_update")
            op.execute(_sqlite_purge_only(table))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in IMMUTABLE:
            op.execute(f"DROP TRIGGER {table}_immutable ON {table}")
            op.execute(f"""CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table}
                           FOR EACH ROW EXECUTE FUNCTION ramq_signed_record_immutable()""")
        op.execute(f"DROP FUNCTION {PG_FUNCTION}()")
        for table in ("access_request", *IMMUTABLE):
            op.drop_column(table, 'purged_at')
    else:
        # SQLite drops a column only when no trigger names it: 0009's triggers go first, then
        # 0004's come back. (Batch mode would rebuild access_request, which others reference.)
        for table in IMMUTABLE:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        for table in ("access_request", *IMMUTABLE):
            op.drop_column(table, 'purged_at')
        for table in IMMUTABLE:
            op.execute(f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
                           BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END""")
    op.drop_table('daily_job')
