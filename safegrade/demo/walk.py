"""The demo's simulated months: each morning at 08:00 the scheduler's daily run — the very
`safegrade.services.jobs.daily_job` that `safegrade scheduler run` calls — and, later that day, the people
who answer it: a district officer holds the interview an escalation called for, the bureau revokes a
grade whose publicity period has ended, and an enterprise interviewed five days before has rectified what
was overdue (the interview did its work: its follow-up deadline, 约谈后整改复查, is met; left unrectified it
would be proposed for revocation — tests/safegrade/services/test_followup.py). Nothing here decides a
deadline: the sweep does."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from rich.console import Console

from safegrade.clock import TestClock, parse_instant
from safegrade.services.context import Context
from safegrade.services.enterprise import list_enterprises
from safegrade.services.jobs import daily_job
from safegrade.services.lifecycle import fire_event
from states.names import Event, State

Actor = Callable[[str | None], Context]
Rectify = Callable[[str, str], tuple[int, bool]]  # (credit code, officer) → (findings verified, loop closed)


def walk(console: Console, as_: Actor, clock: TestClock, start: date, days: int, *, officer_of: Callable[[str], str],
         bureau: str, zone: Any, rectify: Rectify) -> dict[str, Any]:
    """Run `days` simulated days from `start`; print the days on which something happened."""
    totals: Counter[str] = Counter()
    summoned: dict[str, date] = {}  # credit code → day the sweep moved it to 约谈
    interviewed: dict[str, tuple[date, str]] = {}  # credit code → (day of the interview, the officer who held it)
    for n in range(days):
        day = start + timedelta(days=n)
        clock.set(parse_instant(f"{day}T08:00", zone))
        run = daily_job(as_("system"), "scheduler")
        sweep, sent = run["deadline_sweep"], run["send_reminders"]
        totals.update({"reminders": sweep["reminders"] + run["campaign_progress"]["queued"],
                       "escalations": sweep["escalations"], "notices": sweep["notices"], "skipped": sweep["skipped"],
                       "sent": sent.get("sent", 0), "failed": sent.get("failed", 0)})
        moved = Counter(f"{e['what']}→{e['to_state']}" for e in sweep["log"] if e.get("to_state"))
        for e in sweep["log"]:
            if e.get("to_state") == State.INTERVIEW and e.get("what") == Event.ESCALATE:  # (not an expiry kept there)
                summoned[e["code"]] = day
        clock.set(parse_instant(f"{day}T10:00", zone))
        held = _hold_interviews(as_, day, summoned, officer_of)
        interviewed.update({code: (day, officer) for code, officer in held})
        revoked = _revoke_after_publicity(as_, day, bureau)
        clock.set(parse_instant(f"{day}T14:00", zone))
        answered = [rectify(code, officer) for code, (on, officer) in sorted(interviewed.items())
                    if (day - on).days >= 5]
        for code in [c for c, (on, _) in interviewed.items() if (day - on).days >= 5]:
            del interviewed[code]
        totals.update({"interviews": len(held), "revoked": len(revoked), "rectified": sum(n for n, _ in answered),
                       "closed": sum(closed for _, closed in answered)})
        if sweep["escalations"] or sweep["notices"] or held or revoked or answered or day.weekday() == 0:
            parts = [f"提醒 {sweep['reminders'] + run['campaign_progress']['queued']}", f"送达 {sent.get('sent', 0)}"]
            if moved:
                parts.append("升级 " + "、".join(f"{k} ×{v}" for k, v in sorted(moved.items())))
            if sweep["notices"]:
                parts.append(f"逾期告知 {sweep['notices']}")
            if sweep["skipped"]:
                parts.append(f"不升级 {sweep['skipped']}")
            if held:
                parts.append(f"区局约谈 {len(held)}")
            if answered:
                parts.append(f"约谈后整改验收 {sum(n for n, _ in answered)} 项")
            if revoked:
                parts.append(f"公告撤销 {len(revoked)}")
            console.print(f"{day} {'一二三四五六日'[day.weekday()]} 08:00 巡检：" + "，".join(parts), markup=False)
    return dict(totals)


def _hold_interviews(as_: Actor, day: date, summoned: dict[str, date],
                     officer_of: Callable[[str], str]) -> list[tuple[str, str]]:
    """Three days after an escalation to 约谈, the district officer holds the interview; (code, officer) of each."""
    held = []
    waiting = {e.credit_code: e for e in list_enterprises(as_(None), state=State.INTERVIEW)}
    for code, since in sorted(summoned.items()):
        if code in waiting and (day - since).days >= 3:
            officer = officer_of(waiting[code].district_name)
            fire_event(as_(officer), code, Event.HOLD_INTERVIEW, reason="逾期整改约谈",
                       data={"attendees": "企业主要负责人、安全管理人员", "record": "责令限期完成整改"})
            held.append((code, officer))
            del summoned[code]
    return held


def _revoke_after_publicity(as_: Actor, day: date, bureau: str) -> list[str]:
    """The day after a publicity period ends (the sweep told the bureau so), the bureau revokes."""
    due = [e.credit_code for e in list_enterprises(as_(None), state=State.REVOCATION_PENDING)
           if e.publicity_ends_on and e.publicity_ends_on < day]
    for code in due:
        fire_event(as_(bureau), code, Event.REVOKE, reason="公示期满无异议，公告撤销")
    return due
