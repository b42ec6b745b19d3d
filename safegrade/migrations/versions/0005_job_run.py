"""job_run: sweep_run renamed, its rows kept (every scheduled job records its runs there)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 14:40:00.000000
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import safegrade.models


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def _rename(old: str, new: str) -> None:
    """Table, index, primary key (and PostgreSQL's id sequence) from `old` to `new`, rows untouched."""
    op.rename_table(old, new)
    with op.batch_alter_table(new, schema=None) as batch_op:
        batch_op.drop_index(f'ix_{old}_job')
        batch_op.create_index(f'ix_{new}_job', ['job'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'ALTER TABLE {new} RENAME CONSTRAINT pk_{old} TO pk_{new}')
        op.execute(f'ALTER SEQUENCE {old}_id_seq RENAME TO {new}_id_seq')
    else:  # SQLite keeps the constraint's name in the table's DDL: rebuild the table under the new name
        with op.batch_alter_table(new, schema=None, recreate='always') as batch_op:
            batch_op.drop_constraint(f'pk_{old}', type_='primary')
            batch_op.create_primary_key(f'pk_{new}', ['id'])


def upgrade() -> None:
    _rename('sweep_run', 'job_run')


def downgrade() -> None:
    _rename('job_run', 'sweep_run')
