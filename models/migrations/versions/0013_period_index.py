"""the managers' period read from one index: (created_at, id, status, organization_type)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 12:40:00

The list of requests pages through (created_at, id); the weekly outcomes and the filters of the
managers' page also read each request's status and organization type. Through the index of
0011, SQLite looked up each request's row for them (0.22 s for a year of 100,000 requests); with
both in the index, a period is read from the index alone (0.05 s). It replaces 0011's index
(same leading columns, so the list's order is unchanged).
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0013'
down_revision: Union[str, None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index('ix_access_request_period', 'access_request',
                    ['created_at', 'id', 'status', 'organization_type'])
    op.drop_index('ix_access_request_created_at_id', table_name='access_request')


def downgrade() -> None:
    op.create_index('ix_access_request_created_at_id', 'access_request', ['created_at', 'id'])
    op.drop_index('ix_access_request_period', table_name='access_request')
