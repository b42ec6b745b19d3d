"""Tables (SQLModel). One family per entity: XBase (the fields), X (the table), XPublic (what is shown).

Times are stored as aware UTC (UTCDateTime refuses naive values). Constraint names follow one
convention so that migrations stay stable across SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Integer, MetaData, Table, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key for the audit log.
BigKey = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC; a naive value is refused rather than guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} refused: store aware times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002 (TypeDecorator's)
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def table(model: type[SQLModel]) -> Table:
    """The Core table of a table model, for fast Core statements (SQLModel's stubs do not declare it)."""
    found = model.__table__  # type: ignore[attr-defined]
    assert isinstance(found, Table)
    return found


def _utc(**kw: Any) -> Any:
    return Field(sa_column=Column(UTCDateTime(), **kw))


class EnterpriseBase(SQLModel):
    credit_code: str = Field(max_length=18, unique=True, index=True)
    name: str
    district: str = Field(max_length=6, index=True)
    sector: str
    in_gongmao: bool = True
    level: str = Field(max_length=4)
    certificate_no: str
    graded_on: date
    valid_until: date = Field(index=True)
    address: str = ""
    contact: str = ""
    phone: str = ""
    remarks: str = ""


class Enterprise(EnterpriseBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    state: str = Field(index=True, max_length=32)
    version: int = 1  # = the sequence number of the enterprise's last audit event; compare-and-set
    open_findings: int = 0
    open_major_hazards: int = 0
    last_result: str | None = None
    publicity_ends_on: date | None = Field(default=None, index=True)
    revocation_reason: str | None = None
    revoked_on: date | None = None
    regrade_from: date | None = None
    # the first day without a valid grade, recorded by `expire` from any state (during a case the state stays);
    # cleared by renew and regrade. The grade beside the state: states/grade.py
    validity_ended_on: date | None = None
    flags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _utc(nullable=False)
    updated_at: datetime = _utc(nullable=False)


# The enterprise fields that the audit trail carries and that replaying it rebuilds.
TRACKED_FIELDS: tuple[str, ...] = (
    *EnterpriseBase.model_fields,
    "open_findings",
    "open_major_hazards",
    "last_result",
    "publicity_ends_on",
    "revocation_reason",
    "revoked_on",
    "regrade_from",
    "validity_ended_on",
    "flags",
)


class ActorBase(SQLModel):
    name: str = Field(unique=True, index=True, min_length=1, max_length=64)
    role: str = Field(max_length=16)
    district: str | None = Field(default=None, max_length=6)  # scope of a district officer
    enterprise_code: str | None = Field(default=None, max_length=18)  # scope of an enterprise user


class Actor(ActorBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    created_by: str
    created_at: datetime = _utc(nullable=False)


class AuditEvent(SQLModel, table=True):
    """One link of an enterprise's hash chain. Rows are only ever inserted."""

    __tablename__ = "audit_event"
    __table_args__ = (UniqueConstraint("enterprise_id", "seq"), Index("ix_audit_event_occurred_at", "occurred_at"))

    id: int | None = Field(default=None, sa_column=Column(BigKey, primary_key=True, autoincrement=True))
    enterprise_id: int = Field(foreign_key="enterprise.id")
    seq: int
    event: str = Field(max_length=32)
    from_state: str | None = Field(default=None, max_length=32)
    to_state: str = Field(max_length=32)
    actor: str = Field(max_length=64)
    role: str = Field(max_length=16)
    source: str = Field(max_length=8)
    reason: str
    payload: str  # canonical JSON text: {"data": …, "before": …, "after": …}; hashed as stored
    occurred_at: datetime = _utc(nullable=False)
    rules_version: str = Field(max_length=16)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditCheckpoint(SQLModel, table=True):
    """A signed-off moment: the heads of every chain that moved since the previous checkpoint."""

    __tablename__ = "audit_checkpoint"

    id: int | None = Field(default=None, primary_key=True)
    taken_at: datetime = _utc(nullable=False)
    last_event_id: int = Field(sa_column=Column(BigKey, nullable=False))
    heads: int
    heads_digest: str = Field(max_length=64)
    actor: str = Field(max_length=64)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditCheckpointHead(SQLModel, table=True):
    __tablename__ = "audit_checkpoint_head"

    checkpoint_id: int = Field(foreign_key="audit_checkpoint.id", primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", primary_key=True)
    seq: int
    hash: str = Field(max_length=64)


class Campaign(SQLModel, table=True):
    """An operation-quality assessment campaign (运行质量评估): a window in which districts assess."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True, max_length=64)
    starts_on: date
    ends_on: date  # the window's end: each district's deadline for its assessments
    ledger_due_on: date | None = None  # when each district's 台账 is due to the bureau (2023: 12-15)
    created_by: str = Field(max_length=64)
    created_at: datetime = _utc(nullable=False)


class CampaignMember(SQLModel, table=True):
    """One enterprise selected for a campaign, with what became of it there."""

    __tablename__ = "campaign_member"
    __table_args__ = (UniqueConstraint("campaign_id", "enterprise_id"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    district: str = Field(max_length=6, index=True)  # the district responsible when it was selected
    due_on: date
    selected_at: datetime = _utc(nullable=False)
    excluded_reason: str | None = None  # deregistered | relocated | …: not assessed, counted apart
    excluded_note: str | None = None
    assessed_on: date | None = None
    late: bool = False  # assessed after the window closed
    updated_at: datetime = _utc(nullable=False)  # the instant of its last change (its versions are dated by it)


class Assessment(SQLModel, table=True):
    """A scored assessment. Score and result are derived from the deductions by the rules in force,
    whose version is kept, so a later change of rules never rewrites an old score."""

    __table_args__ = (UniqueConstraint("campaign_id", "enterprise_id"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    assessed_on: date
    assessors: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    methods: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    not_applicable: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    materials: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    score: float
    result: str = Field(max_length=4)
    veto: bool = False
    deducted: float
    applicable_points: float
    rules_version: str = Field(max_length=16)
    source: str  # file:row it was imported from
    remarks: str = ""
    recorded_by: str = Field(max_length=64)
    recorded_at: datetime = _utc(nullable=False, index=True)


class Deduction(SQLModel, table=True):
    """A deduction of points, always with its item and the specific content found (the circular's complaint)."""

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True)
    element: str = Field(max_length=32)
    item: str = Field(max_length=16, index=True)
    points: float
    content: str
    rectify: bool = True


class Finding(SQLModel, table=True):
    """A problem to rectify in a closed loop: open → submitted (evidence) → verified, or back to open."""

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    assessment_id: int | None = Field(default=None, foreign_key="assessment.id", index=True)
    deduction_id: int | None = Field(default=None, foreign_key="deduction.id")
    element: str = Field(max_length=32)
    item: str = Field(max_length=16, index=True)
    content: str
    major: bool = False  # 重大事故隐患
    due_on: date = Field(index=True)
    status: str = Field(default="open", max_length=16, index=True)
    submitted_by: str | None = None
    submitted_at: datetime | None = _utc(nullable=True)
    verified_by: str | None = None
    verified_at: datetime | None = _utc(nullable=True)
    rejections: int = 0
    created_at: datetime = _utc(nullable=False)
    updated_at: datetime = _utc(nullable=False)  # the instant of its last change (its versions are dated by it)


class Evidence(SQLModel, table=True):
    """A file submitted as rectification evidence, kept with its SHA-256."""

    id: int | None = Field(default=None, primary_key=True)
    finding_id: int = Field(foreign_key="finding.id", index=True)
    file_name: str
    sha256: str = Field(max_length=64, index=True)
    size: int
    stored_path: str
    submitted_by: str = Field(max_length=64)
    submitted_at: datetime = _utc(nullable=False, index=True)


class Deadline(SQLModel, table=True):
    """A date something is due, with its reminders and its escalation: one row per (kind, subject).

    The sweep finds its work with one indexed query on `next_on` (the next day a reminder or the
    escalation is due), so its cost follows what is due, not what is open. `done_through` says up to
    which day every action has been taken: a re-run finds nothing left for that day."""

    __table_args__ = (UniqueConstraint("kind", "subject"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)  # a key of rules/deadlines.yaml `kinds`: finding, validity, …
    subject: str = Field(max_length=64)  # what is due: "finding:17", "campaign:3:120114", "enterprise:42"
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id", index=True)
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", index=True)
    finding_id: int | None = Field(default=None, foreign_key="finding.id", index=True)
    district: str = Field(max_length=6, index=True)
    due_on: date
    status: str = Field(default="open", max_length=16)  # open | paused (evidence awaiting checks) | met | cancelled
    done_through: date  # every reminder and escalation dated on or before this day has been taken
    next_on: date | None = Field(default=None, index=True)  # None: nothing more to do
    escalation: str | None = Field(default=None, max_length=16)  # fired | noticed | skipped
    escalated_on: date | None = None
    escalation_note: str | None = None  # the audit hash of the event fired, or why it was skipped
    closed_note: str | None = None  # why it stopped: met on …, cancelled because …
    created_at: datetime = _utc(nullable=False)
    updated_at: datetime = _utc(nullable=False)


class Reminder(SQLModel, table=True):
    """The outbox: one message per (subject, deadline, step, audience), queued in the transaction that
    decided it, delivered by `reminders send`, retried with backoff; never queued twice."""

    __table_args__ = (UniqueConstraint("subject", "due_on", "step", "audience"),
                      Index("ix_reminder_status_next_attempt_at", "status", "next_attempt_at"))

    id: int | None = Field(default=None, primary_key=True)
    deadline_id: int | None = Field(default=None, foreign_key="deadline.id", index=True)
    kind: str = Field(max_length=32)
    subject: str = Field(max_length=64)
    due_on: date
    step: str = Field(max_length=24)  # "-7", "0", "+3" (days from the due date), "escalation", "progress:…"
    audience: str = Field(max_length=16)  # enterprise | district | bureau
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id", index=True)
    district: str | None = Field(default=None, max_length=6)
    title: str
    body: str
    queued_at: datetime = _utc(nullable=False)
    # pending | sending | sent | failed | superseded (a step missed by a late sweep, with a later one due: not sent)
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = _utc(nullable=False)
    last_error: str | None = None
    sent_at: datetime | None = _utc(nullable=True)
    delivered_to: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # channel names
    updated_at: datetime = _utc(nullable=False)  # the instant of its last change (its versions are dated by it)


class JobRun(SQLModel, table=True):
    """One run of a scheduled job: what instant it covered, when it really ran, what it did. The scheduler
    catches up from the last finished run; reviewers see that the jobs really ran."""

    __tablename__ = "job_run"

    id: int | None = Field(default=None, primary_key=True)
    # daily | deadline_sweep | campaign_progress | send_reminders | nightly_audit
    job: str = Field(max_length=32, index=True)
    as_of: datetime = _utc(nullable=False)  # the (possibly simulated) now the run covered: its slot
    started_at: datetime = _utc(nullable=False)  # by the wall clock
    finished_at: datetime | None = _utc(nullable=True)  # by the wall clock
    source: str = Field(max_length=16)  # cli | flow | scheduler
    counts: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str | None = None


# --- dated rows -------------------------------------------------------------------------------------------
# A table whose rows change keeps every version of every row in `<table>_version`: the database itself
# appends the row as it is after each INSERT and UPDATE (triggers, installed by the migrations through
# `history_ddl`), so no code path can change a row without its earlier state staying readable. A version
# is dated by the row's `updated_at`, which every writer sets to the (simulated) now of its change;
# safegrade.services.asof reads a table as it stood at an instant from them. Rows are never deleted.
VERSIONED: tuple[str, ...] = ("enterprise", "finding", "campaign_member", "deadline", "reminder")


def _version_table(base: Table) -> Table:
    """`<base>_version`: version_id, then every column of the base table (same names, types; no constraints)."""
    name = f"{base.name}_version"
    return Table(
        name, metadata,
        Column("version_id", BigKey, primary_key=True, autoincrement=True),
        *(Column(c.name, c.type, nullable=True) for c in base.columns),
        Index(f"ix_{name}_id_updated_at", "id", "updated_at"),
        Index(f"ix_{name}_updated_at", "updated_at"),
    )


VERSION_TABLES: dict[str, Table] = {name: _version_table(metadata.tables[name]) for name in VERSIONED}


def history_ddl(dialect: str, name: str, columns: list[str]) -> list[str]:
    """The statements that (re)install the trigger keeping `<name>_version` for these columns of `name`:
    run them again whenever a migration changes the table's columns (or rebuilds it, as SQLite's batch mode
    does: a rebuilt table loses its triggers)."""
    cols = ", ".join(columns)
    new = ", ".join(f"NEW.{c}" for c in columns)
    insert_version = f"INSERT INTO {name}_version ({cols}) VALUES ({new});"
    if dialect == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS trg_{name}_version ON {name}",
            f"CREATE OR REPLACE FUNCTION keep_{name}_version() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {insert_version} RETURN NULL; END $$",
            f"CREATE TRIGGER trg_{name}_version AFTER INSERT OR UPDATE ON {name} "
            f"FOR EACH ROW EXECUTE FUNCTION keep_{name}_version()",
        ]
    return [
        f"DROP TRIGGER IF EXISTS trg_{name}_version_insert",
        f"DROP TRIGGER IF EXISTS trg_{name}_version_update",
        f"CREATE TRIGGER trg_{name}_version_insert AFTER INSERT ON {name} BEGIN {insert_version} END",
        f"CREATE TRIGGER trg_{name}_version_update AFTER UPDATE ON {name} BEGIN {insert_version} END",
    ]


# --- accounts, sessions, tokens, the security log (safegrade/auth) ------------------------------------------
# Not dated rows: an account's changes are told by the security log, which is insert-only and hash-chained.


class Account(SQLModel, table=True):
    """An actor's credentials and contacts. No row: the actor cannot sign in (and has no contacts)."""

    actor_id: int = Field(foreign_key="actor.id", primary_key=True)
    password_hash: str | None = None  # Argon2id (PHC string); None: no password set
    must_change: bool = False  # a one-time password: the next sign-in must change it
    disabled: bool = False
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=32)
    im_user: str | None = Field(default=None, max_length=64)  # DingTalk or WeCom user id
    password_changed_at: datetime | None = _utc(nullable=True)
    updated_at: datetime = _utc(nullable=False)


class WebSession(SQLModel, table=True):
    """A browser session: the cookie carries a secret whose SHA-256 is `token_hash`; `id` is public."""

    __tablename__ = "web_session"

    id: str = Field(primary_key=True, max_length=32)
    token_hash: str = Field(max_length=64, unique=True)
    actor_id: int = Field(foreign_key="actor.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = _utc(nullable=False)
    last_seen_at: datetime = _utc(nullable=False)
    idle_expires_at: datetime = _utc(nullable=False)
    expires_at: datetime = _utc(nullable=False)
    revoked_at: datetime | None = _utc(nullable=True)
    client: str | None = Field(default=None, max_length=64)


class ApiToken(SQLModel, table=True):
    """A personal API token (`Authorization: Bearer`); only its SHA-256 is kept, `id` is public."""

    __tablename__ = "api_token"

    id: str = Field(primary_key=True, max_length=32)
    token_hash: str = Field(max_length=64, unique=True)
    actor_id: int = Field(foreign_key="actor.id", index=True)
    label: str = Field(default="", max_length=128)
    created_at: datetime = _utc(nullable=False)
    created_by: str = Field(max_length=64)
    expires_at: datetime = _utc(nullable=False)
    last_used_at: datetime | None = _utc(nullable=True)
    revoked_at: datetime | None = _utc(nullable=True)


class SecurityEvent(SQLModel, table=True):
    """One link of the security log's single hash chain: account changes, sign-ins, failures, lockouts.
    Rows are only ever inserted; never a password or a secret in any column."""

    __tablename__ = "security_event"
    __table_args__ = (Index("ix_security_event_subject_occurred_at", "subject", "occurred_at"),
                      Index("ix_security_event_client_occurred_at", "client", "occurred_at"))

    id: int | None = Field(default=None, sa_column=Column(BigKey, primary_key=True, autoincrement=True))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    occurred_at: datetime = _utc(nullable=False)
    kind: str = Field(max_length=32)
    subject: str = Field(max_length=64)  # the account (the name given, for a failed sign-in)
    by: str = Field(max_length=64)  # who did it: the actor, the console's OS user, or the subject itself
    source: str = Field(max_length=8)  # cli | api | web | flow
    client: str | None = Field(default=None, max_length=64)
    detail: str  # canonical JSON text, hashed as stored
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
