"""scale at rest: the queue's and the history's indexes, the search's trigram index
(PostgreSQL), and ``request_step_time``, each request's step marks kept by the database

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 05:00:00

Measured with ``python -m benchmarks.scale`` on 100,000 requests (docs/architecture.md, « Known
costs »):

- ``human_task (status, kind, due_at, id)``: the queues read the open tasks of one kind in due
  order and stop at their limit instead of sorting every open task;
- ``access_request (created_at, id)``: the history's period, its pages and the search's most
  recent first;
- PostgreSQL only: a trigram index (``pg_trgm``, shipped with PostgreSQL's contrib and trusted
  since PostgreSQL 13) on the search key, the expression ``models.queries.search_key`` builds
  (the two must stay identical, or PostgreSQL no longer uses the index). Where the extension
  cannot be created the migration goes on without it: the search stays correct, only slower;
- ``request_step_time``: per request, the times (seconds since the epoch, UTC) of the marks the
  history's step durations are computed from (``models.history.MARKS``): the last time of each
  mark and the first submission. An insert trigger on ``audit_event`` keeps it as the steps'
  events are written (whoever writes them, bulk loads included); the upgrade fills it from the
  events already there. Events are never changed nor deleted (migration 0003), so the summary
  never goes stale. A new mark kind needs a migration that updates the trigger's lists.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0011'
down_revision: Union[str, None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# models.history.MARKS, as it stands at this revision (migrations stay self-contained).
MARKS = {
    'submitted': ('submitted', 'resubmitted', 'correction_resubmit'),
    'authorized': ('authorizer_authorize',),
    'reviewed': ('respondent_approve', 'respondent_refuse', 'respondent_send_back'),
    'countersigned': ('countersign_countersign',),
    'credentials_sent': ('password_sent',),
}
FIRST = ('first_submitted', 'submitted')  # the first submission: the total's start
ALL_EVENTS = tuple(e for kinds in MARKS.values() for e in kinds)
TRIGGER = 'request_step_time_on_event'
SEARCH_INDEX = 'ix_access_request_search_trgm'
# models.queries.search_key, as PostgreSQL renders it.
SEARCH_KEY = ("(COALESCE(reference, '') || ' ' || establishment_number || ' ' || user_first_name"
              " || ' ' || user_last_name || ' ' || user_email || ' ' || authorizer_first_name"
              " || ' ' || authorizer_last_name || ' ' || authorizer_email)")


def _in(events) -> str:
    return '(' + ', '.join(f"'{e}'" for e in events) + ')'


def _epoch(column: str, dialect: str) -> str:
    if dialect == 'postgresql':
        return f'CAST(EXTRACT(EPOCH FROM {column}) AS DOUBLE PRECISION)'
    return f'((julianday({column}) - 2440587.5) * 86400.0)'


def _marks(event: str, at: str) -> list[tuple[str, str, str]]:
    """(column, MIN or MAX, the value this event brings to it) for every summary column."""
    out = [(FIRST[0], 'MIN', f"CASE WHEN {event} = '{FIRST[1]}' THEN {at} END")]
    out += [(name, 'MAX', f'CASE WHEN {event} IN {_in(kinds)} THEN {at} END') for name, kinds in MARKS.items()]
    return out


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    op.create_index('ix_human_task_queue', 'human_task', ['status', 'kind', 'due_at', 'id'])
    op.create_index('ix_access_request_created_at_id', 'access_request', ['created_at', 'id'])

    op.create_table(
        'request_step_time',
        sa.Column('request_id', sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Float(), nullable=True) for name in (FIRST[0], *MARKS)),
        sa.ForeignKeyConstraint(['request_id'], ['access_request.id']),
        sa.PrimaryKeyConstraint('request_id'),
    )
    columns = [c for c, _, _ in _marks('event', 'at')]
    backfill = ', '.join(f'{agg}({value})' for _, agg, value in _marks('event', _epoch('at', dialect)))
    op.execute(f"INSERT INTO request_step_time (request_id, {', '.join(columns)}) "
               f"SELECT request_id, {backfill} FROM audit_event WHERE event IN {_in(ALL_EVENTS)} "
               f"GROUP BY request_id")

    values = ', '.join(value for _, _, value in _marks('NEW.event', _epoch('NEW.at', dialect)))
    if dialect == 'sqlite':
        # min/max of SQLite return NULL when one side is: keep whichever side is there.
        merged = ', '.join(
            f'{c} = {agg.lower()}(COALESCE({c}, excluded.{c}), COALESCE(excluded.{c}, {c}))'
            for c, agg, _ in _marks('', ''))
        op.execute(f"""
            CREATE TRIGGER {TRIGGER} AFTER INSERT ON audit_event
            WHEN NEW.event IN {_in(ALL_EVENTS)}
            BEGIN
                INSERT INTO request_step_time (request_id, {', '.join(columns)})
                VALUES (NEW.request_id, {values})
                ON CONFLICT (request_id) DO UPDATE SET {merged};
            END""")
    elif dialect == 'postgresql':
        merged = ', '.join(f"{c} = {'LEAST' if agg == 'MIN' else 'GREATEST'}(t.{c}, EXCLUDED.{c})"
                           for c, agg, _ in _marks('', ''))  # both ignore NULLs
        op.execute(f"""
            CREATE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO request_step_time AS t (request_id, {', '.join(columns)})
                VALUES (NEW.request_id, {values})
                ON CONFLICT (request_id) DO UPDATE SET {merged};
                RETURN NULL;
            END $$""")
        op.execute(f"CREATE TRIGGER {TRIGGER} AFTER INSERT ON audit_event FOR EACH ROW "
                   f"WHEN (NEW.event IN {_in(ALL_EVENTS)}) EXECUTE FUNCTION {TRIGGER}()")
        _create_search_index(bind)
    else:
        raise NotImplementedError(f"request_step_time trigger for {dialect}")


def _create_search_index(bind) -> None:
    """The trigram index, when ``pg_trgm`` is there or may be created (a savepoint: a refusal
    must not abort the migration's transaction)."""
    available = bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).first()
    if not available:
        return
    try:
        with bind.begin_nested():
            bind.execute(sa.text('CREATE EXTENSION IF NOT EXISTS pg_trgm'))
            bind.execute(sa.text(f'CREATE INDEX {SEARCH_INDEX} ON access_request '
                                 f'USING gin ({SEARCH_KEY} gin_trgm_ops)'))
    except sa.exc.DBAPIError:  # no right to create the extension: the search scans, still correct
        return


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute(f'DROP INDEX IF EXISTS {SEARCH_INDEX}')  # the extension stays: others may use it
        op.execute(f'DROP TRIGGER IF EXISTS {TRIGGER} ON audit_event')
        op.execute(f'DROP FUNCTION IF EXISTS {TRIGGER}()')
    else:
        op.execute(f'DROP TRIGGER IF EXISTS {TRIGGER}')
    op.drop_table('request_step_time')
    op.drop_index('ix_access_request_created_at_id', table_name='access_request')
    op.drop_index('ix_human_task_queue', table_name='human_task')
