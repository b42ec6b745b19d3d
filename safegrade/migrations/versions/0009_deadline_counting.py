"""deadline counting: the working-day count behind a due date, and the years counted Monday–Friday

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 20:00:00.000000

counted_from and working_days say how a due date was counted (from this day, this many working days), so
that `deadlines recount` can count it again once a year's holiday schedule is in rules/holidays.yaml;
fallback_years marks a deadline counted Monday–Friday in years no schedule covered. The deadline's versions
(deadline_version, schema 0006) get the columns too, and the trigger that keeps them is installed again.
Existing rows are left NULL: they were counted with the package's schedule (the engine warned otherwise),
and without their count they are not recounted.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import safegrade.models
from safegrade.models import history_ddl


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_COLUMNS = (
    ('counted_from', sa.Date()),
    ('working_days', sa.Integer()),
    ('fallback_years', sqlmodel.sql.sqltypes.AutoString(length=64)),
)


def _keep_versions() -> None:
    """(Re)install the trigger that keeps deadline_version, for the columns the table has now."""
    bind = op.get_bind()
    columns = [c.name for c in sa.Table('deadline', sa.MetaData(), autoload_with=bind).columns]
    for statement in history_ddl(bind.dialect.name, 'deadline', columns):
        op.execute(statement)


def upgrade() -> None:
    for table in ('deadline', 'deadline_version'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, type_ in _COLUMNS:
                batch_op.add_column(sa.Column(name, type_, nullable=True))
    _keep_versions()


def downgrade() -> None:
    for table in ('deadline', 'deadline_version'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _ in reversed(_COLUMNS):
                batch_op.drop_column(name)
    _keep_versions()
