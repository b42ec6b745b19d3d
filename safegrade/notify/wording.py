"""The Chinese text of reminders and escalation notices: who it is for, what is due, by when, how many
days are left, and what to do. Pure: the sweep gathers the facts, this writes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from safegrade.domain.timetable import AUDIENCE_LABELS, DeadlineKind, days_text


@dataclass(frozen=True)
class Subject:
    """What a deadline is about, as a reader needs it."""

    what: str  # e.g. 整改问题#12（GZ01 安全生产规章制度不健全…）
    district_name: str
    enterprise: str | None = None  # name
    credit_code: str | None = None
    contact: str | None = None


def _lines(audience: str, s: Subject, due_on: date, today: date) -> list[str]:
    lines = [f"{AUDIENCE_LABELS[audience]}：", f"事项：{s.what}"]
    if s.enterprise:
        lines.append(f"企业：{s.enterprise}（{s.credit_code}），{s.district_name}"
                     + (f"，联系人 {s.contact}" if s.contact and audience != "enterprise" else ""))
    else:
        lines.append(f"辖区：{s.district_name}")
    lines.append(f"期限：{due_on:%Y年%m月%d日}（{days_text((due_on - today).days)}）")
    return lines


def reminder(kind: DeadlineKind, audience: str, s: Subject, due_on: date, today: date) -> tuple[str, str]:
    """(title, body) of a reminder sent `today` about a deadline due on `due_on`."""
    who = s.enterprise or s.district_name
    title = f"【{kind.label}提醒】{who}：{days_text((due_on - today).days)}"
    body = [*_lines(audience, s, due_on, today), f"请：{kind.todo.get(audience, '')}"]
    return title, "\n".join(body)


def escalation(kind: DeadlineKind, audience: str, s: Subject, due_on: date, today: date, outcome: str
               ) -> tuple[str, str]:
    """(title, body) of the notice that a deadline has passed and what the system did about it."""
    who = s.enterprise or s.district_name
    title = f"【{kind.label}逾期】{who}：{outcome.split('：', 1)[0]}"
    body = [*_lines(audience, s, due_on, today), f"处理：{outcome}", f"请：{kind.todo.get(audience, '')}"]
    return title, "\n".join(body)


def progress(campaign: str, district_name: str, total: int, done: int, ends_on: date, today: date) -> tuple[str, str]:
    """(title, body) of the weekly progress note to a district with assessments outstanding."""
    left = total - done
    title = f"【运行质量评估进度】{district_name}：尚有{left}家未完成"
    body = [f"{AUDIENCE_LABELS['district']}：", f"事项：{campaign}", f"辖区：{district_name}",
            f"进度：应评估{total}家，已完成{done}家，尚有{left}家未完成",
            f"截止：{ends_on:%Y年%m月%d日}（{days_text((ends_on - today).days)}）",
            "请：于截止日前完成评估并录入评估结果"]
    return title, "\n".join(body)
