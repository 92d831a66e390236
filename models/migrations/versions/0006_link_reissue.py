"""resent links: a human task's links signed before ``links_valid_from`` are void

RAMQ staff may send a step's link again (the authorizer's, the user's correction link) or ask
the user to name another authorizer: the earlier links of that task stop working at once.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 01:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0006'
down_revision: Union[str, None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('human_task', sa.Column('links_valid_from', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('human_task') as batch_op:
        batch_op.drop_column('links_valid_from')
