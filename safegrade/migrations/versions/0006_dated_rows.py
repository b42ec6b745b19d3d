"""dated rows: every version of the rows that change, kept by triggers; updated_at where it was missing

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 17:00:00.000000

After this revision the database keeps `<table>_version` for enterprise, finding, campaign_member,
deadline and reminder (safegrade.models.VERSIONED): each INSERT and UPDATE appends the row as it then is,
dated by its `updated_at`. Existing databases get their history as far as it can be known: each
enterprise's versions are rebuilt from its audit chain (one per event, dated by the event); each other
row gets one version, its current state, dated by its last known change.
"""
import json
from datetime import date

from alembic import op
import sqlalchemy as sa
import safegrade.models
from safegrade.models import history_ddl


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

VERSIONED = ("enterprise", "finding", "campaign_member", "deadline", "reminder")
UTC = safegrade.models.UTCDateTime(timezone=True)


def _add_updated_at(table: str, backfill: str) -> None:
    """A NOT NULL column: added nullable, filled, then made NOT NULL (SQLite rebuilds the table for that, with
    foreign keys off: Store.migrate)."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', UTC, nullable=True))
    op.execute(f"UPDATE {table} SET updated_at = {backfill}")
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.alter_column('updated_at', existing_type=UTC, nullable=False)


def _version_table(bind: sa.engine.Connection, name: str) -> tuple[sa.Table, list[str]]:
    base = sa.Table(name, sa.MetaData(), autoload_with=bind)
    columns = [c.name for c in base.columns]
    version = op.create_table(
        f'{name}_version',
        sa.Column('version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        *(sa.Column(c.name, c.type, nullable=True) for c in base.columns),
        sa.PrimaryKeyConstraint('version_id', name=op.f(f'pk_{name}_version')),
    )
    with op.batch_alter_table(f'{name}_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f'ix_{name}_version_id_updated_at'), ['id', 'updated_at'], unique=False)
        batch_op.create_index(batch_op.f(f'ix_{name}_version_updated_at'), ['updated_at'], unique=False)
    return version, columns


def _enterprise_history(bind: sa.engine.Connection, version: sa.Table) -> None:
    """Each enterprise's versions, rebuilt from its audit chain: the fields each event left, dated by it."""
    dates = {c.name for c in version.columns if isinstance(c.type, sa.Date)}
    base = sa.Table('enterprise', sa.MetaData(), autoload_with=bind)
    rows = {r["id"]: dict(r) for r in bind.execute(sa.select(base)).mappings()}
    current: dict[int, dict] = {}
    out = []
    events = sa.text("SELECT enterprise_id, seq, to_state, payload, occurred_at FROM audit_event "
                     "ORDER BY enterprise_id, seq").columns(occurred_at=sa.DateTime(timezone=True))
    for enterprise_id, seq, to_state, payload, occurred_at in bind.execute(events):
        row = rows.get(enterprise_id)
        if row is None:
            continue
        fields = current.setdefault(enterprise_id, {"id": enterprise_id, "created_at": row["created_at"]})
        for key, value in json.loads(payload).get("after", {}).items():
            fields[key] = date.fromisoformat(value) if key in dates and isinstance(value, str) else value
        fields.update(state=to_state, version=seq, updated_at=occurred_at)
        out.append(dict(fields))
        if len(out) >= 5000:
            bind.execute(version.insert(), _complete(out, version))
            out = []
    if out:
        bind.execute(version.insert(), _complete(out, version))


def _complete(rows: list[dict], version: sa.Table) -> list[dict]:
    names = [c.name for c in version.columns if c.name != 'version_id']
    return [{n: r.get(n) for n in names} for r in rows]


def upgrade() -> None:
    _add_updated_at('finding', 'COALESCE(verified_at, submitted_at, created_at)')
    _add_updated_at('reminder', 'COALESCE(sent_at, queued_at)')
    _add_updated_at('campaign_member', 'COALESCE((SELECT MAX(a.recorded_at) FROM assessment a WHERE '
                                       'a.campaign_id = campaign_member.campaign_id AND a.enterprise_id = '
                                       'campaign_member.enterprise_id), selected_at)')
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_recorded_at'), ['recorded_at'], unique=False)
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_submitted_at'), ['submitted_at'], unique=False)
    bind = op.get_bind()
    for name in VERSIONED:
        version, columns = _version_table(bind, name)
        if name == 'enterprise':
            version = sa.Table('enterprise_version', sa.MetaData(), autoload_with=bind)
            _enterprise_history(bind, version)
        else:
            cols = ", ".join(columns)
            op.execute(f"INSERT INTO {name}_version ({cols}) SELECT {cols} FROM {name} ORDER BY id")
        for statement in history_ddl(bind.dialect.name, name, columns):
            op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    for name in reversed(VERSIONED):
        if bind.dialect.name == 'postgresql':
            op.execute(f"DROP TRIGGER IF EXISTS trg_{name}_version ON {name}")
            op.execute(f"DROP FUNCTION IF EXISTS keep_{name}_version()")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS trg_{name}_version_insert")
            op.execute(f"DROP TRIGGER IF EXISTS trg_{name}_version_update")
        op.drop_table(f'{name}_version')
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_submitted_at'))
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_recorded_at'))
    for table in ('campaign_member', 'reminder', 'finding'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('updated_at')
