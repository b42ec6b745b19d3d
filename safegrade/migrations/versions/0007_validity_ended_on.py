"""validity_ended_on: the first day without a valid grade, recorded by `expire` beside the case

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10 09:00:00.000000

The enterprise's versions (enterprise_version, schema 0006) get the column too, and the trigger that keeps
them is installed again with it. No rows are filled in: an enterprise already in the `expired` state reads as expired by its state
(states/grade.py), and its audit trail, which recorded no such field, replays to the same row.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import safegrade.models
from safegrade.models import history_ddl


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def _keep_versions() -> None:
    """(Re)install the trigger that keeps enterprise_version, for the columns the table has now."""
    bind = op.get_bind()
    columns = [c.name for c in sa.Table('enterprise', sa.MetaData(), autoload_with=bind).columns]
    for statement in history_ddl(bind.dialect.name, 'enterprise', columns):
        op.execute(statement)


def upgrade() -> None:
    for table in ('enterprise', 'enterprise_version'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('validity_ended_on', sa.Date(), nullable=True))
    _keep_versions()


def downgrade() -> None:
    for table in ('enterprise', 'enterprise_version'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('validity_ended_on')
    _keep_versions()
