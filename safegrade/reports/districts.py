"""The district oversight report (各区运行质量评估工作监督报告) as html, .xlsx or JSON, from
`safegrade.services.reporting.districts.district_report`. Pure: no database here.

Workbook sheets: 各区汇总 (one row per district and a total), 数据质量问题 (one row per flag, its
audit events in one cell), 审计事件 (one row per flag and event: id, credit code, seq, hash).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safegrade.reports.loop_common import Sheet, render, write_json, write_text, write_workbook

if TYPE_CHECKING:  # the report's contract: only its type (reports/ stays free of the database)
    from safegrade.services.reporting.districts import DistrictReport

COLUMNS = (("selected", "选定"), ("excluded", "不予评估"), ("to_assess", "应评估"), ("assessed", "已评估"),
           ("assessed_on_time", "按期完成"), ("late", "逾期评估"), ("outstanding", "未完成"),
           ("on_time_rate", "按期完成率（%）"), ("interviews", "约谈（家次）"), ("revocations", "撤销（家）"),
           ("findings", "问题（项）"), ("verified", "已验收销号"), ("verified_on_time", "按期销号"),
           ("overdue_open", "逾期未整改"), ("closed_on_time_rate", "按期销号率（%）"), ("flags_total", "数据质量问题"))

FLAG_HEADER = ("区", "类型", "问题", "统一社会信用代码", "企业", "说明", "审计事件数",
               "审计事件（编号 信用代码 序号 事件 哈希）")
EVENT_HEADER = ("问题序号", "区", "类型", "问题", "审计事件编号", "统一社会信用代码", "序号", "事件", "时间",
                "哈希")


def event_text(e: Mapping[str, Any]) -> str:
    return f"#{e['id']} {e['enterprise']} 第{e['seq']}号 {e['event']} {e['hash']}"


def render_districts_html(report: DistrictReport) -> str:
    return render("districts.html.j2", report=report, columns=COLUMNS)


def write_districts(report: DistrictReport, path: Path, fmt: str) -> Path:
    """Write the report in `fmt` (html, xlsx or json) to `path`."""
    if fmt == "html":
        write_text(path, render_districts_html(report))
    elif fmt == "xlsx":
        write_districts_xlsx(report, path)
    else:
        write_json(path, report)
    return path


def write_districts_xlsx(report: DistrictReport, path: Path) -> None:
    kinds = report.kinds
    header = ["区", *(label for _, label in COLUMNS), *(k.label for k in kinds), "评估逾期区"]
    rows = [[d.district_name, *(getattr(d, key) for key, _ in COLUMNS), *(d.flag_counts[k.kind] for k in kinds),
             d.district_late] for d in [*report.districts, report.total]]
    flags = [[f["district_name"], f["kind"], f["label"], "\n".join(e["credit_code"] for e in f["enterprises"]),
              "\n".join(e["name"] for e in f["enterprises"]), f["detail"], len(f["events"]),
              "\n".join(event_text(e) for e in f["events"]) or "审计链中无对应事件"] for f in report.flags]
    events = [[n, f["district_name"], f["kind"], f["label"], e["id"], e["enterprise"], e["seq"], e["event"], e["at"],
               e["hash"]] for n, f in enumerate(report.flags, start=1) for e in f["events"]]
    write_workbook(path, [
        Sheet("各区汇总", header, rows, [12, *([10] * (len(header) - 1))]),
        Sheet("数据质量问题", FLAG_HEADER, flags, [10, 24, 24, 22, 30, 70, 10, 110]),
        Sheet("审计事件", EVENT_HEADER, events, [8, 10, 24, 24, 12, 22, 8, 18, 20, 66]),
    ], report.title)
