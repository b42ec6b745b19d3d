"""Reminders to people (issue 11, item 6): an enterprise's reminders reach that enterprise's own accounts,
a district's its officers, the bureau's its accounts — through the channels to people in
`notifications.people`, filled with each account's contact — besides the audience-wide channels."""

from __future__ import annotations

import pytest

from safegrade.auth import add_account, disable_account, set_contacts
from safegrade.notify.channels import check_person_channels
from safegrade.services.reminders import send_reminders
from safegrade.settings import load_settings
from tests.factories import build_world
from tests.safegrade.notifying import RULES_DIR, outbox_lines, queue, row_of


@pytest.fixture
def people_ctx(make_ctx, tmp_path, db_url):
    """A world with accounts: e1 and e1b of the first 武清 enterprise, e2 of the second, the 武清 officer wq and
    the bureau's boss with contacts; a group outbox and a channel to people (a folder per recipient)."""
    world = build_world(make_ctx, tmp_path, per_district=2, url=db_url)
    boss = make_ctx("boss", url=db_url)
    add_account(boss, "e1", "enterprise", enterprise_code=world.wuqing[0], email="e1@example.org")
    add_account(boss, "e1b", "enterprise", enterprise_code=world.wuqing[0], im_user="dd-e1b")
    add_account(boss, "e2", "enterprise", enterprise_code=world.wuqing[1], email="e2@example.org")
    add_account(boss, "nocontact", "enterprise", enterprise_code=world.wuqing[0])
    set_contacts(boss, "wq", email="wq@example.org")
    set_contacts(boss, "hx", email="hx@example.org")
    set_contacts(boss, "boss", email="boss@example.org")
    ctx = make_ctx(url=db_url)
    ctx.settings = load_settings(env={}, database_url=ctx.settings.database_url, base_dir=str(tmp_path),
                                 rules_dir=str(RULES_DIR), notifications={
                                     "channels": [{"name": "group", "url": f"file://{tmp_path}/group"}],
                                     "people": [
                                         {"name": "mail", "url": f"file://{tmp_path}/mail/{{to}}", "contact": "email"},
                                         {"name": "ding", "url": f"file://{tmp_path}/ding/{{to}}",
                                          "contact": "im_user", "audiences": ["enterprise"]}]})
    return world, ctx, boss


def test_an_enterprise_reminder_reaches_that_enterprise_own_accounts(people_ctx, tmp_path):
    world, ctx, _ = people_ctx
    [rid] = queue(ctx, audience="enterprise", credit_code=world.wuqing[0])
    assert send_reminders(ctx)["sent"] == 1
    row = row_of(ctx, rid)
    assert sorted(row["delivered_to"]) == ["e1:mail", "e1b:ding", "group"]
    [mail] = outbox_lines(tmp_path / "mail" / "e1@example.org")
    assert (mail["recipient"], mail["key"]) == ("e1", "reminder:finding:1:2023-06-08:-7:enterprise:to:e1")
    assert mail["enterprise"]["credit_code"] == world.wuqing[0]
    assert [line["recipient"] for line in outbox_lines(tmp_path / "ding" / "dd-e1b")] == ["e1b"]
    # the other enterprise's account and the account without a contact get nothing
    assert not (tmp_path / "mail" / "e2@example.org").exists()
    assert sorted(p.name for p in (tmp_path / "mail").iterdir()) == ["e1@example.org"]
    assert len(outbox_lines(tmp_path / "group")) == 1


def test_a_district_reminder_reaches_its_officers_and_a_bureau_reminder_the_bureau(people_ctx, tmp_path):
    _, ctx, _ = people_ctx
    [district] = queue(ctx, audience="district", district="120114")
    [bureau] = queue(ctx, audience="bureau", district=None, first=2)
    assert send_reminders(ctx)["sent"] == 2
    assert sorted(row_of(ctx, district)["delivered_to"]) == ["group", "wq:mail"]
    assert sorted(row_of(ctx, bureau)["delivered_to"]) == ["boss:mail", "group"]
    assert sorted(p.name for p in (tmp_path / "mail").iterdir()) == ["boss@example.org", "wq@example.org"]
    assert not (tmp_path / "ding").exists()  # the ding channel serves enterprises only


def test_a_disabled_account_is_not_reached(people_ctx, tmp_path):
    world, ctx, boss = people_ctx
    disable_account(boss, "e1")
    [rid] = queue(ctx, audience="enterprise", credit_code=world.wuqing[0])
    send_reminders(ctx)
    assert sorted(row_of(ctx, rid)["delivered_to"]) == ["e1b:ding", "group"]
    assert not (tmp_path / "mail").exists()


def test_people_alone_deliver_a_message_no_group_channel_serves(people_ctx):
    world, ctx, _ = people_ctx
    ctx.settings = ctx.settings.model_copy(update={"notifications": ctx.settings.notifications.model_copy(
        update={"channels": []})})
    [rid] = queue(ctx, audience="enterprise", credit_code=world.wuqing[1])
    assert send_reminders(ctx)["sent"] == 1
    assert row_of(ctx, rid)["delivered_to"] == ["e2:mail"]


def test_a_person_already_reached_is_not_sent_again_when_another_fails(people_ctx, tmp_path):
    world, ctx, _ = people_ctx
    blocked = tmp_path / "ding" / "dd-e1b"
    blocked.parent.mkdir(parents=True)
    blocked.write_text("not a folder")  # the ding copy cannot be written: that channel fails, the others not
    [rid] = queue(ctx, audience="enterprise", credit_code=world.wuqing[0])
    assert send_reminders(ctx)["retrying"] == 1
    assert sorted(row_of(ctx, rid)["delivered_to"]) == ["e1:mail", "group"]
    blocked.unlink()
    ctx.clock.advance(hours=1)
    assert send_reminders(ctx)["sent"] == 1
    assert sorted(row_of(ctx, rid)["delivered_to"]) == ["e1:mail", "e1b:ding", "group"]
    assert len(outbox_lines(tmp_path / "mail" / "e1@example.org")) == 1  # once


@pytest.mark.parametrize(("items", "said"), [
    ([("mail", "mailtos://u:p@smtp.example.org?to=x@example.org", "email")], "must name the recipient as {to}"),
    ([("a", "file://var/{to}", "email"), ("a", "file://var/b/{to}", "email")], "'a' is used twice"),
    ([("x:y", "file://var/{to}", "email")], "without ':'"),
    ([("bad", "nosuch://{to}", "email")], "scheme 'nosuch' is not supported"),
])
def test_bad_channels_to_people_are_refused_with_their_key(items, said):
    with pytest.raises(ValueError, match="notifications.people") as caught:
        check_person_channels(items)
    assert said in str(caught.value)


def test_config_refuses_a_channel_to_people_with_an_unknown_contact_kind(tmp_path):
    from safegrade.errors import ConfigError

    config = tmp_path / "config.yaml"
    config.write_text('notifications:\n  people:\n    - {name: m, url: "file://x/{to}", contact: fax}\n',
                      encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, env={})
    assert "notifications.people.0.contact" in str(caught.value).replace("__", ".").lower() \
        or "people" in str(caught.value)
    assert "'email', 'phone' or 'im_user'" in str(caught.value)
