"""Delivering the outbox: claim, deliver, record; backoff as the clock moves, failure after max attempts,
requeue; routing; two senders at once deliver each message once; an expired lease is taken over."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from safegrade.errors import Forbidden, InvalidInput, NotFound
from safegrade.models import Reminder, table
from safegrade.services import reminders
from safegrade.services.context import open_context
from safegrade.services.reminders import list_reminders, retry_reminder, send_reminders
from safegrade.store import Store, make_engine
from tests.factories import build_world, plain
from tests.safegrade.notifying import (
    free_port,
    http_server,
    outbox_lines,
    queue,
    row_of,
    smtp_server,
    with_channels,
)


@pytest.fixture
def world_ctx(make_ctx, tmp_path, db_url):
    """A world (actors boss, wq for 武清, hx for 河西, rev) and a context on it with the file channel only."""
    world = build_world(make_ctx, tmp_path, per_district=2, url=db_url)
    ctx = with_channels(make_ctx(url=db_url), [{"name": "outbox", "url": f"file://{tmp_path}/outbox"}], tmp_path)
    return world, ctx


def test_due_messages_are_delivered_and_recorded_sent(world_ctx, tmp_path, clock):
    world, ctx = world_ctx
    [company] = queue(ctx, audience="enterprise", credit_code=world.wuqing[0])
    [officer] = queue(ctx, audience="district", first=2)
    [bureau] = queue(ctx, audience="bureau", district=None, first=3)
    [later] = queue(ctx, first=4, at=clock.now() + timedelta(minutes=1))  # not due yet
    assert send_reminders(ctx) == {"claimed": 3, "reclaimed": 0, "sent": 3, "retrying": 0, "failed": 0, "lost": 0}
    for rid in (company, officer, bureau):
        row = row_of(ctx, rid)
        assert (row["status"], row["sent_at"], row["delivered_to"], row["attempts"], row["last_error"]) == (
            "sent", clock.now(), ["outbox"], 0, None)
    assert row_of(ctx, later)["status"] == "pending"
    lines = {line["key"]: line for line in outbox_lines(tmp_path / "outbox")}
    assert set(lines) == {"reminder:finding:1:2023-06-08:-7:enterprise", "reminder:finding:2:2023-06-08:-7:district",
                          "reminder:finding:3:2023-06-08:-7:bureau"}
    company_line = lines["reminder:finding:1:2023-06-08:-7:enterprise"]
    assert company_line["enterprise"]["credit_code"] == world.wuqing[0]
    assert company_line["enterprise"]["name"].startswith("天津市测试")
    assert company_line["district_name"] == "武清区"
    assert company_line["title"] == "整改期限提醒（第1号）"
    assert send_reminders(ctx)["claimed"] == 0  # nothing is due twice
    clock.advance(minutes=1)
    assert send_reminders(ctx)["sent"] == 1


def test_a_limit_sends_at_most_that_many(world_ctx):
    _, ctx = world_ctx
    queue(ctx, 5)
    assert send_reminders(ctx, limit=2)["sent"] == 2
    assert send_reminders(ctx, limit=10)["sent"] == 3
    with pytest.raises(InvalidInput, match="--limit: 0"):
        send_reminders(ctx, limit=0)


def test_a_failing_channel_is_retried_with_backoff_then_failed_then_requeued(make_ctx, world_ctx, tmp_path, clock,
                                                                             db_url):
    _, ctx = world_ctx
    dead = f"json://127.0.0.1:{free_port()}/hook"
    with_channels(ctx, [{"name": "hook", "url": dead}], tmp_path, max_attempts=3, backoff_seconds=300,
                  backoff_factor=2)
    [rid] = queue(ctx, audience="district")
    start = clock.now()
    assert send_reminders(ctx)["retrying"] == 1
    row = row_of(ctx, rid)
    assert (row["status"], row["attempts"], row["next_attempt_at"]) == ("pending", 1, start + timedelta(seconds=300))
    assert row["last_error"].startswith(f"hook ({dead}): ")
    assert "Connection error" in row["last_error"]
    assert [r["id"] for r in plain(list_reminders(ctx, failed=True))] == [rid]  # failing shows as failed
    clock.advance(seconds=299)
    assert send_reminders(ctx)["claimed"] == 0  # backing off
    clock.advance(seconds=1)
    assert send_reminders(ctx)["retrying"] == 1
    row = row_of(ctx, rid)
    assert (row["attempts"], row["next_attempt_at"]) == (2, clock.now() + timedelta(seconds=600))  # 300 · 2¹
    clock.advance(seconds=600)
    assert send_reminders(ctx)["failed"] == 1
    row = row_of(ctx, rid)
    assert (row["status"], row["attempts"]) == ("failed", 3)
    assert "Connection error" in row["last_error"]
    clock.advance(days=1)
    assert send_reminders(ctx)["claimed"] == 0  # failed stays failed
    [listed] = plain(list_reminders(ctx, failed=True))
    assert (listed["id"], listed["status_label"], listed["audience_label"]) == (rid, "发送失败", "区应急管理局")
    assert plain(list_reminders(ctx, status="failed"))[0]["id"] == rid
    assert not list_reminders(ctx, status="pending")

    done = plain(retry_reminder(make_ctx("wq", url=db_url), rid))  # the 武清 officer requeues it
    assert (done["was"], done["status"], done["attempts_before"]) == ("failed", "pending", 3)
    with_channels(ctx, [{"name": "hook", "url": f"file://{tmp_path}/outbox"}], tmp_path)  # the channel is fixed
    assert send_reminders(ctx)["sent"] == 1
    assert row_of(ctx, rid)["status"] == "sent"
    assert not plain(list_reminders(ctx, failed=True))


def test_only_the_channels_that_failed_are_tried_again(world_ctx, tmp_path, clock):
    _, ctx = world_ctx
    with http_server() as good, http_server() as later_good:
        dead = f"json://127.0.0.1:{free_port()}/hook"
        with_channels(ctx, [{"name": "a", "url": good.url()}, {"name": "b", "url": dead}], tmp_path)
        [rid] = queue(ctx)
        assert send_reminders(ctx)["retrying"] == 1
        assert row_of(ctx, rid)["delivered_to"] == ["a"]
        assert len(good.requests) == 1
        with_channels(ctx, [{"name": "a", "url": good.url()}, {"name": "b", "url": later_good.url()}], tmp_path)
        clock.advance(seconds=300)
        assert send_reminders(ctx)["sent"] == 1
        # a was not sent it twice
        assert len(good.requests) == 1
        assert len(later_good.requests) == 1
        assert row_of(ctx, rid)["delivered_to"] == ["a", "b"]


def test_routing_by_audience_and_district(world_ctx, tmp_path):
    world, ctx = world_ctx
    with_channels(ctx, [
        {"name": "企业短信", "url": f"file://{tmp_path}/enterprises", "audiences": ["enterprise"]},
        {"name": "武清区", "url": f"file://{tmp_path}/wuqing", "audiences": ["district"], "districts": ["武清"]},
        {"name": "市局", "url": f"file://{tmp_path}/bureau", "audiences": ["bureau", "district"]},
    ], tmp_path)
    queue(ctx, audience="enterprise", credit_code=world.wuqing[0])
    queue(ctx, audience="district", first=2)
    queue(ctx, audience="district", district="120103", first=3)
    queue(ctx, audience="bureau", district=None, first=4)
    assert send_reminders(ctx)["sent"] == 4

    def subjects(folder: str) -> list[str]:
        return sorted(line["key"].split(":")[2] for line in outbox_lines(tmp_path / folder))

    assert subjects("enterprises") == ["1"]
    assert subjects("wuqing") == ["2"]
    assert subjects("bureau") == ["2", "3", "4"]


def test_a_message_no_channel_serves_fails_saying_which_audience_and_district(world_ctx, tmp_path):
    world, ctx = world_ctx
    with_channels(ctx, [{"name": "河西区", "url": f"file://{tmp_path}/hx", "audiences": ["district"],
                         "districts": ["120103"]}], tmp_path)
    [company] = queue(ctx, audience="enterprise", credit_code=world.wuqing[0])
    [hexi] = queue(ctx, audience="district", district="120103", first=2)
    assert send_reminders(ctx) == {"claimed": 2, "reclaimed": 0, "sent": 1, "retrying": 0, "failed": 1, "lost": 0}
    row = row_of(ctx, company)
    assert row["status"] == "failed"
    assert row["last_error"].startswith("no channel serves audience enterprise (企业) in district 武清区 (120114)")
    assert row_of(ctx, hexi)["status"] == "sent"


def _second_context(ctx, url, clock, rules):
    """Another sender: its own engine and connections, the same database and clock."""
    store = Store(make_engine(url))
    return open_context(ctx.settings, clock=clock, store=store, rules=rules, source="flow"), store


def test_two_senders_at_once_deliver_each_message_once(world_ctx, tmp_path, clock, db_url, rules, monkeypatch):
    _, ctx = world_ctx
    monkeypatch.setattr(reminders, "BATCH", 4)  # small batches, so that the two senders interleave
    with smtp_server() as smtp:
        with_channels(ctx, [{"name": "outbox", "url": f"file://{tmp_path}/outbox"},
                            {"name": "mail", "url": smtp.url()}], tmp_path)
        queue(ctx, 30, audience="district")
        other, store = _second_context(ctx, db_url, clock, rules)
        barrier = threading.Barrier(2)
        results: list[dict[str, int] | BaseException] = []

        def sender(c):
            barrier.wait()
            try:
                results.append(send_reminders(c))
            except BaseException as exc:  # the assertion below shows it
                results.append(exc)

        threads = [threading.Thread(target=sender, args=(c,)) for c in (ctx, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        store.engine.dispose()
    counts = [r for r in results if isinstance(r, dict)]
    assert len(counts) == 2, results
    assert sum(c["claimed"] for c in counts) == 30
    assert sum(c["sent"] for c in counts) == 30
    assert sorted(smtp.subjects) == sorted(f"整改期限提醒（第{i}号）" for i in range(1, 31))  # each mail once
    assert len(outbox_lines(tmp_path / "outbox")) == 30
    assert {r["status"] for r in plain(list_reminders(ctx))} == {"sent"}


@pytest.mark.usefixtures("db_url")
def test_an_expired_lease_is_taken_over_and_sent_again(world_ctx, tmp_path, clock, rules):
    _, ctx = world_ctx
    with smtp_server() as smtp:
        with_channels(ctx, [{"name": "outbox", "url": f"file://{tmp_path}/outbox"},
                            {"name": "mail", "url": smtp.url()}], tmp_path, lease_seconds=600)
        [rid] = queue(ctx)
        # a sender claims the message, delivers it, and dies before recording
        [claimed], lease_until = reminders._claim(ctx, 10, 600)
        message = reminders.message_of(ctx, claimed)
        for channel in reminders.channels_from_settings(ctx.settings, rules):
            reminders.deliver(channel, message)
        assert row_of(ctx, rid)["status"] == "sending"
        clock.advance(seconds=599)
        assert send_reminders(ctx)["claimed"] == 0  # the lease still holds
        clock.advance(seconds=1)
        counts = send_reminders(ctx)
        assert (counts["claimed"], counts["reclaimed"], counts["sent"]) == (1, 1, 1)
    row = row_of(ctx, rid)
    assert (row["status"], row["attempts"], row["delivered_to"], row["last_error"]) == (
        "sent", 1, ["outbox", "mail"], None)
    assert len(outbox_lines(tmp_path / "outbox")) == 1  # the file channel: exactly once
    assert len(smtp.messages) == 2  # e-mail: at least once — the documented resend after a crash


@pytest.mark.usefixtures("tmp_path")
def test_a_sender_that_lost_its_lease_does_not_overwrite_the_new_owner(world_ctx, clock, rules):
    _, ctx = world_ctx
    [rid] = queue(ctx)
    [slow_row], slow_lease = reminders._claim(ctx, 10, 600)
    clock.advance(seconds=601)
    assert send_reminders(ctx)["sent"] == 1  # another sender took it over and sent it
    sent = row_of(ctx, rid)
    channels = reminders.channels_from_settings(ctx.settings, rules)
    outcome = reminders._send_one(ctx, slow_row, slow_lease, channels, ctx.settings.notifications.retry)
    assert outcome == "lost"
    assert row_of(ctx, rid) == sent


def test_slow_channels_do_not_let_the_rest_of_a_batch_be_taken_over(world_ctx, tmp_path, clock, db_url, rules,
                                                                     monkeypatch):
    """Each delivery takes 400 s of a 600 s lease. Sender A renews each message's lease as it starts on it;
    sender B, running meanwhile (while A delivers the second), takes over only the third, whose lease
    really ran out, and A then leaves that one alone: every e-mail is sent once."""
    _, ctx = world_ctx
    real_deliver = reminders.deliver
    in_b: list[bool] = []
    b_counts: list[dict[str, int]] = []

    def slow_deliver(channel, message):
        if in_b:  # B's own deliveries are quick
            return real_deliver(channel, message)
        clock.advance(seconds=400)
        real_deliver(channel, message)
        if message.key.startswith("reminder:finding:2:"):  # B runs while A is in the middle of its batch
            in_b.append(True)
            b_counts.append(send_reminders(other))

    with smtp_server() as smtp:
        with_channels(ctx, [{"name": "mail", "url": smtp.url()}], tmp_path, lease_seconds=600)
        queue(ctx, 3)
        other, store = _second_context(ctx, db_url, clock, rules)
        monkeypatch.setattr(reminders, "deliver", slow_deliver)
        a_counts = send_reminders(ctx)
        store.engine.dispose()
    assert sorted(smtp.subjects) == [f"整改期限提醒（第{i}号）" for i in (1, 2, 3)]  # each once
    assert (a_counts["claimed"], a_counts["sent"], a_counts["lost"]) == (3, 2, 1)
    [b] = b_counts
    assert (b["claimed"], b["reclaimed"], b["sent"]) == (1, 1, 1)
    assert {r["status"] for r in plain(list_reminders(ctx))} == {"sent"}


def test_a_superseded_message_is_listed_never_sent_nor_requeued(world_ctx, make_ctx, db_url):
    _, ctx = world_ctx
    [rid] = queue(ctx)
    with ctx.store.write() as session:
        session.execute(update(table(Reminder)).where(table(Reminder).c.id == rid).values(status="superseded"))
    assert send_reminders(ctx)["claimed"] == 0
    [listed] = plain(list_reminders(ctx, status="superseded"))
    assert listed["status_label"] == "已被后续提醒取代"
    with pytest.raises(InvalidInput, match=r"is 已被后续提醒取代 \(superseded\); only a failed or pending"):
        plain(retry_reminder(make_ctx("boss", url=db_url), rid))


def test_list_filters(world_ctx):
    world, ctx = world_ctx
    [company] = queue(ctx, audience="enterprise", credit_code=world.wuqing[0])
    [officer] = queue(ctx, audience="district", first=2, step="0")
    with ctx.store.write() as session:
        session.execute(update(table(Reminder)).where(table(Reminder).c.id == officer).values(status="failed"))
    assert [r["id"] for r in plain(list_reminders(ctx))] == [company, officer]
    assert [r["id"] for r in plain(list_reminders(ctx, enterprise=world.wuqing[0].lower()))] == [company]
    assert [r["id"] for r in plain(list_reminders(ctx, subject="finding:2"))] == [officer]
    assert [r["id"] for r in plain(list_reminders(ctx, failed=True))] == [officer]
    assert [r["id"] for r in plain(list_reminders(ctx, limit=1))] == [company]
    first = plain(list_reminders(ctx))[0]
    assert (first["step_label"], first["audience_label"], first["status_label"], first["district_name"]) == (
        "到期前7天", "企业", "待发送", "武清区")
    assert first["next_attempt_at"].utcoffset() == timedelta(hours=8)
    assert plain(list_reminders(ctx))[1]["step_label"] == "到期当日"
    with pytest.raises(InvalidInput, match=r"--status: 'lost'; choose one of pending, sending, sent, failed"):
        plain(list_reminders(ctx, status="lost"))


@pytest.mark.parametrize(("step", "label"), [("-7", "到期前7天"), ("0", "到期当日"), ("+3", "逾期3天"),
                                             ("escalation", "逾期升级"), ("progress:weekly", "progress:weekly")])
def test_step_labels(step, label):
    assert reminders.step_label(step) == label


def test_who_may_requeue(world_ctx, make_ctx, db_url, tmp_path):
    _, ctx = world_ctx
    with_channels(ctx, [], tmp_path)
    [rid] = queue(ctx, audience="district")
    assert send_reminders(ctx)["failed"] == 1  # no channel at all
    # the reviewer reads everything and writes nothing (issue 11)
    with pytest.raises(Forbidden, match=r"^rev \(reviewer\) has read-only access; may not requeue reminders$"):
        plain(retry_reminder(make_ctx("rev", url=db_url), rid))
    # another district's reminder answers as a missing one (issue 11: its existence is not disclosed)
    with pytest.raises(NotFound, match=rf"^no reminder #{rid}; "):
        plain(retry_reminder(make_ctx("hx", url=db_url), rid))
    with pytest.raises(Forbidden, match=r"needs an actor"):
        plain(retry_reminder(make_ctx(url=db_url), rid))
    with pytest.raises(NotFound, match=r"no reminder #999"):
        plain(retry_reminder(make_ctx("boss", url=db_url), 999))
    assert plain(retry_reminder(make_ctx("boss", url=db_url), rid))["status"] == "pending"
    with_channels(ctx, [{"name": "outbox", "url": "file://outbox"}], tmp_path)  # relative to the config's folder
    assert send_reminders(ctx)["sent"] == 1
    assert len(outbox_lines(tmp_path / "outbox")) == 1
    with pytest.raises(InvalidInput, match=r"is 已发送 \(sent\); only a failed or pending message is requeued"):
        plain(retry_reminder(make_ctx("boss", url=db_url), rid))
