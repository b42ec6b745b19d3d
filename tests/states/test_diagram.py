"""The Mermaid diagram: every state with its Chinese label, every transition, start and end markers."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from states import LifecycleSpec, parse_lifecycle
from states.diagram import mermaid

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"


def real_spec() -> LifecycleSpec:
    doc = yaml.safe_load((RULES_DIR / "lifecycle.yaml").read_text(encoding="utf-8"))
    triggers = yaml.safe_load((RULES_DIR / "triggers.yaml").read_text(encoding="utf-8"))
    return parse_lifecycle(doc, {k: tuple(v) for k, v in triggers.items()})


SPEC = real_spec()
LINES = mermaid(SPEC).splitlines()


def test_header_and_trailing_newline() -> None:
    text = mermaid(SPEC)
    assert LINES[0] == "stateDiagram-v2"
    assert text.endswith("\n")
    assert not text.endswith("\n\n")


@pytest.mark.parametrize(("state", "label"), [
    ("graded", "已定级"), ("assessing", "评估中"), ("interview", "约谈"), ("rectifying", "整改中"),
    ("closed", "已闭环"), ("revocation_pending", "撤销公示中"), ("revoked", "已撤销"),
    ("excluded", "已注销/不予评估"), ("expired", "有效期届满"),
])
def test_every_state_with_its_chinese_label(state: str, label: str) -> None:
    assert f'    state "{label}<br/>{state}" as {state}' in LINES


def test_no_other_state_lines() -> None:
    assert sum(1 for line in LINES if line.lstrip().startswith("state ")) == len(SPEC.states)


def test_start_and_end_markers() -> None:
    assert "    [*] --> graded" in LINES
    assert [line for line in LINES if line.endswith("--> [*]")] == ["    excluded --> [*]"]
    assert sum(1 for line in LINES if line.lstrip().startswith("[*]")) == 1


@pytest.mark.parametrize("line", [
    "graded --> assessing: 启动评估 open_assessment",
    "assessing --> revocation_pending: 录入评估结果 record_assessment [result_is_poor]",
    "assessing --> interview: 录入评估结果 record_assessment [has_major_hazard]",
    "assessing --> rectifying: 录入评估结果 record_assessment [has_open_findings]",
    "assessing --> closed: 录入评估结果 record_assessment",
    "rectifying --> closed: 整改闭环 close [all_findings_verified]",
    "interview --> revocation_pending: 逾期升级 escalate",
    "revocation_pending --> revoked: 公告撤销 revoke [publicity_over]",
    "expired --> excluded: 注销/不予评估 exclude",
    "graded --> graded: 延续定级 renew [new_validity_in_future]",
    "rectifying --> rectifying: 有效期届满 expire (internal) [validity_ended]",
    "revocation_pending --> revocation_pending: 延续定级 renew (internal) [new_validity_in_future]",
    "rectifying --> expired: 整改闭环 close [all_findings_verified, grade_expired]",
    "revocation_pending --> expired: 撤回撤销（异议成立） withdraw_revocation [grade_expired]",
    "assessing --> expired: 录入评估结果 record_assessment [grade_expired]",
    "revoked --> graded: 重新定级（撤销满一年后） regrade [revocation_bar_over, new_validity_in_future]",
])
def test_transitions_as_a_regulator_reads_them(line: str) -> None:
    assert f"    {line}" in LINES


def test_every_transition_of_the_rules_is_drawn_once() -> None:
    expected = []
    for event in SPEC.events.values():
        for t in event.transitions:
            guard = f" [{', '.join(t.guards)}]" if t.guards else ""
            internal = " (internal)" if t.dest is None else ""
            expected += [f"    {s} --> {t.dest or s}: {event.label} {event.name}{internal}{guard}" for s in t.sources]
    drawn = [line for line in LINES if " --> " in line and "[*]" not in line]
    assert drawn == expected
    assert len(drawn) == 47  # 36, and issue 10's: 8 internal (expire, renew during a case), 3 case endings in expired


def test_an_internal_transition_is_a_loop_marked_internal() -> None:
    spec = parse_lifecycle({
        "initial": "a",
        "states": {"a": {"label": "甲"}, "b": {"label": "乙", "final": True}},
        "roles": {"r": {"scope": "all"}},
        "events": {"go": {"label": "前进", "roles": ["r"], "transitions": [{"source": "a", "dest": "b"}]},
                   "note": {"label": "备注", "roles": ["r"], "transitions": [{"source": "a", "internal": True}]}},
    })
    assert "    a --> a: 备注 note (internal)" in mermaid(spec).splitlines()


def test_small_hand_written_lifecycle() -> None:
    spec = parse_lifecycle({
        "initial": "a",
        "states": {"a": {"label": "甲"}, "b": {"label": "乙", "final": True}},
        "roles": {"r": {"scope": "all"}},
        "events": {"go": {"label": "前进", "roles": ["r"],
                          "transitions": [{"source": "a", "dest": "b", "guards": ["publicity_over",
                                                                                  "validity_ended"]}]}},
    })
    assert mermaid(spec) == (
        "stateDiagram-v2\n"
        '    state "甲<br/>a" as a\n'
        '    state "乙<br/>b" as b\n'
        "    [*] --> a\n"
        "    a --> b: 前进 go [publicity_over, validity_ended]\n"
        "    b --> [*]\n"
    )
