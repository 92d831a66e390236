"""the SOES countersign: a human task per (request, kind, round, attempt)

When the SOES returns an approval, the respondent decides again within the same round: a new
respondent task, attempt 2, 3… The unique constraint of ``human_task`` takes the attempt.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 10:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0005'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OLD = ['request_id', 'kind', 'round']
NEW = ['request_id', 'kind', 'round', 'attempt']
# SQLite keeps the 0001 constraint unnamed: batch mode names it by this convention to drop it.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_N_name)s"}


def _constraint_on(columns: list[str]) -> str | None:
    for uc in sa.inspect(op.get_bind()).get_unique_constraints('human_task'):
        if list(uc['column_names']) == columns:
            return uc['name']
    return None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.add_column('human_task', sa.Column('attempt', sa.Integer(), nullable=False, server_default='1'))
        name = _constraint_on(OLD)
        if name:
            op.drop_constraint(name, 'human_task', type_='unique')
        op.create_unique_constraint('human_task_request_id_kind_round_attempt_key', 'human_task', NEW)
        return
    with op.batch_alter_table('human_task', naming_convention=NAMING) as batch_op:
        batch_op.add_column(sa.Column('attempt', sa.Integer(), nullable=False, server_default='1'))
        batch_op.drop_constraint('uq_human_task_request_id_kind_round', type_='unique')
        batch_op.create_unique_constraint('uq_human_task_request_id_kind_round_attempt', NEW)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        name = _constraint_on(NEW)
        if name:
            op.drop_constraint(name, 'human_task', type_='unique')
        op.create_unique_constraint('human_task_request_id_kind_round_key', 'human_task', OLD)
        op.drop_column('human_task', 'attempt')
        return
    with op.batch_alter_table('human_task', naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint('uq_human_task_request_id_kind_round_attempt', type_='unique')
        batch_op.create_unique_constraint('uq_human_task_request_id_kind_round', OLD)
        batch_op.drop_column('attempt')
