"""The reviewer's closed-loop report (整改闭环核查报告) as an html page, an .xlsx workbook or JSON, from
the figures `safegrade.services.reporting.loop.loop_report` gathers. Pure: no database here.

The html page and the workbook show the same rows (built once here): the chain's verification result
first — a broken chain in a red box naming its first broken event —, then per enterprise its
findings, the evidence with SHA-256, the trail's loop events, reminders and escalations. Workbook
sheets: 汇总 (verification result and totals), 企业, 问题, 整改材料, 提醒与升级.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from safegrade.reports.loop_common import Sheet, render, write_json, write_text, write_workbook

if TYPE_CHECKING:  # the report's contract: only its types (reports/ stays free of the database)
    from safegrade.services.reporting.loop import EnterpriseLoop, LoopReport

TOTALS = (("enterprises", "企业（家）"), ("findings", "问题（项）"), ("major", "其中重大事故隐患"),
          ("verified", "已验收销号"), ("submitted", "已提交待验收"), ("open", "待整改"),
          ("overdue", "逾期未整改"), ("closed_late", "逾期后销号"), ("evidence_files", "整改材料（份）"),
          ("rejections", "验收退回（次）"), ("reminders_sent", "提醒已发送（条）"),
          ("reminders_failed", "提醒发送失败（条）"), ("escalations", "逾期升级（次）"),
          ("mean_days_to_close", "平均闭环天数"), ("max_days_to_close", "最长闭环天数"),
          ("problems", "核查发现的不一致（处）"), ("broken_chains", "审计链断裂（家）"))
TRAIL_EVENTS = {"finding_submitted": "提交整改材料", "finding_rejected": "验收不通过（退回）",
                "finding_verified": "验收通过（销号）"}


def scope_text(report: LoopReport) -> str:
    camp = report.campaign
    if camp is not None:
        where = f"{report.district_name}" if report.district else "全部"
        return (f"评估批次「{camp.name}」（{camp.starts_on} 至 {camp.ends_on}）{where} "
                f"{len(report.enterprises)} 家企业")
    e = report.enterprises[0]
    return f"{e.name}（{e.credit_code}）"


def verdict_text(report: LoopReport) -> str:
    events = sum(e.chain.events for e in report.enterprises)
    if report.chain_ok:
        return (f"{len(report.enterprises)} 家企业的审计链（共 {events} 个事件）逐一重新计算哈希，"
                "链接完整，企业记录与审计链一致")
    return (f"{len(report.broken)} 家企业的审计记录被改动，断裂点之后的记录不可信 —— "
            + "；".join(f"{b.credit_code} 第 {b.seq} 号事件：{b.kind_label}" for b in report.broken))


def trail_rows(e: EnterpriseLoop) -> list[dict[str, Any]]:
    """The finding loop's audit events of one enterprise, in chain order: each event's fields, its finding,
    the label of its event and the files it names (in one text)."""
    rows = []
    for f in e.findings:
        events = [*f.submissions, *f.rejections, *([f.verification] if f.verification else [])]
        for x in events:
            files = "、".join(g.file for g in getattr(x, "files", []))
            rows.append({**{k: getattr(x, k) for k in _EVENT_FIELDS}, "finding": f.id,
                         "label": TRAIL_EVENTS.get(x.event, x.event), "files": files})
    return sorted(rows, key=lambda r: r["seq"])


_EVENT_FIELDS = ("id", "enterprise", "seq", "hash", "event", "at", "actor", "role", "reason")


def render_loop_html(report: LoopReport) -> str:
    return render("loop.html.j2", report=report, scope=scope_text(report), verdict=verdict_text(report),
                  totals=TOTALS, trail_rows=trail_rows)


def write_loop(report: LoopReport, path: Path, fmt: str) -> Path:
    """Write the report in `fmt` (html, xlsx or json) to `path`."""
    if fmt == "html":
        write_text(path, render_loop_html(report))
    elif fmt == "xlsx":
        write_loop_xlsx(report, path)
    else:
        write_json(path, report)
    return path


def write_loop_xlsx(report: LoopReport, path: Path) -> None:
    ents = report.enterprises
    write_workbook(path, [_summary(report), _enterprises(ents), _findings(ents), _evidence(ents),
                          _reminders(ents)], report.title)


def _of(value: Any, name: str) -> Any:
    """A field of an optional record (None when there is no record)."""
    return getattr(value, name) if value is not None else None


def _summary(report: LoopReport) -> Sheet:
    rows: list[list[Any]] = [
        ["报告", report.title], ["范围", scope_text(report)], ["统计截至", report.as_of],
        ["生成时间", report.generated_at], ["审计链校验", "通过" if report.chain_ok else "断裂"],
        ["校验结论", verdict_text(report)]]
    for b in report.broken:
        rows.append([f"断裂：{b.credit_code}",
                     f"首个断裂事件：第 {b.seq} 号（审计事件编号 {b.event_id or '—'}，"
                     f"哈希 {b.hash or '—'}）{b.kind_label}：{b.detail}"])
    rows += [[label, getattr(report.totals, key)] for key, label in TOTALS]
    return Sheet("汇总", ["项目", "内容"], rows, [24, 110])


def _enterprises(ents: list[EnterpriseLoop]) -> Sheet:
    header = [
        "企业名称", "统一社会信用代码", "区", "当前状态", "审计链", "事件数",
        "链头哈希", "首个断裂事件序号", "断裂事件编号", "断裂事件哈希",
        "断裂类型", "断裂说明", "问题", "已验收销号", "逾期未整改", "逾期后销号",
        "整改材料", "提醒已发送", "提醒失败", "逾期升级", "平均闭环天数",
        "核查发现"]
    rows = []
    for e in ents:
        c, s, b = e.chain, e.summary, e.chain.first_break
        rows.append([e.name, e.credit_code, e.district_name, e.state_label, "通过" if c.ok else "断裂",
                     c.events, c.head_hash, _of(b, "seq"), _of(b, "event_id"), _of(b, "hash"), _of(b, "kind_label"),
                     _of(b, "detail"), s.findings, s.verified, s.overdue, s.closed_late, s.evidence_files,
                     s.reminders_sent, s.reminders_failed, s.escalations, s.mean_days_to_close,
                     s.problems])
    return Sheet("企业", header, rows, [30, 22, 10, 10, 8, 8, 66, 10, 10, 66, 24, 50, *([10] * 10)])


def _findings(ents: list[EnterpriseLoop]) -> Sheet:
    header = [
        "企业名称", "统一社会信用代码", "问题编号", "评估批次", "要素", "扣分项",
        "扣分项名称", "问题内容", "重大事故隐患", "登记日期", "整改期限", "状态",
        "提交次数", "退回次数", "验收人", "验收时间", "验收事件序号",
        "验收事件哈希", "闭环天数", "逾期天数", "逾期后销号", "提醒已发送",
        "期限状态", "升级", "升级日期", "升级事件哈希", "核查发现"]
    rows = []
    for e in ents:
        for f in e.findings:
            v, d = f.verification, f.deadline
            fired = _of(d, "escalation_event")
            rows.append([e.name, e.credit_code, f.id, f.campaign, f.element_label, f.item,
                         f.item_label, f.content, f.major, f.registered_on, f.due_on, f.status_label,
                         len(f.submissions), len(f.rejections), _of(v, "actor") or f.verified_by,
                         _of(v, "at") or f.verified_at, _of(v, "seq"), _of(v, "hash"), f.days_to_close,
                         f.overdue_days, f.closed_late, f.reminders_sent, _of(d, "status_label"),
                         _of(d, "escalation_label"), _of(d, "escalated_on"), _of(fired, "hash"), f.problems])
    return Sheet("问题", header, rows, [30, 22, 8, 22, 18, 8, 30, 40, 8, 12, 12, 12, 8, 8, 10, 18, 8, 66, 8, 8, 8,
                                       8, 14, 12, 12, 66, 50])


def _evidence(ents: list[EnterpriseLoop]) -> Sheet:
    header = [
        "企业名称", "统一社会信用代码", "问题编号", "文件名", "SHA-256",
        "大小（字节）", "提交人", "提交时间", "审计链有记录", "审计事件序号",
        "审计事件哈希"]
    rows = [[e.name, e.credit_code, f.id, x.file, x.sha256, x.size, x.submitted_by,
             x.submitted_at, x.in_trail, _of(x.event, "seq"), _of(x.event, "hash")]
            for e in ents for f in e.findings for x in f.evidence]
    return Sheet("整改材料", header, rows, [30, 22, 8, 28, 66, 10, 12, 20, 10, 10, 66])


def _reminders(ents: list[EnterpriseLoop]) -> Sheet:
    header = [
        "类别", "企业名称", "统一社会信用代码", "事项", "期限类型", "到期日",
        "节点/事件", "对象/状态变化", "状态", "时间", "发送时间", "尝试次数",
        "错误/事由", "审计事件序号", "审计事件哈希"]
    rows: list[list[Any]] = []
    for e in ents:
        for r in e.reminders:
            rows.append(["提醒", e.name, e.credit_code, r.subject, r.kind_label, r.due_on,
                         r.step_label, r.audience_label, r.status_label, r.queued_at, r.sent_at,
                         r.attempts, r.last_error, None, None])
        for x in e.escalations:
            how = "自动" if x.automatic else f"人工（{x.actor}）"
            rows.append(["升级", e.name, e.credit_code, x.deadline, x.deadline_label, None,
                         x.event_label, f"{x.from_label} → {x.to_label}", how, x.at, None, None,
                         x.reason, x.seq, x.hash])
        for d in e.other_escalations:
            fired = d.escalation_event
            rows.append(["升级", e.name, e.credit_code, d.subject, d.kind_label, d.due_on,
                         d.escalation_label, None, d.status_label, d.escalated_on, None, None,
                         d.escalation_note, _of(fired, "seq"), _of(fired, "hash")])
    return Sheet("提醒与升级", header, rows, [6, 30, 22, 16, 16, 12, 12, 22, 12, 20, 20, 8, 40, 10, 66])
