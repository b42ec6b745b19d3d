"""Synthetic ledgers (台账) for the demo, the tests and the benchmarks; deterministic by seed.

Rows look like a district's real ledger: Chinese headers in the attachment's order, valid and unique
credit codes with a Tianjin division code, every district and every 工贸 sector present (weighted
roughly as in Tianjin: many machinery and light-industry enterprises in the outer districts, few
in the city centre, tobacco rare), mostly 三级, grading dates on working days in 2021–2023 and a
validity of the rules' grade_validity_years. Nothing here is real: names, people and phone numbers
are drawn from word lists.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from safegrade.domain import creditcode
from safegrade.domain.workday import is_working_day
from safegrade.rules import Rules

HEADERS = ("序号", "区", "企业名称", "统一社会信用代码", "行业类别", "标准化等级", "证书编号", "定级日期",
           "有效期至", "地址", "联系人", "联系电话")
DATE_HEADERS = ("定级日期", "有效期至")

# Relative number of graded 工贸 enterprises per district; a district not listed here weighs 1.
DISTRICT_WEIGHTS = {
    "120101": 1, "120102": 2, "120103": 2, "120104": 2, "120105": 2, "120106": 2,
    "120110": 8, "120111": 10, "120112": 8, "120113": 10, "120114": 12, "120115": 7,
    "120116": 16, "120117": 5, "120118": 10, "120119": 5,
}
# Words that end a company name, per sector key; a sector not listed gets the generic words.
SECTOR_WORDS = {
    "metallurgy": ("钢铁", "特钢", "铸造", "钢管", "轧钢", "金属制品", "焊管", "钢结构"),
    "nonferrous": ("有色金属", "铝业", "铜业", "合金材料", "铝材", "锌业", "稀有金属", "镁业"),
    "building": ("建材", "水泥制品", "玻璃", "陶瓷", "石材", "混凝土", "保温材料", "防水材料"),
    "machinery": ("机械制造", "机电设备", "精密机械", "汽车零部件", "重工", "阀门", "液压设备", "模具"),
    "light": ("食品", "家具", "塑料制品", "包装", "日用品", "纸业", "印刷", "五金制品"),
    "textile": ("纺织", "服装", "针织", "印染", "毛纺", "化纤", "家纺", "无纺布"),
    "tobacco": ("卷烟", "烟草", "烟叶复烤", "烟草机械", "烟用材料", "卷烟配送", "烟草物流", "滤棒"),
    "commerce": ("商贸", "物流", "仓储", "供应链", "国际贸易", "商业", "冷链物流", "物资"),
}
GENERIC_WORDS = ("实业", "工贸", "科技", "制造", "工业", "发展", "材料", "设备")
SECTOR_WEIGHTS = {"metallurgy": 8, "nonferrous": 6, "building": 10, "machinery": 30, "light": 20,
                  "textile": 6, "tobacco": 1, "commerce": 18}
LEVEL_WEIGHTS = (("三级", 88), ("二级", 10), ("一级", 2))
LEVEL_MARKS = {"一级": "Ⅰ", "二级": "Ⅱ", "三级": "Ⅲ"}
BRAND_CHARS = "".join(dict.fromkeys("华鑫宏达恒通金泰盛兴隆昌瑞丰源德信安宇天海润凯博嘉佳利祥福永康正和力诚荣鼎汇"
                                   "创新远明辉耀广益元志胜建立长中铭卓越聚星晨航帆腾飞龙凤阳光伟业鹏程旭东方"
                                   "圣洁美乐万家"))
QUALIFIERS = ("科技", "实业", "发展", "集团", "工程", "新材料", "国际", "股份")
# Pinyin initials of the sector in a certificate number, as in 津AQBJXⅢ202100123 (JX = 机械).
CERT_SECTOR = {"metallurgy": "YJ", "nonferrous": "YS", "building": "JC", "machinery": "JX", "light": "QG",
               "textile": "FZ", "tobacco": "YC", "commerce": "SM"}
ROADS = ("泉兴路", "创业路", "福源道", "兴华道", "开源路", "宏图道", "振兴路", "工业园区纬一路", "经二路",
         "民和道", "海河道", "京津路", "津港公路", "长江道", "黄河道", "新开路", "友谊路", "保税路")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国玉兰志红海燕波宁晶鑫颖欣宇浩"
MOBILE_PREFIXES = ("130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "155",
                   "156", "158", "159", "176", "177", "186", "187", "188", "189")
GRADED_FROM = date(2021, 1, 1)
GRADED_TO = date(2023, 4, 30)  # before the 2023 campaign the demo replays


def _weighted(rng: random.Random, keys: Sequence[str], weights: Mapping[str, int], k: int) -> list[str]:
    """k keys drawn by weight, the first len(keys) of them a shuffle of all keys so each appears."""
    first = list(keys)
    rng.shuffle(first)
    rest = rng.choices(keys, weights=[weights.get(key, 1) for key in keys], k=max(0, k - len(first)))
    return (first + rest)[:k]


def add_years(d: date, years: int) -> date:
    """The same day `years` later; 29 February becomes 28 February in a common year."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def _unique_code(rng: random.Random, division: str, used: set[str]) -> str:
    """A valid credit code 91 + division code + 9 random characters + check character, not in `used`."""
    while True:
        code = creditcode.make("91" + division + "".join(rng.choices(creditcode.ALPHABET, k=9)))
        if code not in used:
            used.add(code)
            return code


def _unique_name(rng: random.Random, words: Sequence[str], used: set[str]) -> str:
    """天津市{two brand characters}{industry word}有限公司, not in `used`; with a qualifier such as 科技
    once plain names get scarce (tens of thousands of rows in one sector)."""
    for attempt in range(200):
        brand = "".join(rng.sample(BRAND_CHARS, 2))
        qualifier = rng.choice(QUALIFIERS) if attempt >= 20 else ""
        name = f"天津市{brand}{rng.choice(words)}{qualifier}有限公司"
        if name not in used:
            used.add(name)
            return name
    raise ValueError("too many rows for the synthetic name lists; use fewer rows per call")


@cache
def _grading_days() -> tuple[date, ...]:
    """The working days from GRADED_FROM to GRADED_TO: certificates are issued on working days."""
    days = (GRADED_FROM + timedelta(days=i) for i in range((GRADED_TO - GRADED_FROM).days + 1))
    return tuple(d for d in days if is_working_day(d))


def _contact(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))


def _phone(rng: random.Random) -> str:
    if rng.random() < 0.8:
        return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
    return f"022-{rng.randrange(2, 9)}{rng.randrange(10**7):07d}"


def synthetic_rows(n: int, seed: int, rules: Rules, start_no: int = 1) -> list[dict[str, str]]:
    """n ledger rows keyed by the Chinese headers, every value text as a district would type it.

    The same (n, seed, start_no) gives the same rows; start_no numbers the rows (序号) and certificates
    and enters the seed, so batches with consecutive start_no differ. Credit codes and company names
    are unique within one call. With n >= 16 every district appears, with n >= 8 every sector.
    """
    rng = random.Random(f"safegrade-synthetic:{seed}:{start_no}")
    districts = _weighted(rng, list(rules.districts), DISTRICT_WEIGHTS, n)
    sectors = _weighted(rng, list(rules.sectors), SECTOR_WEIGHTS, n)
    levels = rng.choices([lv for lv, _ in LEVEL_WEIGHTS], weights=[w for _, w in LEVEL_WEIGHTS], k=n)
    validity = rules.deadlines.grade_validity_years
    grading_days = _grading_days()
    codes: set[str] = set()
    names: set[str] = set()
    rows = []
    for i in range(n):
        no = start_no + i
        district = rules.districts[districts[i]]
        sector = rules.sectors[sectors[i]]
        graded_on = rng.choice(grading_days)
        rows.append({
            "序号": str(no),
            "区": district.name,
            "企业名称": _unique_name(rng, SECTOR_WORDS.get(sector.key, GENERIC_WORDS), names),
            "统一社会信用代码": _unique_code(rng, district.code, codes),
            "行业类别": sector.label,
            "标准化等级": levels[i],
            "证书编号": f"津AQB{CERT_SECTOR.get(sector.key, 'GM')}{LEVEL_MARKS[levels[i]]}{graded_on.year}{no:05d}",
            "定级日期": graded_on.isoformat(),
            "有效期至": (add_years(graded_on, validity) - timedelta(days=1)).isoformat(),
            "地址": f"天津市{district.name}{rng.choice(ROADS)}{rng.randrange(1, 300)}号",
            "联系人": _contact(rng),
            "联系电话": _phone(rng),
        })
    return rows


def _columns(rows: Sequence[Mapping[str, str]]) -> list[str]:
    """HEADERS, then any other key the rows carry (e.g. 备注), in order of first appearance."""
    extra = dict.fromkeys(k for row in rows for k in row if k not in HEADERS)
    return [*HEADERS, *extra]


def write_csv(rows: Sequence[Mapping[str, str]], path: Path) -> None:
    """Write rows as CSV in UTF-8 with a BOM, which Excel and WPS need to show Chinese correctly."""
    columns = _columns(rows)
    with Path(path).open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows([row.get(c, "") for c in columns] for row in rows)


def _cell(column: str, value: str) -> object:
    """What a district's spreadsheet holds: 序号 as a number, dates as date cells, the rest as text.

    A value that is not a number or an ISO date (a deliberately bad row) stays text.
    """
    if column == "序号" and value.isdigit():
        return int(value)
    if column in DATE_HEADERS:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


def write_xlsx(rows: Sequence[Mapping[str, str]], path: Path) -> None:
    """Write rows to an .xlsx workbook with one worksheet named 台账 (openpyxl write-only, for speed)."""
    from openpyxl import Workbook

    columns = _columns(rows)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("台账")
    ws.append(columns)
    for row in rows:
        ws.append([_cell(c, row.get(c, "")) for c in columns])
    wb.save(Path(path))


def bad_rows(rules: Rules) -> list[tuple[dict[str, str], str]]:
    """Rows each wrong in exactly one way, with what is wrong, for the demo to show refusals.

    The kinds, in order: check character wrong, district unknown, sector empty, level unknown,
    有效期至 before 定级日期, 定级日期 not a date. Every other cell is valid.
    """
    base = synthetic_rows(6, seed=90210, rules=rules, start_no=9001)
    code = base[0]["统一社会信用代码"]
    wrong_check = creditcode.ALPHABET[(creditcode.ALPHABET.index(code[-1]) + 1) % len(creditcode.ALPHABET)]
    changes: list[tuple[dict[str, str], str]] = [
        ({"统一社会信用代码": code[:-1] + wrong_check},
         f"统一社会信用代码 check character wrong: {wrong_check!r}, expected {code[-1]!r}"),
        ({"区": "塘沽区"}, "区 unknown: 塘沽区 was merged into 滨海新区 in 2009"),
        ({"行业类别": ""}, "行业类别 empty"),
        ({"标准化等级": "四级"}, "标准化等级 四级 does not exist (一级, 二级, 三级)"),
        ({"有效期至": "2020-12-31"}, "有效期至 before 定级日期"),
        ({"定级日期": "2023年13月5日"}, "定级日期 not a date (month 13)"),
    ]
    return [({**row, **change}, what) for row, (change, what) in zip(base, changes, strict=True)]

