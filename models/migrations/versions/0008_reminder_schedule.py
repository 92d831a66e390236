"""reminders that escalate: a count of reminders per human task, and the staff's daily digest

``human_task.reminders_sent`` counts the reminders of a task (RAMQ_REMINDER_DAYS); a task
reminded under the single reminder of earlier versions (``reminded_at`` set) counts one.
``staff_digest`` holds one row per (Québec day, staff account): the digest is taken there
before it is sent, so it goes once a day.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-05 01:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0008'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('human_task') as batch_op:
        batch_op.add_column(sa.Column('reminders_sent', sa.Integer(), nullable=False, server_default='0'))
    op.execute("UPDATE human_task SET reminders_sent = 1 WHERE reminded_at IS NOT NULL")
    op.create_table('staff_digest',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('covered_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('day', 'account_id')
    )
    op.create_index(op.f('ix_staff_digest_account_id'), 'staff_digest', ['account_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_staff_digest_account_id'), table_name='staff_digest')
    op.drop_table('staff_digest')
    with op.batch_alter_table('human_task') as batch_op:
        batch_op.drop_column('reminders_sent')
