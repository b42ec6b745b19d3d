"""The campaign of the circular tests, built through the real services with every count known in advance
(test_circular.py's docstring tells it enterprise by enterprise), and what each document must say of it."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import insert, select

from safegrade.clock import TestClock
from safegrade.models import Assessment, Deduction, Enterprise, table
from safegrade.services.actors import add_actor
from safegrade.services.assessment import import_assessments
from safegrade.services.campaign import exclude_member, open_campaign
from safegrade.services.finding import list_findings, reject_finding, submit_finding
from safegrade.services.lifecycle import fire_event
from safegrade.store import Store
from tests.conftest import at
from tests.factories import build_world, plain

CAMPAIGN = "2023年运行质量评估"
W_METHODS, H_METHODS = ["资料审查", "现场检查"], ["资料审查", "现场检查", "现场询问"]


def _doc(code: str, deductions: list[tuple[str, float]], assessed_on: str, methods: list[str],
         materials: dict[str, int]) -> dict[str, Any]:
    return {"credit_code": code, "campaign": CAMPAIGN, "assessed_on": assessed_on, "assessors": ["王工", "李工"],
            "methods": methods, "materials": materials,
            "deductions": [{"item": i, "points": p, "content": f"{i}：现场检查发现问题"} for i, p in deductions]}


def _write(tmp: Path, name: str, docs: list[dict[str, Any]]) -> Path:
    path = tmp / name
    path.write_text(yaml.safe_dump(docs, allow_unicode=True), encoding="utf-8")
    return path


def build_campaign(make, clock: TestClock, tmp: Path) -> dict[str, str]:
    """The campaign of the module docstring, through the services; returns the codes by name."""
    world = build_world(make, tmp, per_district=4)
    w1, w2, w3, w4 = world.wuqing
    h1, h2, h3, h4 = world.hexi
    boss, wq, hx = make("boss"), make("wq"), make("hx")
    open_campaign(boss, CAMPAIGN, date(2023, 6, 1), date(2023, 8, 31), all_=True, ledger_due_on=date(2023, 12, 15))
    exclude_member(wq, CAMPAIGN, w4, "deregistered", "市场监管部门注销公告")

    clock.set(at("2023-07-20 09:00"))
    import_assessments(wq, [_write(tmp, "wuqing.yaml", [
        _doc(w1, [("ZN01", 4), ("ZP01", 5)], "2023-07-10", W_METHODS, {"口袋书": 100, "明白卡": 20}),
        _doc(w2, [("ZN01", 4), ("FX03", 5), ("GZ01", 4), ("PX01", 3)], "2023-07-10", W_METHODS, {"口袋书": 50}),
        _doc(w3, [("ZD01", 5), ("ZN01", 3)], "2023-07-11", W_METHODS, {"小册子": 30}),
    ])])
    import_assessments(hx, [_write(tmp, "hexi.yaml", [
        _doc(h1, [("ZN01", 4), ("ZP02", 3)], "2023-07-12", H_METHODS, {"口袋书": 10}),
        _doc(h3, [("FX01", 5), ("FX02", 5), ("FX03", 5), ("GZ01", 4), ("GZ02", 4), ("PX01", 3)], "2023-07-12",
             H_METHODS, {}),
    ])])
    # two interviews of one enterprise: 2 家次
    interview = {"attendees": "企业主要负责人", "record": "责令限期整改"}
    fire_event(wq, w3, "hold_interview", reason="重大事故隐患约谈", data=interview)
    fire_event(wq, w3, "summon", reason="整改进度滞后，再次约谈")
    fire_event(wq, w3, "hold_interview", reason="第二次约谈", data=interview)
    # evidence sent back once
    add_actor(boss, "企业W1", "enterprise", enterprise_code=w1)
    proof = tmp / "整改报告.txt"
    proof.write_text("整改措施、责任人、资金、时限\n", encoding="utf-8")
    first = next(f for f in plain(list_findings(boss, credit_code=w1)) if f["item"] == "ZN01")
    plain(submit_finding(make("企业W1"), first["id"], [proof], "已整改"))
    plain(reject_finding(wq, first["id"], "缺少现场照片"))
    fire_event(hx, h1, "propose_revocation", reason="监督执法发现提供虚假材料",
               data={"revocation_reason": "false_materials", "revocation_source": "enforcement"})

    clock.set(at("2023-09-04 10:00"))
    import_assessments(hx, [_write(tmp, "hexi-late.yaml", [
        _doc(h2, [("ZP01", 5), ("FX03", 5), ("FX01", 5)], "2023-09-04", H_METHODS, {"口袋书": 40, "小册子": 5}),
    ])])
    for code in (h1, h3):  # the publicity period (5 working days) is long over
        fire_event(hx, code, "revoke", reason="公示期满无异议，公告撤销")
    _legacy_blank_deduction(boss.store, h2)
    clock.set(at("2023-09-15 10:00"))
    return {"W1": w1, "W2": w2, "W3": w3, "W4": w4, "H1": h1, "H2": h2, "H3": h3, "H4": h4}


def _legacy_blank_deduction(store: Store, code: str) -> None:
    """A deduction from before the importer refused empty content (only legacy data can hold one)."""
    assessment, enterprise = table(Assessment), table(Enterprise)
    with store.write() as session:
        assessment_id = session.execute(select(assessment.c.id).join(
            enterprise, enterprise.c.id == assessment.c.enterprise_id).where(enterprise.c.credit_code == code)
        ).scalar_one()
        session.execute(insert(table(Deduction)), [{"assessment_id": assessment_id, "element": "contractors",
                                                     "item": "WW01", "points": 1.0, "content": "\u3000 ",
                                                     "rectify": False}])


# what each document must say, from the figures test_circular.py checks
EXPECTED = (
    "市应急管理局关于2023年运行质量评估工作的通报", "各区应急管理局：",
    "一、工作情况", "二、评估情况", "三、存在问题", "四、工作要求",
    "资料审查（6家）", "现场询问（3家）", "记录扣分事项20项，发现问题18项", "发现重大事故隐患1项（涉及1家企业）",
    "口袋书、小册子、明白卡255份", "口袋书200份",
    "确定了8家评估企业", "1家评估企业未进行评估（企业已注销，不予评估1家）", "实际评估6家", "尚有1家未完成评估",
    "评估结果为优的，2家，占比33.4%", "评估结果为良的，2家，占比33.3%", "评估结果为差的，2家，占比33.3%", "最大余数法",
    "武清区应急管理局通报约谈有关企业2家次", "河西区应急管理局公告撤销2家企业安全生产标准化等级",
    "一是智能化建设方面问题较多。此次评估中有4家企业", "二是安全风险管控及隐患排查治理方面", "三是标准化定期自评方面",
    "隐患排查治理未形成闭环（3家）",
    "未在规定期限内完成评估工作（河西区期限后评估1家、逾期未完成1家）", "未记录扣分事项、具体内容（河西区1项）",
    "整改材料经验收不合格被退回（武清区1项）",
    "20个工作日内完成整改", "10个工作日内", "公示5个工作日",
    "请各区于2023年12月15日前", "附件：工贸行业安全生产标准化定级企业台账", "2023年9月15日",
    "表1", "图1", "表2",
)
