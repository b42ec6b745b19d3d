"""Campaign progress: once a week while a campaign's window is open, each district with assessments
still outstanding is told how far it is (a note in the reminder outbox, keyed by the ISO week)."""

from __future__ import annotations

from sqlalchemy import select

from safegrade.models import Campaign, table
from safegrade.notify import wording
from safegrade.services.context import Context
from safegrade.services.deadlines import DEADLINE, REMINDER, campaign_subject, dialect_insert
from safegrade.services.due import outstanding, reminder_row

CAMPAIGN = table(Campaign)


def campaign_progress(ctx: Context) -> dict[str, int]:
    """Once a week (ISO week) while a campaign's window is open, tell each district with assessments
    outstanding how far it is. Keyed in the outbox by the week: a re-run the same week sends nothing."""
    now = ctx.now()
    today = now.date()
    year, week, _ = today.isocalendar()
    step = f"progress:{year}-W{week:02d}"
    queued = 0
    with ctx.store.write() as session:
        campaigns = [dict(r) for r in session.execute(select(CAMPAIGN).where(
            CAMPAIGN.c.starts_on <= today, CAMPAIGN.c.ends_on >= today)).mappings()]
        counts = outstanding(session, [c["id"] for c in campaigns])
        deadline_ids = dict(session.execute(select(DEADLINE.c.subject, DEADLINE.c.id).where(
            DEADLINE.c.kind == "campaign_window", DEADLINE.c.campaign_id.in_([c["id"] for c in campaigns]))).all()) \
            if campaigns else {}
        rows = []
        by_id = {c["id"]: c for c in campaigns}
        for (campaign_id, district), (total, left) in sorted(counts.items()):
            if left == 0:
                continue
            c = by_id[campaign_id]
            subject_key = campaign_subject(campaign_id, district)
            title, body = wording.progress(c["name"], ctx.rules.district_name(district), total, total - left,
                                           c["ends_on"], today)
            rows.append(reminder_row({"id": deadline_ids.get(subject_key), "kind": "campaign_window",
                                  "subject": subject_key, "due_on": c["ends_on"], "enterprise_id": None,
                                  "district": district}, step, "district", title, body, now))
        if rows:
            stmt = dialect_insert(session, REMINDER).on_conflict_do_nothing(
                index_elements=["subject", "due_on", "step", "audience"])
            conn = session.connection()
            queued = sum(int(conn.execute(stmt, [r]).rowcount or 0) for r in rows)
    return {"campaigns": len(campaigns), "districts": sum(1 for v in counts.values() if v[1]), "queued": queued}
