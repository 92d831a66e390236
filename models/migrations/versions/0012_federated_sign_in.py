"""staff sign-in through an OpenID provider: one provider sign-in opens one RAMQ session

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 05:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0012'
down_revision: Union[str, None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'federated_sign_in',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('identity_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['account.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('identity_hash'),
    )
    op.create_index('ix_federated_sign_in_account_id', 'federated_sign_in', ['account_id'])


def downgrade() -> None:
    op.drop_index('ix_federated_sign_in_account_id', table_name='federated_sign_in')
    op.drop_table('federated_sign_in')
