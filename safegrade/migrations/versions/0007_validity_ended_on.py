"""validity_ended_on: the first day without a valid grade, recorded by `expire` beside the case

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10 09:00:00.000000

No rows are filled in: an enterprise already in the `expired` state reads as expired by its state
(states/grade.py), and its audit trail, which recorded no such field, replays to the same row.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import safegrade.models


# TEMPORARY: down_revision is '0006' once that migration (written in parallel) is merged; '0005' until then
revision = '0007'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('enterprise', schema=None) as batch_op:
        batch_op.add_column(sa.Column('validity_ended_on', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('enterprise', schema=None) as batch_op:
        batch_op.drop_column('validity_ended_on')
