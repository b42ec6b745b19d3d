"""Delivering the reminder outbox: claim due messages, send each to its channels, record what happened.

The deadline sweep queues `reminder` rows in the transaction that decided them; `send_reminders` gets
them out. It claims a batch in one short transaction (`UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP
LOCKED LIMIT n)`: on PostgreSQL concurrent senders skip each other's rows; SQLite drops FOR UPDATE and
its single writer serialises the claims), marking them `sending` with a lease (`next_attempt_at` = now
+ lease_seconds), and commits. Then, message by message, it renews the lease when less than half is left
(so slow channels early in a batch do not let the later messages' leases run out), delivers it to every
routed channel not already in `delivered_to`, and records in its own transaction, only if it still
holds the lease (compare-and-set on `next_attempt_at`): `sent`; or back to `pending` with attempts+1 and
next_attempt_at = now + backoff_seconds·backoff_factor^(attempts-1); or `failed` after max_attempts,
or at once when no channel serves the message's audience and district.

What it promises: two senders never hold the same message at once, so a message is not delivered twice
while both run normally; a sender that finds its lease taken over leaves the message alone ("lost").
A sender that stops after a channel accepted a message but before recording it (a crash, a kill), or
whose delivery of one message outlasts the lease, leaves it `sending`; once the lease expires another
sender takes it over (counted as an attempt, with why in last_error) and sends it again to the
channels not recorded: that channel gets it twice. The file channel drops the repeat by
key (exactly once); email, DingTalk and WeCom cannot (at least once); webhooks get the key to drop it.

Time comes only from ctx.now(): under `--as-of` or a test clock, backoff and leases follow that clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, or_, select, update

from safegrade.errors import Conflict, InvalidInput, spoken
from safegrade.models import Account, Actor, Enterprise, Reminder, table
from safegrade.notify.channels import (
    Channel,
    DeliveryError,
    EnterpriseInfo,
    Message,
    Person,
    PersonChannel,
    channels_from_settings,
    deliver,
    person_channels_from_settings,
    personal,
    route,
)
from safegrade.services.asof import as_of
from safegrade.services.context import Context
from safegrade.services.scope import READ_ENTERPRISES, scope_of, unknown_reminder
from safegrade.settings import RetrySettings

REMINDER, ENTERPRISE = table(Reminder), table(Enterprise)
PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
SUPERSEDED = "superseded"  # queued by the sweep but not to be sent: a later step of the deadline was due with it
STATUS_LABELS = {PENDING: "待发送", SENDING: "发送中", SENT: "已发送", FAILED: "发送失败",
                 SUPERSEDED: "已被后续提醒取代"}
BATCH = 50  # messages claimed per transaction (each one's lease is renewed as its delivery starts)
RECLAIMED = ("taken over after the lease expired: the previous sender stopped or was too slow before "
             "recording; sent again to the channels not recorded")
OUTCOMES = ("claimed", "reclaimed", "sent", "retrying", "failed", "lost")


@dataclass(frozen=True, slots=True)
class ReminderRow:
    """An outbox message as listed: its stored columns (models.Reminder, the same order; instants in the
    deployment's time zone), its enterprise, and the labels."""

    id: int
    deadline_id: int | None
    kind: str
    subject: str
    due_on: date
    step: str
    audience: str
    enterprise_id: int | None
    district: str | None
    title: str
    body: str
    queued_at: datetime
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    sent_at: datetime | None
    delivered_to: list[str]
    updated_at: datetime
    credit_code: str | None
    enterprise_name: str | None
    step_label: str
    audience_label: str
    status_label: str
    district_name: str | None


@dataclass(frozen=True, slots=True)
class RequeuedReminder:
    id: int
    was: str  # its status before
    status: str
    attempts_before: int
    next_attempt_at: datetime
    last_error: str | None


def send_reminders(ctx: Context, *, limit: int | None = None) -> dict[str, int]:
    """Deliver the due messages (at most `limit`); counts of claimed, reclaimed (after an expired lease),
    sent, retrying, failed, and lost (its lease expired meanwhile and another sender took it over)."""
    if limit is not None and limit < 1:
        raise InvalidInput(f"{{limit}}: {limit} is not a number of messages; give 1 or more", code="out_of_range",
                           field="limit", value=limit, allowed="1 or more")
    channels = channels_from_settings(ctx.settings, ctx.rules)
    to_people = person_channels_from_settings(ctx.settings)
    people = _people(ctx) if to_people else []
    retry = ctx.settings.notifications.retry
    counts = dict.fromkeys(OUTCOMES, 0)
    while limit is None or counts["claimed"] < limit:
        size = BATCH if limit is None else min(BATCH, limit - counts["claimed"])
        batch, lease_until = _claim(ctx, size, retry.lease_seconds)
        if not batch:
            break
        counts["claimed"] += len(batch)
        counts["reclaimed"] += sum(row["last_error"] == RECLAIMED for row in batch)
        for row in batch:
            counts[_send_one(ctx, row, lease_until, channels, retry, (people, to_people))] += 1
    return counts


def _claim(ctx: Context, size: int, lease_seconds: int) -> tuple[list[dict[str, Any]], datetime]:
    """Mark up to `size` due messages `sending` under a lease, and commit; with their enterprises."""
    now = ctx.now()
    lease_until = now + timedelta(seconds=lease_seconds)
    r = REMINDER.c
    due = (select(r.id).where(r.status.in_((PENDING, SENDING)), r.next_attempt_at <= now)
           .order_by(r.next_attempt_at, r.id).limit(size).with_for_update(skip_locked=True))
    expired = r.status == SENDING  # SET expressions see the row as it was before this update
    claim = (update(REMINDER).where(r.id.in_(due.scalar_subquery()))
             .values(status=SENDING, next_attempt_at=lease_until, updated_at=now,
                     attempts=case((expired, r.attempts + 1), else_=r.attempts),
                     last_error=case((expired, RECLAIMED), else_=r.last_error))
             .returning(*REMINDER.c))
    with ctx.store.write() as session:
        rows = [dict(row) for row in session.execute(claim).mappings()]
        ids = sorted({row["enterprise_id"] for row in rows if row["enterprise_id"] is not None})
        enterprises = {e["id"]: e for e in session.execute(
            select(ENTERPRISE.c.id, ENTERPRISE.c.name, ENTERPRISE.c.credit_code, ENTERPRISE.c.contact,
                   ENTERPRISE.c.phone).where(ENTERPRISE.c.id.in_(ids))).mappings()} if ids else {}
    for row in rows:
        found = enterprises.get(row["enterprise_id"])
        row["enterprise"] = EnterpriseInfo(found["name"], found["credit_code"], found["contact"] or "",
                                           found["phone"] or "") if found else None
    rows.sort(key=lambda row: (row["next_attempt_at"], row["id"]))
    return rows, lease_until


def _people(ctx: Context) -> list[Person]:
    """The accounts a reminder can reach in person: enabled, of a role that is an audience, with a contact."""
    a, c = table(Actor).c, table(Account).c
    query = (select(a.name, a.role, a.district, a.enterprise_code, c.email, c.phone, c.im_user)
             .join(table(Account), c.actor_id == a.id)
             .where(c.disabled.is_(False), a.role.in_(("enterprise", "district", "bureau")))
             .order_by(a.name))
    with ctx.store.read() as session:
        rows = session.execute(query).mappings().all()
    return [Person(r["name"], r["role"], r["district"], r["enterprise_code"],
                   {k: r[k] for k in ("email", "phone", "im_user") if r[k]}) for r in rows]


def message_of(ctx: Context, row: dict[str, Any]) -> Message:
    """The message of an outbox row. Its key is the row's natural identity (subject, due date, step,
    audience), which stays the same if the database is rebuilt, unlike its id."""
    key = f"reminder:{row['subject']}:{row['due_on'].isoformat()}:{row['step']}:{row['audience']}"
    district = row["district"]
    return Message(key=key, title=row["title"], body=row["body"], audience=row["audience"], district=district,
                   at=ctx.now(), district_name=ctx.rules.district_name(district) if district else None,
                   enterprise=row.get("enterprise"))


def _send_one(ctx: Context, row: dict[str, Any], lease_until: datetime, channels: list[Channel],
              retry: RetrySettings, to_people: tuple[list[Person], list[PersonChannel]] = ([], [])) -> str:
    """Deliver one claimed message to its channels, and a copy to each account of its audience that a channel to
    people reaches; record the outcome; the outcome's name."""
    renewed = _keep_lease(ctx, row["id"], lease_until, retry.lease_seconds)
    if renewed is None:
        return "lost"
    lease_until = renewed
    message = message_of(ctx, row)
    routed = [(channel, message) for channel in route(channels, message)] + personal(message, *to_people)
    delivered = list(row["delivered_to"] or [])
    errors = []
    if not routed:
        errors.append(f"no channel serves audience {message.audience} ({_audience_label(ctx, message.audience)}) "
                      f"in district {message.district_name or '(none)'} ({message.district or '-'}); "
                      f"add one to notifications.channels, {spoken().hint('retry_reminders')}")
    for channel, copy in routed:
        if channel.name in delivered:
            continue
        try:
            deliver(channel, copy)
            delivered.append(channel.name)
        except DeliveryError as exc:
            errors.append(str(exc))
    now = ctx.now()
    values: dict[str, Any] = {"delivered_to": delivered, "updated_at": now}
    if not errors:
        outcome = SENT
        values |= {"status": SENT, "sent_at": now, "next_attempt_at": now, "last_error": None}
    else:
        attempts = row["attempts"] + 1
        last_error = "; ".join(errors)
        if not routed or attempts >= retry.max_attempts:
            outcome = FAILED
            values |= {"status": FAILED, "next_attempt_at": now}
        else:
            outcome = "retrying"
            wait = retry.backoff_seconds * retry.backoff_factor ** (attempts - 1)
            values |= {"status": PENDING, "next_attempt_at": now + timedelta(seconds=wait)}
        values |= {"attempts": attempts, "last_error": last_error}
    r = REMINDER.c
    with ctx.store.write() as session:
        held = session.connection().execute(update(REMINDER).where(
            r.id == row["id"], r.status == SENDING, r.next_attempt_at == lease_until).values(**values)).rowcount
    return outcome if held else "lost"


def _keep_lease(ctx: Context, reminder_id: int, lease_until: datetime, lease_seconds: int) -> datetime | None:
    """Before a message's delivery starts, renew its lease if less than half of it is left (slow channels
    earlier in the batch used it up), so that no other sender takes it over while it is being delivered;
    the lease held, or None if another sender has taken the message over already."""
    now = ctx.now()
    if lease_until - now >= timedelta(seconds=lease_seconds) / 2:
        return lease_until
    renewed = now + timedelta(seconds=lease_seconds)
    r = REMINDER.c
    with ctx.store.write() as session:
        held = session.connection().execute(update(REMINDER).where(
            r.id == reminder_id, r.status == SENDING, r.next_attempt_at == lease_until)
            .values(next_attempt_at=renewed, updated_at=now)).rowcount
    return renewed if held else None


# --- looking and requeueing ----------------------------------------------------------------------------------

def _audience_label(ctx: Context, audience: str) -> str:
    role = ctx.rules.lifecycle.roles.get(audience)
    return role.label if role is not None else audience


def step_label(step: str) -> str:
    """'-7' → 到期前7天, '0' → 到期当日, '+3' → 逾期3天; other steps as they are."""
    if re.fullmatch(r"[+-]?\d+", step):
        days = int(step)
        return "到期当日" if days == 0 else f"到期前{-days}天" if days < 0 else f"逾期{days}天"
    return {"escalation": "逾期升级"}.get(step, step)


def list_reminders(ctx: Context, *, failed: bool = False, status: str | None = None, subject: str | None = None,
                   enterprise: str | None = None, limit: int = 500) -> list[ReminderRow]:
    """Outbox messages as they stood at the context's now, with their enterprise then, by due date.
    `failed`: failed ones and those failing (pending after an attempt)."""
    if limit < 1:
        raise InvalidInput(f"{{limit}}: {limit} is not a number of messages; give 1 or more", code="out_of_range",
                           field="limit", value=limit, allowed="1 or more")
    if status is not None and status not in STATUS_LABELS:
        raise InvalidInput(f"{{status}}: {status!r}; choose one of {', '.join(STATUS_LABELS)}",
                           code="unknown_choice", field="status", value=status, allowed=list(STATUS_LABELS))
    scope = ctx.reader(READ_ENTERPRISES)
    with ctx.store.read() as session:
        then = as_of(ctx, session)
        m, e = then.table(REMINDER), then.table(ENTERPRISE)
        r = m.c
        query = (select(m, e.c.credit_code, e.c.name.label("enterprise_name"))
                 .outerjoin(e, e.c.id == r.enterprise_id).order_by(r.due_on, r.id).limit(limit))
        owned = scope.where_owned(r.district, r.enterprise_id, ENTERPRISE)
        if owned is not None:  # an enterprise reads the messages to it, a district officer its district's
            query = query.where(owned, *([r.audience == "enterprise"] if scope.kind == "enterprise" else []))
        if status is not None:
            query = query.where(r.status == status)
        if failed:
            query = query.where(or_(r.status == FAILED, and_(r.status == PENDING, r.attempts > 0)))
        if subject:
            query = query.where(r.subject == subject.strip())
        if enterprise:
            query = query.where(e.c.credit_code == enterprise.strip().upper())
        rows = [dict(row) for row in session.execute(query).mappings()]
    zone = ctx.settings.zone
    for row in rows:
        for name in ("queued_at", "next_attempt_at", "sent_at", "updated_at"):
            row[name] = row[name].astimezone(zone) if row[name] is not None else None
    return [ReminderRow(**row, step_label=step_label(row["step"]), audience_label=_audience_label(ctx, row["audience"]),
                        status_label=STATUS_LABELS.get(row["status"], row["status"]),
                        district_name=ctx.rules.district_name(row["district"]) if row["district"] else None)
            for row in rows]


def retry_reminder(ctx: Context, reminder_id: int) -> RequeuedReminder:
    """Requeue a failed (or failing) message to be sent by the next run, with a fresh count of attempts.

    The rules' `requeue_reminder` action says who may (a district officer only their district's messages)."""
    actor = ctx.require("requeue_reminder", "requeue reminders")
    r = REMINDER.c
    now = ctx.now()
    with ctx.store.write() as session:
        row = session.execute(select(REMINDER).where(r.id == reminder_id)).mappings().first()
        if row is None or not scope_of(ctx.rules, actor).sees_district(row["district"]):
            raise unknown_reminder(reminder_id)  # out of the actor's scope: as if there were none
        if row["status"] not in (FAILED, PENDING):
            raise InvalidInput(f"reminder #{reminder_id} is {STATUS_LABELS.get(row['status'], row['status'])} "
                               f"({row['status']}); "
                               "only a failed or pending message is requeued", code="wrong_status",
                               field="reminder_id", value=reminder_id, allowed=[FAILED, PENDING])
        done = session.connection().execute(update(REMINDER).where(r.id == reminder_id, r.status == row["status"])
                                            .values(status=PENDING, attempts=0, next_attempt_at=now,
                                                    updated_at=now)).rowcount
        if not done:
            raise Conflict(f"reminder #{reminder_id} was changed by a sender meanwhile; look again",
                           code="changed_meanwhile", field="reminder_id", value=reminder_id)
    return RequeuedReminder(id=reminder_id, was=row["status"], status=PENDING, attempts_before=row["attempts"],
                            next_attempt_at=now, last_error=row["last_error"])


def my_reminders(ctx: Context, *, limit: int = 500) -> list[ReminderRow]:
    """The messages addressed to the acting account, as `list_reminders` reads them: an enterprise account's
    are its enterprise's; a district officer's those to the district officers of their district; any other
    account's those to its role."""
    actor = ctx.actor()
    if actor.enterprise_code:
        return list_reminders(ctx, enterprise=actor.enterprise_code, limit=limit)
    rows = list_reminders(ctx, limit=max(limit, 100_000))
    mine = [r for r in rows if r.audience == actor.role and (actor.district is None or r.district == actor.district)]
    return mine[:limit]
