"""`deadlines plan --from A --to B`: every reminder and escalation the daily sweep would take between two
days, day by day, changing nothing. It reads the same deadlines with the same timetable and judges them
the same way as the sweep; escalations are played on a copy of each enterprise through the lifecycle
machine, so a second escalation of one enterprise sees the state the first would leave."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import bindparam, select

from safegrade import timetable
from safegrade.errors import DOMAIN_ERRORS, InvalidInput
from safegrade.models import Campaign, Enterprise, table
from safegrade.services.context import Context
from safegrade.services.deadlines import DEADLINE, OPEN, PAUSED
from safegrade.services.lifecycle import snapshot
from safegrade.services.sweep import PRIORITY, gather, judge, outstanding, subject
from states import LifecycleError

ENTERPRISE, CAMPAIGN = table(Enterprise), table(Campaign)
MAX_DAYS = 400


def plan_deadlines(ctx: Context, start: date, end: date) -> dict[str, Any]:
    if end < start:
        raise InvalidInput(f"--to {end} is before --from {start}")
    if (end - start).days > MAX_DAYS:
        raise InvalidInput(f"--from {start} --to {end} spans more than {MAX_DAYS} days; plan a shorter stretch")
    items: list[dict[str, Any]] = []
    with ctx.store.read() as session:
        rows = [dict(r) for r in session.execute(select(DEADLINE).where(
            DEADLINE.c.next_on <= end, DEADLINE.c.status == OPEN)).mappings()]
        paused = session.execute(select(DEADLINE.c.id).where(DEADLINE.c.status == PAUSED)).all()
        facts = gather(session, rows)
        escalating: list[tuple[date, dict[str, Any], timetable.DeadlineKind]] = []
        for d in rows:
            kind = ctx.rules.deadlines.kind(d["kind"])
            if judge(ctx, d, facts) is not None:
                continue  # the sweep will find it met or moot
            about = subject(ctx, d, facts)
            after = max(d["done_through"], start - timedelta(days=1))
            for a in timetable.due_actions(kind, d["due_on"], after, end, escalated=d["escalation"] is not None):
                on = max(a.on, start)  # an escalation already due is taken by the first sweep
                if a.escalation:
                    escalating.append((on, d, kind))
                    continue
                items.append(_item(ctx, on, d, about.enterprise or about.district_name, a.step, "reminder",
                                   list(kind.remind), f"{kind.label}：{timetable.days_text((d['due_on'] - on).days)}"))
        items.extend(_escalations(ctx, session, escalating, facts))
        items.extend(_progress(ctx, session, start, end))
    days: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for item in sorted(items, key=lambda i: (i["on"], i["what"] != "reminder", i["kind"], i["subject"])):
        days[item["on"]].append(item)
    return {"from": start, "to": end, "days": [{"date": day, "items": its} for day, its in sorted(days.items())],
            "reminders": sum(len(i["audiences"]) for i in items if i["what"] in ("reminder", "progress")),
            "escalations": sum(1 for i in items if i["what"] == "event"), "paused": len(paused),
            "assumes": "nothing else happens meanwhile (no evidence submitted, no event fired by hand)"}


def _item(ctx: Context, on: date, d: dict[str, Any], who: str, step: str, what: str, audiences: list[str],
          detail: str) -> dict[str, Any]:
    return {"on": on, "kind": d["kind"], "label": ctx.rules.deadlines.kind(d["kind"]).label, "subject": d["subject"],
            "who": who, "district_name": ctx.rules.district_name(d["district"]), "due_on": d["due_on"], "step": step,
            "what": what, "audiences": audiences, "detail": detail}


def _escalations(ctx: Context, session: Any, due: list[tuple[date, dict[str, Any], timetable.DeadlineKind]],
                 facts: Any) -> list[dict[str, Any]]:
    """Play the escalations in the sweep's order on copies of the enterprises."""
    ids = sorted({d["enterprise_id"] for _, d, k in due if k.escalate and k.escalate.event})
    rows = {r["id"]: dict(r) for r in session.execute(select(ENTERPRISE).where(
        ENTERPRISE.c.id.in_(bindparam("ids", expanding=True))), {"ids": ids}).mappings()} if ids else {}
    out = []
    fired_on: dict[tuple[int, date], str] = {}
    for on, d, kind in sorted(due, key=lambda x: (x[0], PRIORITY.index(x[1]["kind"]), x[1]["id"])):
        esc = kind.escalate
        assert esc is not None
        who = subject(ctx, d, facts)
        name = who.enterprise or who.district_name
        if esc.event is None:
            out.append(_item(ctx, on, d, name, "escalation", "notice", list(esc.notice), "逾期告知"))
            continue
        row = rows[d["enterprise_id"]]
        label = ctx.rules.lifecycle.events[esc.event].label
        if row["state"] not in esc.from_states or (row["id"], on) in fired_on:
            why = (f"同日已因{fired_on[(row['id'], on)]}升级" if (row["id"], on) in fired_on
                   else f"企业处于「{ctx.rules.state_label(row['state'])}」")
            out.append(_item(ctx, on, d, name, "escalation", "skipped", list(esc.notice), f"不自动{label}：{why}"))
            continue
        try:
            outcome = ctx.rules.machine.fire(snapshot(row), esc.event, datetime.combine(on, time(8), ctx.settings.zone),
                                             ctx.rules.machine.coerce(esc.event, esc.data))
        except (LifecycleError, *DOMAIN_ERRORS) as exc:
            out.append(_item(ctx, on, d, name, "escalation", "skipped", list(esc.notice), f"不能{label}：{exc}"))
            continue
        out.append(_item(ctx, on, d, name, "escalation", "event", list(esc.notice),
                         f"{label}：{ctx.rules.state_label(row['state'])} → {ctx.rules.state_label(outcome.dest)}"))
        row["state"] = outcome.dest
        fired_on[(row["id"], on)] = d["subject"]
    return out


def _progress(ctx: Context, session: Any, start: date, end: date) -> list[dict[str, Any]]:
    """The weekly progress notes: the first day of each ISO week (or `start`) inside an open window."""
    campaigns = [dict(r) for r in session.execute(select(CAMPAIGN).where(
        CAMPAIGN.c.starts_on <= end, CAMPAIGN.c.ends_on >= start)).mappings()]
    counts = outstanding(session, [c["id"] for c in campaigns])
    out = []
    for c in campaigns:
        day, seen = max(start, c["starts_on"]), set()
        while day <= min(end, c["ends_on"]):
            week = day.isocalendar()[:2]
            if week not in seen:
                seen.add(week)
                for (cid, district), (total, left) in sorted(counts.items()):
                    if cid == c["id"] and left:
                        d = {"kind": "campaign_window", "subject": f"campaign:{cid}:{district}", "district": district,
                             "due_on": c["ends_on"]}
                        out.append(_item(ctx, day, d, ctx.rules.district_name(district),
                                         f"progress:{week[0]}-W{week[1]:02d}", "progress", ["district"],
                                         f"{c['name']}：尚有{left}/{total}家未完成评估"))
            day += timedelta(days=1)
    return out
