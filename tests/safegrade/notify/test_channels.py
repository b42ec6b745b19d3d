"""Channels, routing and delivery through Apprise: a real local SMTP server, a local HTTP endpoint, the file
channel (exactly once by key), and failures that say why without showing a password."""

from __future__ import annotations

import json
import re
import threading
from datetime import datetime, timedelta
from pathlib import Path

import apprise
import pytest

from safegrade.errors import ConfigError
from safegrade.notify import channels, filechannel
from safegrade.notify.channels import Channel, DeliveryError, EnterpriseInfo, Message, deliver, route
from tests.conftest import TZ, at
from tests.safegrade.notifying import free_port, http_server, outbox_lines, smtp_server

COMPANY = EnterpriseInfo("天津市测试0001机械有限公司", "91120114MA0000001X", "王经理", "13800000000")


def message(key: str = "reminder:finding:1:2023-06-08:-7:enterprise", audience: str = "enterprise",
            district: str | None = "120114", when: datetime | None = None) -> Message:
    return Message(key=key, title="整改期限提醒：天津市测试0001机械有限公司",
                   body="请于2023年06月08日前完成整改，并提交整改材料（照片、制度文本等）。", audience=audience,
                   district=district, at=when or at("2023-06-01 09:00"), district_name="武清区",
                   enterprise=COMPANY if audience == "enterprise" else None)


def file_channel(folder: Path, name: str = "outbox") -> Channel:
    return Channel(name, f"file://{folder}")


# --- routing -------------------------------------------------------------------------------------------------

def test_route_by_audience_and_district() -> None:
    everyone = Channel("all", "json://h/a")
    wuqing_officers = Channel("wq", "json://h/b", frozenset({"district"}), frozenset({"120114"}))
    bureau = Channel("bureau", "json://h/c", frozenset({"bureau"}))
    channels = [everyone, wuqing_officers, bureau]
    assert route(channels, message(audience="district")) == [everyone, wuqing_officers]
    assert route(channels, message(audience="district", district="120103")) == [everyone]
    assert route(channels, message(audience="bureau", district=None)) == [everyone, bureau]
    assert route(channels, message(audience="enterprise")) == [everyone]
    assert route([wuqing_officers], message(audience="district", district=None)) == []  # no district: not theirs


# --- the file channel ------------------------------------------------------------------------------------------

def test_file_channel_writes_one_json_line_and_is_idempotent_by_key(tmp_path: Path) -> None:
    channel = file_channel(tmp_path / "外 箱")  # a folder with a space and Chinese characters
    deliver(channel, message())
    deliver(channel, message())  # the same key again: accepted, not written twice
    deliver(channel, message(key="reminder:finding:2:2023-06-08:-7:enterprise"))
    lines = outbox_lines(tmp_path / "外 箱")
    assert [line["key"] for line in lines] == ["reminder:finding:1:2023-06-08:-7:enterprise",
                                               "reminder:finding:2:2023-06-08:-7:enterprise"]
    first = lines[0]
    assert first["title"] == "整改期限提醒：天津市测试0001机械有限公司"
    assert first["body"].startswith("请于2023年06月08日前完成整改")
    assert (first["audience"], first["district"], first["district_name"]) == ("enterprise", "120114", "武清区")
    assert first["enterprise"] == {"name": COMPANY.name, "credit_code": COMPANY.credit_code, "contact": "王经理",
                                   "phone": "13800000000"}
    assert first["at"] == "2023-06-01T09:00:00+08:00"
    text = (tmp_path / "外 箱" / "2023-06-01.jsonl").read_text(encoding="utf-8")
    assert "整改期限提醒" in text  # UTF-8, not \u escapes


def test_file_channel_writes_a_file_per_day_and_remembers_keys_across_days(tmp_path: Path) -> None:
    channel = file_channel(tmp_path)
    deliver(channel, message(when=at("2023-06-01 23:59")))
    deliver(channel, message(key="k2", when=at("2023-06-02 00:01")))
    deliver(channel, message(when=at("2023-06-03 08:00")))  # sent again two days later: still not written
    assert sorted(p.name for p in tmp_path.glob("*.jsonl")) == ["2023-06-01.jsonl", "2023-06-02.jsonl"]
    assert len(outbox_lines(tmp_path)) == 2


def test_file_channel_reads_keys_written_by_another_process(tmp_path: Path) -> None:
    (tmp_path / "2023-05-31.jsonl").write_text(json.dumps({"key": "from-elsewhere"}) + "\n", encoding="utf-8")
    deliver(file_channel(tmp_path), message(key="from-elsewhere"))
    deliver(file_channel(tmp_path), message(key="new"))
    assert [line["key"] for line in outbox_lines(tmp_path)] == ["from-elsewhere", "new"]


def test_a_line_torn_by_a_crash_does_not_count_as_delivered(tmp_path: Path) -> None:
    torn = json.dumps({"key": "k1", "title": "整改"})[:-9]  # the writer died in the middle of the line
    (tmp_path / "2023-06-01.jsonl").write_text(torn, encoding="utf-8")
    deliver(file_channel(tmp_path), message(key="k1"))
    lines = (tmp_path / "2023-06-01.jsonl").read_text(encoding="utf-8").splitlines()
    # written whole, on its own line
    assert lines[0] == torn
    assert json.loads(lines[1])["key"] == "k1"
    deliver(file_channel(tmp_path), message(key="k1"))
    assert len((tmp_path / "2023-06-01.jsonl").read_text(encoding="utf-8").splitlines()) == 2


def test_file_channel_writers_in_threads_write_each_key_once(tmp_path: Path) -> None:
    keys = [f"k{i}" for i in range(30)]
    barrier = threading.Barrier(4)

    def writer() -> None:
        barrier.wait()
        for key in keys:
            deliver(file_channel(tmp_path), message(key=key))

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(line["key"] for line in outbox_lines(tmp_path)) == sorted(keys)


def test_file_channel_refuses_a_message_not_sent_by_safegrade(tmp_path: Path) -> None:
    channels._apprise()  # imports Apprise and registers the schema
    sender = apprise.Apprise()
    assert sender.add(f"file://{tmp_path}")
    assert not sender.notify(body="b", title="t")
    assert not list(tmp_path.glob("*.jsonl"))


def test_file_channel_that_cannot_write_says_why(tmp_path: Path) -> None:
    (tmp_path / "blocked").write_text("a file, not a folder", encoding="utf-8")
    with pytest.raises(DeliveryError) as info:
        deliver(file_channel(tmp_path / "blocked"), message())
    assert str(info.value).startswith("outbox (file://")
    assert "File exists" in str(info.value) or "Not a directory" in str(info.value)


# --- e-mail and webhooks, for real --------------------------------------------------------------------------

def test_email_reaches_a_local_smtp_server_in_chinese() -> None:
    with smtp_server() as smtp:
        deliver(Channel("mail", smtp.url()), message())
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert mail["Subject"] == "整改期限提醒：天津市测试0001机械有限公司"
    assert mail["To"] == "officer@example.org"
    body = mail.get_body(("plain",))
    assert body is not None
    assert body.get_content_charset() == "utf-8"
    assert body.get_content().strip() == "请于2023年06月08日前完成整改，并提交整改材料（照片、制度文本等）。"


def test_json_webhook_gets_the_message_with_its_key_and_routing() -> None:
    with http_server() as hook:
        deliver(Channel("hook", hook.url()), message())
    [(path, body)] = hook.requests
    assert path == "/hook"
    assert body["title"] == "整改期限提醒：天津市测试0001机械有限公司"
    assert body["message"].startswith("请于2023年06月08日前完成整改")
    assert body["key"] == "reminder:finding:1:2023-06-08:-7:enterprise"
    assert (body["audience"], body["district"]) == ("enterprise", "120114")
    assert (body["credit_code"], body["enterprise"], body["phone"]) == (COMPANY.credit_code, COMPANY.name,
                                                                        "13800000000")


def test_form_webhook_gets_the_key_too() -> None:
    with http_server() as hook:
        deliver(Channel("form", hook.url("form")), message(audience="bureau", district=None))
    [(_, body)] = hook.requests
    assert "key=reminder%3Afinding%3A1" in body
    assert "audience=bureau" in body
    assert "district=" not in body


# --- failures: a reason, never a password --------------------------------------------------------------------

def test_connection_refused_gives_apprise_reason_without_the_password() -> None:
    port = free_port()
    channel = Channel("hook", f"json://officer:S3cretPw@127.0.0.1:{port}/hook")
    with pytest.raises(DeliveryError) as info:
        deliver(channel, message())
    text = str(info.value)
    assert text.startswith(f"hook (json://officer:****@127.0.0.1:{port}/hook): ")
    assert "Connection error" in text
    assert "127.0.0.1" in text
    assert "S3cretPw" not in text


def test_smtp_refused_names_the_channel() -> None:
    with pytest.raises(DeliveryError, match=r"^mail \(mailto://u:\*\*\*\*@127\.0\.0\.1:\d+\?.*\): Connection error"):
        deliver(Channel("mail", f"mailto://u:pw123456@127.0.0.1:{free_port()}?from=a@b.org&to=c@d.org"), message())


def test_an_http_error_status_is_in_the_reason() -> None:
    with http_server() as hook:
        hook.status = 503
        with pytest.raises(DeliveryError, match=r"503"):
            deliver(Channel("hook", hook.url()), message())


def test_apprise_1_path_captures_the_log_of_the_call() -> None:
    """Apprise 1.9 returns a bare bool: the reason then comes from its log, captured around the call."""
    sender = apprise.Apprise()
    sender.add(f"json://127.0.0.1:{free_port()}/x")
    reason = channels._notify_captured(sender, message())
    assert reason is not None
    assert "Connection error" in reason
    ok = apprise.Apprise()
    with http_server() as hook:
        ok.add(hook.url())
        assert channels._notify_captured(ok, message()) is None


# --- URLs: checked, masked, resolved ------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "shown"), [
    ("mailtos://user:pa55word@smtp.example.org?to=a@b.org", "mailtos://user:****@smtp.example.org?to=a@b.org"),
    ("dingtalk://SECRETSEC@TOKEN12345/", "dingtalk://****@****/"),
    ("wecombot://BOTKEY12345", "wecombot://****"),
    ("json://u:pw@h/x?+Authorization=Bearer%20abc&token=zz1&id=7", "json://u:****@h/x?+Authorization=****&token=****&id=7"),
    ("form://h/x", "form://h/x"),
    ("user:hunter2@host", "user:****@host"),
])
def test_mask_hides_credentials(url: str, shown: str) -> None:
    assert channels.mask(url) == shown


def test_scrub_hides_a_password_quoted_by_a_log_line() -> None:
    assert channels.scrub("login p%40ss failed; p@ss", "mailto://u:p%40ss@h") == "login **** failed; ****"
    assert channels.mask("mailto://u:p%40ss@h") == "mailto://u:****@h"


@pytest.mark.parametrize(("url", "fragment"), [
    ("smtp.example.org", "'smtp.example.org' is not an Apprise URL (SCHEME://…) such as mailto://"),
    ("slack://a/b/c", "scheme 'slack' is not supported; allowed: mailto, mailtos, dingtalk, wecombot, json, jsons, "
                      "form, forms, file"),
    ("mailto://", "Apprise cannot parse 'mailto://' (Invalid ~From~ email specified: ); write it as "
                  "mailto://user:pass@smtp.example.org"),
    ("dingtalk://", "(An invalid DingTalk API Token () was specified.); write it as dingtalk://TOKEN/"),
    ("file://", "names no folder"),
])
def test_check_url_refuses_with_what_is_allowed(url: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)) as info:
        channels.check_url(url)
    assert fragment in str(info.value)


@pytest.mark.parametrize("url", ["mailto://u:p@smtp.example.org?to=a@b.org", "mailtos://u:p@smtp.qq.com",
                                 "dingtalk://token/", "dingtalk://secret@token/", "wecombot://botkey",
                                 "json://127.0.0.1:8080/hook", "jsons://hooks.example.org/x", "form://h/x",
                                 "forms://h/x", "file://var/outbox", "file:///srv/outbox"])
def test_check_url_accepts_the_supported_schemes(url: str) -> None:
    assert channels.check_url(url) == url.partition("://")[0]


def test_channels_from_settings_resolve_folders_and_districts(tmp_path: Path, rules) -> None:
    from safegrade.settings import load_settings

    settings = load_settings(env={}, base_dir=str(tmp_path), notifications={"channels": [
        "file://var/outbox",
        {"name": "武清区", "url": "file:///srv/wq", "audiences": ["district"], "districts": ["武清", "120103"]},
    ]})
    plain, wuqing = channels.channels_from_settings(settings, rules)
    assert plain.url == f"file://{tmp_path.resolve()}/var/outbox"
    assert plain.name.startswith("file-")
    assert plain.audiences == frozenset(channels.AUDIENCES)
    assert plain.districts == frozenset()
    assert (wuqing.name, wuqing.url, wuqing.audiences, wuqing.districts) == (
        "武清区", "file:///srv/wq", frozenset({"district"}), frozenset({"120114", "120103"}))
    assert str(wuqing) == "武清区 (file:///srv/wq)"


def test_an_unknown_district_is_refused_with_its_key(tmp_path: Path, rules) -> None:
    from safegrade.settings import load_settings

    settings = load_settings(env={}, base_dir=str(tmp_path), notifications={"channels": [
        "json://h/x", {"url": "json://h/y", "districts": ["武清县"]}]})
    with pytest.raises(ConfigError, match=r"^notifications\.channels\[1\]\.districts: '武清县' is not a district"):
        channels.channels_from_settings(settings, rules)


def test_the_file_channel_day_follows_the_message_time(tmp_path: Path) -> None:
    assert filechannel.day_file(tmp_path, (at("2023-06-01 00:30") - timedelta(hours=1)).isoformat()).name == \
        "2023-05-31.jsonl"
    assert at("2023-06-01").tzinfo == TZ
