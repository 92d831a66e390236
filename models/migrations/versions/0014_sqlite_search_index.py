"""the staff search on SQLite through a trigram full-text index (FTS5)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 05:00:00

On SQLite the search (models.queries.search_requests) compared every searched column of every
request with ``LIKE '%word%'``: a scan of the table, 94 ms of CPU at 100,000 requests for a
target of 50 ms. SQLite's FTS5 with its ``trigram`` tokenizer (SQLite 3.34 and later) indexes
every three characters of a text, so a word of three characters or more is found as a
substring, in any case (Unicode case folding), without reading the table. The index is
``access_request_search``, an external-content table over the searched columns of
``access_request``, kept by triggers on insert, update (the retention purge blanks names and
emails) and delete; the upgrade fills it from the requests already there. PostgreSQL has its
trigram index since 0011; nothing changes there.

Where this SQLite lacks FTS5 or the trigram tokenizer, the migration goes on without the index
and the search keeps its scan (correct, only slower).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0014'
down_revision: Union[str, None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# models.queries.SEARCH_TABLE and SEARCH_COLUMNS, as they stand at this revision.
TABLE = 'access_request_search'
COLUMNS = ('reference', 'establishment_number', 'user_first_name', 'user_last_name', 'user_email',
           'authorizer_first_name', 'authorizer_last_name', 'authorizer_email')


def _values(prefix: str) -> str:
    return ', '.join(f'{prefix}.{c}' for c in COLUMNS)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        return
    columns = ', '.join(COLUMNS)
    try:
        op.execute(f"CREATE VIRTUAL TABLE {TABLE} USING fts5({columns}, content='access_request', "
                   "content_rowid='id', tokenize='trigram')")
    except sa.exc.OperationalError:  # no FTS5, or a SQLite older than 3.34: the scan stays
        return
    op.execute(f"CREATE TRIGGER {TABLE}_insert AFTER INSERT ON access_request BEGIN "
               f"INSERT INTO {TABLE}(rowid, {columns}) VALUES (new.id, {_values('new')}); END")
    op.execute(f"CREATE TRIGGER {TABLE}_delete AFTER DELETE ON access_request BEGIN "
               f"INSERT INTO {TABLE}({TABLE}, rowid, {columns}) VALUES ('delete', old.id, {_values('old')}); "
               "END")
    # Only when a searched column changes: status changes, the bulk of the updates, leave the index be.
    op.execute(f"CREATE TRIGGER {TABLE}_update AFTER UPDATE OF {columns} ON access_request BEGIN "
               f"INSERT INTO {TABLE}({TABLE}, rowid, {columns}) VALUES ('delete', old.id, {_values('old')}); "
               f"INSERT INTO {TABLE}(rowid, {columns}) VALUES (new.id, {_values('new')}); END")
    op.execute(f"INSERT INTO {TABLE}({TABLE}) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    for trigger in ('insert', 'delete', 'update'):
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_{trigger}")
    op.execute(f"DROP TABLE IF EXISTS {TABLE}")
