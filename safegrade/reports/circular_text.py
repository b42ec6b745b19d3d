"""The circular's text (通报正文), composed once from the figures; md, html and docx lay out the same words.

The layout follows the bureau's 2023 circular: title, addressees (各区应急管理局：), an opening paragraph,
numbered sections 一、工作情况 · 二、评估情况 · 三、存在问题 · 四、工作要求, the ledger request, the issuer
and the date (the day the figures are as of). After them, apart from the text, the other revocations of
the campaign's period (其他撤销: not counted in it), for the bureau to choose what to publish. Every number
in it comes from the figures (safegrade.services.reporting.circular); the fixed sentences are the
bureau's own. Pure: figures in, a Document out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the figures' contract: only its types (reports/ stays free of the database)
    from safegrade.services.reporting.circular import CircularFigures, DistrictFailings, DistrictRow, OtherRevocation

NUMERALS = "一二三四五六七八九十"
TOP_PROBLEMS = 3  # problem types written out one by one; the others are listed together after them
CHART_TITLE = "各区评估结果（家）"


@dataclass(frozen=True)
class Table:
    number: int
    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    total: tuple[str, ...] | None = None  # the 合计 row, set apart


@dataclass(frozen=True)
class Chart:
    """Where the chart of results per district goes (drawn by the renderer from the figures)."""

    number: int
    caption: str


Block = str | Table | Chart  # a paragraph, a table or the chart


@dataclass(frozen=True)
class Section:
    heading: str  # 一、工作情况
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Document:
    title: str
    addressees: str
    opening: str
    sections: tuple[Section, ...]
    closing: tuple[str, ...]
    attachment: str | None
    issuer: str
    dated: str
    notes: tuple[str, ...] = field(default=())
    # 其他撤销: after the signature, not part of the text (the bureau chooses what to publish of it)
    others: tuple[Block, ...] = field(default=())


def result_bars(f: CircularFigures) -> list[tuple[str, dict[str, int]]]:
    """(district name, result → count) for each district, in the order the chart draws them."""
    return [(d.district_name, dict(d.results)) for d in f.by_district]


def cn_date(d: date) -> str:
    """2023年9月15日, as official documents write dates in figures."""
    return f"{d.year}年{d.month}月{d.day}日"


def pct(value: float) -> str:
    return f"{value:.1f}%"


def numeral(n: int) -> str:
    """1 → 一 … 10 → 十 (enough for the sections and the problem types of a circular)."""
    return NUMERALS[n - 1] if 1 <= n <= len(NUMERALS) else str(n)


def _join(parts: Sequence[str]) -> str:
    return "、".join(parts)


def _each(districts: Sequence[DistrictRow], key: str, unit: str) -> str:
    """（武清区2家次、滨海新区1家次） when several districts share a total; nothing for one district."""
    if len(districts) < 2:
        return ""
    return "（" + _join([f"{d.district_name}{getattr(d, key)}{unit}" for d in districts]) + "）"


def _bureaus(districts: Sequence[DistrictRow]) -> str:
    """武清区应急管理局, or 2个区应急管理局 (the districts are then named with their counts)."""
    if len(districts) == 1:
        return f"{districts[0].district_name}应急管理局"
    return f"{len(districts)}个区应急管理局"


def compose(f: CircularFigures) -> Document:
    """The whole circular from the figures."""
    c = f.campaign
    title = f"{f.issuer}关于{c.name}工作的通报"
    opening = ("为进一步巩固工贸企业安全生产标准化定级成果，促进工贸企业严格按照安全生产标准化管理体系要求"
               f"持续有效运行，自{cn_date(c.starts_on)}至{cn_date(c.ends_on)}，我局组织{f.addressees}对我市"
               f"{f.assessed}家工贸行业安全生产标准化定级企业进行了运行质量评估，现将有关情况通报如下：")
    sections = (
        Section("一、工作情况", _work(f)),
        Section("二、评估情况", _assessment(f)),
        Section("三、存在问题", _problems(f)),
        Section("四、工作要求", _requirements(f)),
    )
    closing: tuple[str, ...] = ()
    attachment = None
    if c.ledger_due_on is not None:
        closing = (f"请各区于{cn_date(c.ledger_due_on)}前将本辖区有效期内的工贸行业安全生产标准化定级企业台账报送"
                   f"{f.issuer}，台账格式见附件。",)
        attachment = "工贸行业安全生产标准化定级企业台账"
    return Document(title, f"{f.addressees}：", opening, sections, closing, attachment, f.issuer,
                    cn_date(f.as_of), others=_others(f.other_revocations, f.as_of,
                                                     sum(isinstance(b, Table) for s in sections for b in s.blocks)))


OTHERS_HEADER = ("区", "企业名称", "统一社会信用代码", "撤销事由", "撤销日期")


def _others(others: Sequence[OtherRevocation], as_of: date, tables: int) -> tuple[Block, ...]:
    """其他撤销: the revocations of the campaign's period outside its enterprises' assessment and
    rectification, listed (not counted) for the bureau to choose what to publish."""
    if not others:
        return ()
    rows = tuple((o.district_name, o.name, o.credit_code, o.reason_label, cn_date(o.revoked_on)) for o in others)
    return (f"其他撤销：此次评估启动后至{cn_date(as_of)}，另有{len(others)}家企业被公告撤销安全生产标准化等级"
            "（不属于此次评估企业的评估、整改情况，未计入上述统计），由市局选择是否通报。",
            Table(tables + 1, "其他撤销", OTHERS_HEADER, rows))


def _work(f: CircularFigures) -> tuple[Block, ...]:
    if not f.assessed:
        return (f"截至{cn_date(f.as_of)}，各区尚未报送评估结果。",)
    methods = _join([f"{m.method}（{m.assessments}家）" for m in f.methods]) or "现场评估"
    major = (f"发现重大事故隐患{f.major_hazards}项（涉及{f.major_hazard_enterprises}家企业）"
             if f.major_hazards else "未发现重大事故隐患")
    text = (f"各区高度重视定级企业体系运行质量评估工作，通过{methods}等方式，对企业{_join(f.elements)}等重点方面"
            f"运行情况进行综合评估，记录扣分事项{f.deductions}项，发现问题{f.findings}项，{major}")
    printed = f.materials_printed
    if printed.total:
        kinds = [(k, n) for k, n in printed.by_kind.items() if n]
        text += f"，督促企业印制{_join([k for k, _ in kinds])}{printed.total}份"
        if len(kinds) > 1:
            text += "（" + _join([f"{k}{n}份" for k, n in kinds]) + "）"
    blocks: list[Block] = [text + "。"]
    found = _exclusions(f)
    if found:
        blocks.append("其中：" + "；".join(found) + "。")
    return tuple(blocks)


def _exclusions(f: CircularFigures) -> list[str]:
    """Per reason: 北辰区在评估中摸排出1家定级企业（…）, or 2个区…共摸排出3家…（河东区1家、河西区2家）."""
    out = []
    for reason in f.excluded_by_reason:
        where = [(d.district_name, e.count) for d in f.by_district for e in d.excluded_by_reason
                 if e.reason == reason.reason]
        if len(where) == 1:
            out.append(f"{where[0][0]}在评估中摸排出{where[0][1]}家定级企业（{reason.label}）")
        elif where:
            out.append(f"{len(where)}个区在评估中共摸排出{reason.count}家定级企业（{reason.label}：" +
                       _join([f"{name}{n}家" for name, n in where]) + "）")
    return out


def _assessment(f: CircularFigures) -> tuple[Block, ...]:
    text = f"此次评估，{f.addressees}确定了{f.selected}家评估企业，"
    if f.excluded:
        reasons = "；".join(f"{e.label}{e.count}家" for e in f.excluded_by_reason)
        text += f"{f.excluded}家评估企业未进行评估（{reasons}），"
    text += f"实际评估{f.assessed}家"
    if f.late_assessments:
        text += f"，其中{f.late_assessments}家在评估期限（{cn_date(f.campaign.ends_on)}）后完成评估"
    if f.outstanding:
        text += f"，尚有{f.outstanding}家未完成评估"
    text += "。"
    if f.assessed:
        text += "；".join(f"评估结果为{r}的，{n}家，占比{pct(f.percent[r])}" for r, n in f.results.items())
        text += f"（{f.rounding.text}）。"
    districts = f.by_district
    interviewed = [d for d in districts if d.interviews]
    revoked = [d for d in districts if d.revocations]
    if interviewed:
        acts = (f"{_bureaus(interviewed)}通报约谈有关企业{f.interviews}家次"
                f"{_each(interviewed, 'interviews', '家次')}")
    else:
        acts = "各区未约谈企业"
    if revoked:
        acts += (f"；{_bureaus(revoked)}公告撤销{f.revocations}家企业"
                 f"安全生产标准化等级{_each(revoked, 'revocations', '家')}")
    else:
        acts += "；各区未公告撤销企业安全生产标准化等级"
    blocks: list[Block] = [text, f"结合评估情况，{acts}。", "各区评估情况见表1，评估结果分布见图1。",
                           _district_table(f), Chart(1, "图1　各区评估结果（优、良、差，家）")]
    return tuple(blocks)


DISTRICT_HEADER = ("区", "确定评估", "未评估", "实际评估", "优", "良", "差", "发现问题（项）", "重大事故隐患（项）",
                   "约谈（家次）", "公告撤销（家）")


def _district_row(name: str, d: DistrictRow | CircularFigures) -> tuple[str, ...]:
    """A district's row of table 1, or the 合计 row from the figures' totals (the same fields)."""
    return (name, *(str(n) for n in (d.selected, d.excluded, d.assessed)),
            *(str(n) for n in d.results.values()),
            *(str(n) for n in (d.findings, d.major_hazards, d.interviews, d.revocations)))


def _district_table(f: CircularFigures) -> Table:
    rows = tuple(_district_row(d.district_name, d) for d in f.by_district)
    return Table(1, "表1　各区评估情况", DISTRICT_HEADER, rows, _district_row("合计", f))


def _problems(f: CircularFigures) -> tuple[Block, ...]:
    top = f.top_problems
    blocks: list[Block] = []
    if top:
        blocks.append("通过评估发现，仍有部分企业重点安全生产要素运行管理缺失，标准化创建与运行分离，企业隐患排查治理、"
                      "安全生产管理能力与标准化水平不匹配，距离持续有效运行标准化体系还有差距。主要表现在以下方面：")
        for n, p in enumerate(top[:TOP_PROBLEMS], start=1):
            items = "；".join(f"{i.label}（{i.enterprises}家）" for i in p.items[:3])
            blocks.append(f"{numeral(n)}是{p.label}方面问题较多。此次评估中有{p.enterprises}家企业在该方面被扣分"
                          f"（扣分事项{p.deductions}项），主要是：{items}。")
        rest = top[TOP_PROBLEMS:]
        if rest:
            blocks.append("此外，" + "，".join(f"{p.label}方面{p.enterprises}家" for p in rest) + "企业被扣分。")
    else:
        blocks.append("此次评估未发现扣分事项。")
    blocks.extend(_failings(f))
    return tuple(blocks)


FAILINGS_HEADER = ("区", "期限后评估（家）", "逾期未完成（家）", "扣分未记录内容（项）", "整改材料被退回（项）")


def _failings(f: CircularFigures) -> list[Block]:
    """The districts' own failings: late, deductions without their content, evidence sent back."""
    fails = f.district_failings
    end = cn_date(f.campaign.ends_on)
    kinds = [
        ("未在规定期限内完成评估工作",
         [(d.district_name, _late_text(d)) for d in fails if d.late]),
        ("评估中只进行了扣分，未记录扣分事项、具体内容",
         [(d.district_name, f"{d.deductions_without_content}项") for d in fails
          if d.deductions_without_content]),
        ("报送的整改材料经验收不合格被退回",
         [(d.district_name, f"{d.rejected_findings}项") for d in fails if d.rejected_findings]),
        ("报送数据存在质量问题",
         [(d.district_name, f"{d.flags}项") for d in fails if d.flags]),
    ]
    kinds = [(what, where) for what, where in kinds if where]
    if not kinds:
        return [f"各区均在规定期限（{end}）内完成评估，扣分事项和具体内容记录完整，整改材料均经验收通过。"]
    out: list[Block] = ["另外，个别区也存在“评估质量不高”的问题："
                        + "；".join(f"{numeral(n)}是{what}（{_join([a + b for a, b in where])}）"
                                    for n, (what, where) in enumerate(kinds, start=1)) + "。"]
    flagged = any(d.flags is not None for d in fails)
    header = FAILINGS_HEADER + (("数据质量标记（项）",) if flagged else ())
    rows = tuple((d.district_name, str(d.late_assessments), str(d.outstanding_after_window),
                  str(d.deductions_without_content), str(d.rejected_findings),
                  *((str(d.flags or 0),) if flagged else ()))
                 for d in fails if _fails(d))
    out.append(Table(2, "表2　各区评估工作存在的问题", header, rows))
    return out


def _fails(d: DistrictFailings) -> bool:
    return bool(d.late or d.deductions_without_content or d.rejected_findings or d.flags)


def _late_text(d: DistrictFailings) -> str:
    parts = []
    if d.late_assessments:
        parts.append(f"期限后评估{d.late_assessments}家")
    if d.outstanding_after_window:
        parts.append(f"逾期未完成{d.outstanding_after_window}家")
    return _join(parts)


def _requirements(f: CircularFigures) -> tuple[Block, ...]:
    dl = f.deadlines
    return (
        f"1.加强督导，落实隐患整改。各区要督促、指导企业对照问题及隐患，及时落实整改措施，消除事故隐患：一般问题自评估之日起"
        f"{dl.finding_working_days}个工作日内完成整改，重大事故隐患自评估之日起{dl.major_finding_working_days}个工作日内"
        "完成整改，经区应急管理局验收后销号，确保形成闭环管理。要强化监督检查，跟踪整改情况，对存在违法行为的，要依法查处。",
        "2.加强监督，落实各方责任。各区要加强企业安全生产标准化运行过程的监管，探索建立安全生产标准化的退出机制，对日常检查、"
        "监督执法、群众举报中发现企业未按标准化体系运行、情形严重的，要及时撤销原有安全生产标准化等级；撤销前应公示"
        f"{dl.publicity_working_days}个工作日。",
        "3.强化管控，提高评估质量。各区要在规定期限内完成评估，每一项扣分都要如实记录扣分事项和具体内容，"
        "整改材料要真实完整，坚决杜绝评估“走过场”“质量不高”等问题。",
        "4.梳理台账，确保底数清晰。各区要依据《应急管理部办公厅关于修订<冶金有色建材机械轻工纺织烟草商贸行业安全监管分类标准"
        "（试行）>的通知》(应急厅〔2019〕17号)，认真梳理更新本辖区安全生产标准化定级企业台账，对不属于工贸行业的标准化"
        "定级企业要及时公告撤销原有标准化等级。",
        "5.加大宣传，深化运行成果。各区要继续加大对安全标准化的宣传力度，督促企业扎扎实实地抓好“运行”环节，确保安全标准化"
        "在企业真创、真做、真运行。",
    )
