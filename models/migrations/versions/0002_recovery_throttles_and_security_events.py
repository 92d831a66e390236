"""recovery, throttles and security events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 06:35:20.040345
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0002'
down_revision: Union[str, None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('login_throttle',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('blocked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('rate_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rate_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_event_key'), ['key'], unique=False)
        batch_op.create_index(batch_op.f('ix_rate_event_scope'), ['scope'], unique=False)

    op.create_table('security_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('security_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_security_event_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_security_event_request_id'), ['request_id'], unique=False)

    with op.batch_alter_table('access_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('run_start_claimed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('run_restarts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('run_progress_mark', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('run_stuck_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('temp_password_expires_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('ramq_processing', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_ramq_processing_username', ['username'])



def downgrade() -> None:
    with op.batch_alter_table('ramq_processing', schema=None) as batch_op:
        batch_op.drop_constraint('uq_ramq_processing_username', type_='unique')

    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('temp_password_expires_at')

    with op.batch_alter_table('access_request', schema=None) as batch_op:
        batch_op.drop_column('run_stuck_at')
        batch_op.drop_column('run_progress_mark')
        batch_op.drop_column('run_restarts')
        batch_op.drop_column('run_start_claimed_at')

    with op.batch_alter_table('security_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_security_event_request_id'))
        batch_op.drop_index(batch_op.f('ix_security_event_kind'))

    op.drop_table('security_event')
    with op.batch_alter_table('rate_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_event_scope'))
        batch_op.drop_index(batch_op.f('ix_rate_event_key'))

    op.drop_table('rate_event')
    op.drop_table('login_throttle')
