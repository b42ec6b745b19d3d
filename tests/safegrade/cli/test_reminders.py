"""`safegrade reminders send | list | retry` as a user meets them: a file channel and a dead webhook, the
failing message retried as --as-of moves, listed with Chinese headers, requeued by an officer."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import insert, select

from safegrade.clock import parse_instant
from safegrade.models import Enterprise, Reminder, table
from safegrade.store import Store, make_engine
from tests.safegrade.notifying import free_port, outbox_lines

HEADERS = ("主题", "期限", "节点", "对象", "状态", "尝试次数", "下次尝试", "错误")


@pytest.fixture
def outbox(ready, tmp_path, monkeypatch):
    """The `ready` database with two queued reminders (an enterprise's, the 武清 officers'); channels: a file
    channel for everyone and a webhook nobody answers for district officers; two attempts at most."""
    cli, wuqing, _ = ready
    dead = f"json://127.0.0.1:{free_port()}/hook"
    monkeypatch.setenv("SAFEGRADE_NOTIFICATIONS__CHANNELS", json.dumps([
        {"name": "outbox", "url": f"file://{tmp_path}/outbox"},
        {"name": "hook", "url": dead, "audiences": ["district"]}]))
    monkeypatch.setenv("SAFEGRADE_NOTIFICATIONS__RETRY__MAX_ATTEMPTS", "2")
    store = Store(make_engine(f"sqlite:///{tmp_path / 'cli.db'}"))
    now = parse_instant("2023-06-01T09:00", "Asia/Shanghai")
    common = {"kind": "finding", "due_on": date(2023, 6, 8), "step": "-7", "district": "120114", "queued_at": now,
              "updated_at": now, "status": "pending", "attempts": 0, "next_attempt_at": now, "delivered_to": []}
    with store.write() as session:
        company = session.execute(select(table(Enterprise).c.id).where(
            table(Enterprise).c.credit_code == wuqing)).scalar_one()
        session.execute(insert(table(Reminder)), [
            {**common, "subject": "finding:1", "audience": "enterprise", "enterprise_id": company,
             "title": "整改期限提醒：请按期整改", "body": "请于2023年06月08日前完成整改。"},
            {**common, "subject": "finding:1", "audience": "district", "enterprise_id": company,
             "title": "督促整改提醒", "body": "请督促企业按期整改。"}])
    store.engine.dispose()
    return cli, wuqing


def test_send_list_retry_from_the_command_line(outbox, tmp_path):
    cli, wuqing = outbox
    code, out, err = cli("--as-of", "2023-06-01T09:00", "reminders", "send")
    assert code == 0, err
    assert out.strip() == "claimed 2: sent 1, retrying 1, failed 0"
    assert [line["title"] for line in outbox_lines(tmp_path / "outbox")] == ["整改期限提醒：请按期整改",
                                                                             "督促整改提醒"]

    code, out, _ = cli("--as-of", "2023-06-01T09:00", "reminders", "list", "--failed")
    assert code == 0
    assert all(h in out for h in HEADERS)
    assert "督促整改提醒" in out
    assert "整改期限提醒" not in out
    assert "待发送" in out
    assert "2023-06-01 09:05" in out
    assert "Connection error" in out
    assert "区应急管理局" in out

    code, out, _ = cli("--as-of", "2023-06-01T09:04", "reminders", "send")
    assert out.strip() == "claimed 0: sent 0, retrying 0, failed 0"  # still backing off
    code, out, _ = cli("--as-of", "2023-06-01T09:05", "reminders", "send")
    assert out.strip() == "claimed 1: sent 0, retrying 0, failed 1"

    code, out, _ = cli("--json", "reminders", "list", "--failed")
    [failed] = json.loads(out)
    assert (failed["status"], failed["attempts"], failed["delivered_to"]) == ("failed", 2, ["outbox"])
    assert failed["last_error"].startswith("hook (json://127.0.0.1:")
    code, out, _ = cli("reminders", "list", "--status", "failed")
    assert "发送失败" in out
    assert "1 message(s)" in out

    code, _, err = cli("reminders", "retry", str(failed["id"]))
    assert code == 1
    assert err.startswith("safegrade: error: this action needs an actor")
    code, out, err = cli("--actor", "wq", "--as-of", "2023-06-02", "reminders", "retry", str(failed["id"]))
    assert code == 0, err
    assert out.strip() == (f"reminder #{failed['id']} requeued (was 发送失败, 2 attempt(s)); "
                           "the next `safegrade reminders send` sends it")
    code, out, _ = cli("--json", "--as-of", "2023-06-02", "reminders", "list", "--code", wuqing, "--status", "pending")
    assert [r["id"] for r in json.loads(out)] == [failed["id"]]


def test_list_by_enterprise_and_refusals(outbox):
    cli, wuqing = outbox
    cli("--as-of", "2023-06-01T09:00", "reminders", "send", "--limit", "1")
    code, out, _ = cli("reminders", "list", "--status", "sent", "--code", wuqing)
    assert code == 0
    assert "整改期限提醒" in out
    assert wuqing in out
    assert "已发送" in out
    assert "到期前7天" in out
    code, _, err = cli("reminders", "list", "--status", "lost")
    assert code == 1
    assert err.strip() == ("safegrade: error: --status: 'lost'; choose one of pending, sending, sent, "
                                         "failed, superseded")
    code, _, err = cli("--actor", "boss", "reminders", "retry", "999")
    assert code == 1
    assert "no reminder #999" in err
    code, _, err = cli("reminders", "send", "--limit", "0")
    assert code == 1
    assert "--limit: 0" in err


def test_a_bad_channel_stops_the_command_with_its_key(outbox, monkeypatch):
    cli, _ = outbox
    monkeypatch.setenv("SAFEGRADE_NOTIFICATIONS__CHANNELS", '["mailto://officer:Hunter2pw@", "sms://x"]')
    code, _, err = cli("reminders", "send")
    assert code == 1
    assert err.startswith("safegrade: error: SAFEGRADE_NOTIFICATIONS__CHANNELS: ")
    assert "notifications.channels[0]: Apprise cannot parse 'mailto://officer:****@'" in err
    assert "notifications.channels[1]: 'sms://x': scheme 'sms' is not supported" in err
    assert "Hunter2pw" not in err
